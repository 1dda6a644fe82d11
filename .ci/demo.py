#!/usr/bin/env python3
"""The main job: run study.ipynb (the checkout's nbs/, or the installed package's copy) with papermill (preset `demo` by default) and print where the report is.

Usage: python .ci/demo.py [PRESET]      (PRESET: demo | smoke | paper)
"""
import os, sys, time
from pathlib import Path
import papermill as pm
from symmusic.core import descendants, entry_notebook, kill_tree, stage_dir, stop_on_signals

preset = sys.argv[1] if len(sys.argv) > 1 else 'demo'
study_nb = entry_notebook('study.ipynb')
executed = stage_dir('studies')/preset/'notebooks'/'study.ipynb'
executed.parent.mkdir(parents=True, exist_ok=True)
t0 = time.time()
stop_on_signals()  # SIGTERM (make forwards it) stops the study as Ctrl-C does
try:
    pm.execute_notebook(str(study_nb), str(executed), parameters={'preset': preset}, kernel_name='python3',
                        cwd=str(study_nb.parent), progress_bar=False, log_output=True)
except KeyboardInterrupt:
    for pid in descendants(os.getpid()): kill_tree(pid)  # the study's kernel and every run it started
    sys.exit(f"study '{preset}' stopped after {time.time() - t0:.0f} s; finished runs are kept, and the same command continues")
print(f"study '{preset}' finished in {time.time() - t0:.0f} s; executed notebook: {executed}")
print(f"report: {stage_dir('report')/preset/'index.html'}")
