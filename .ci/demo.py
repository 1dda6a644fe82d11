#!/usr/bin/env python3
"""The main job: run study.ipynb (the checkout's nbs/, or the installed package's copy) with papermill (preset `demo` by default) and print where the report is.

Usage: python .ci/demo.py [PRESET]      (PRESET: demo | smoke | paper)
"""
import sys, time
from symmusic.core import entry_notebook, stage_dir
from symmusic.processes import execute_notebook, stop_on_signals

preset = sys.argv[1] if len(sys.argv) > 1 else 'demo'
study_nb = entry_notebook('study.ipynb')
executed = stage_dir('studies')/preset/'notebooks'/'study.ipynb'
t0 = time.time()
stop_on_signals()  # SIGTERM (make forwards it) stops the study as Ctrl-C does
try:  # no time limit: each run of the study has its own, from its preset
    error = execute_notebook(study_nb, executed, {'preset': preset}, timeout=None, log_output=True)
except KeyboardInterrupt:  # execute_notebook has killed papermill, its kernel and every run below
    sys.exit(f"study '{preset}' stopped after {time.time() - t0:.0f} s; finished runs are kept, and the same command continues")
if error: sys.exit(f"study '{preset}' failed after {time.time() - t0:.0f} s: {error}; executed notebook: {executed}")
print(f"study '{preset}' finished in {time.time() - t0:.0f} s; executed notebook: {executed}")
print(f"report: {stage_dir('report')/preset/'index.html'}")
