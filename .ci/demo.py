#!/usr/bin/env python3
"""The main job: run study.ipynb (the checkout's nbs/, or the installed package's copy) with papermill (preset `demo` by default) and print where the report is.

Usage: python .ci/demo.py [PRESET]      (PRESET: demo | smoke | paper)
"""
import sys, time
from pathlib import Path
import papermill as pm
from symmusic.core import entry_notebook, stage_dir

preset = sys.argv[1] if len(sys.argv) > 1 else 'demo'
study_nb = entry_notebook('study.ipynb')
executed = stage_dir('studies')/preset/'notebooks'/'study.ipynb'
executed.parent.mkdir(parents=True, exist_ok=True)
t0 = time.time()
pm.execute_notebook(str(study_nb), str(executed), parameters={'preset': preset}, kernel_name='python3',
                    cwd=str(study_nb.parent), progress_bar=False, log_output=True)
print(f"study '{preset}' finished in {time.time() - t0:.0f} s; executed notebook: {executed}")
print(f"report: {stage_dir('report')/preset/'index.html'}")
