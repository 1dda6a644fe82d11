#!/usr/bin/env python3
"""The test suite: consistency checks, then every notebook's tests, run by nbdev_test.

Each check and each notebook is one test unit; the last line is `N passed, N failed`.
Usage: python .ci/tests.py [--slow] [--only PATTERN] [--workers N]
"""
import argparse, configparser, hashlib, json, os, subprocess, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(ROOT/'settings.ini'); cfg = cfg['DEFAULT']
NBS, LIB = ROOT/cfg['nbs_path'], ROOT/cfg['lib_path']
ENTRY_POINTS = cfg.get('papermill_entry_points', '').split()

def tree_digest(folder, pattern):
    "Hash of every file matching `pattern` under `folder`, to see whether a tool changed any."
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob(pattern))}

def changed(before, after): return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))

def check_tool_leaves_unchanged(tool, folder, pattern, why):
    before = tree_digest(folder, pattern)
    r = subprocess.run([str(BIN/tool)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    if r.returncode: return False, f"{tool} failed:\n{r.stdout}{r.stderr}"
    diff = changed(before, tree_digest(folder, pattern))
    return (not diff), (f"{tool} changed {diff}: {why}" if diff else "")

def check_export(): return check_tool_leaves_unchanged('nbdev_export', LIB, '*.py',
    "symmusic/ differs from the notebooks (edit nbs/, never symmusic/; run nbdev_export and commit)")
def check_clean(): return check_tool_leaves_unchanged('nbdev_clean', NBS, '*.ipynb',
    "notebooks are not clean (run nbdev_clean and commit)")

def check_parameters_tags():
    problems = []
    for name in ENTRY_POINTS:
        path = NBS/name
        if not path.exists(): problems.append(f"{name}: listed in settings.ini papermill_entry_points but missing"); continue
        cells = json.loads(path.read_text())['cells']
        if not any('parameters' in c.get('metadata', {}).get('tags', []) for c in cells):
            problems.append(f"{name}: no cell tagged 'parameters' (papermill would silently run the defaults)")
    return not problems, '\n'.join(problems)

DOCS_CHILD = r"""
import os, sys
os.environ['IN_TEST'] = '1'
from execnb.nbio import read_nb
from nbdev.processors import FilterDefaults
FilterDefaults()(read_nb(sys.argv[1]))  # what nbdev_docs runs on each notebook: import cells and show_doc
"""

def check_docs(env):
    "nbdev's docs processing (run by the deploy workflow, where Quarto exists) must work on every notebook."
    def one(nb):
        r = subprocess.run([sys.executable, '-c', DOCS_CHILD, str(nb)], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
        return None if r.returncode == 0 else f"{nb.name}: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}"
    with ThreadPoolExecutor(2) as ex: problems = [p for p in ex.map(one, sorted(NBS.glob('*.ipynb'))) if p]
    return not problems, '\n'.join(problems)

def run_notebook(path, slow, env):
    cmd = [str(BIN/'nbdev_test'), '--path', str(path), '--do_print']
    if slow: cmd += ['--flags', 'slow']
    t0 = time.time()
    try: r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800, env=env)
    except subprocess.TimeoutExpired: return False, f"timed out after 1800 s", time.time()-t0
    ok = r.returncode == 0 and 'Success' in r.stdout
    return ok, (r.stdout + r.stderr)[-6000:], time.time()-t0

def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--slow', action='store_true', help='also run cells flagged #| slow')
    ap.add_argument('--only', default='', help='run only notebooks whose name contains this')
    ap.add_argument('--workers', type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args()
    results = []
    def record(name, ok, msg='', secs=0.):
        results.append((name, ok)); print(f"{'PASS' if ok else 'FAIL'} {name}" + (f" ({secs:.0f} s)" if secs else ''), flush=True)
        if not ok and msg: print('    ' + msg.replace('\n', '\n    '), flush=True)
    if not args.only:
        for name, check in [('export: symmusic/ matches nbs/', check_export), ('clean: nbs/ are clean', check_clean),
                            ('papermill: entry points keep their parameters tag', check_parameters_tags)]:
            ok, msg = check(); record(name, ok, msg)
    env = dict(os.environ, SYMMUSIC_HOME=os.environ.get('SYMMUSIC_TEST_HOME', str(ROOT/'.test_home')),
               PYTHONUNBUFFERED='1', MPLBACKEND='Agg',
               # notebooks run two at a time on 2 cores: more torch/BLAS threads than cores slows tiny models 10-100x
               OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'))
    if not args.only:
        ok, msg = check_docs(env); record('docs: nbdev can process every notebook', ok, msg)
    notebooks = sorted(p for p in NBS.glob('*.ipynb') if p.name not in ENTRY_POINTS and args.only in p.name)
    with ThreadPoolExecutor(args.workers) as ex:
        futs = {nb: ex.submit(run_notebook, nb, args.slow, env) for nb in notebooks}
        for nb, fut in futs.items():
            ok, msg, secs = fut.result(); record(f"notebook {nb.name}", ok, msg, secs)
    if not args.only:  # the main job, study.ipynb, end to end through papermill on the smoke preset (about a minute)
        t0 = time.time()
        r = subprocess.run([sys.executable, str(ROOT/'.ci'/'demo.py'), 'smoke'], cwd=ROOT, capture_output=True, text=True, env=env)
        record('papermill study.ipynb -p preset smoke', r.returncode == 0, (r.stdout + r.stderr)[-6000:], time.time() - t0)
    n_pass = sum(ok for _, ok in results)
    print(f"{n_pass} passed, {len(results)-n_pass} failed")
    sys.exit(0 if n_pass == len(results) else 1)

if __name__ == '__main__': main()
