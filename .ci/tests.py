#!/usr/bin/env python3
"""The test suite: consistency checks, every notebook's tests (run by nbdev_test), the smoke study.

Each check and each notebook is one test unit, and so is each part of a notebook's tests that did
not run here (`symmusic.processes.skip_test`, usually through `need_tools`): it is listed with its reason
and counted as skipped or, with CI=true (where the tools are installed), as failed when a missing
program is the reason. The last line is `N passed, N failed, N skipped`.
Each run gets a fresh temporary SYMMUSIC_HOME, deleted when everything passed and kept (its path
printed) otherwise; SYMMUSIC_TEST_HOME names a folder to use, and keep, instead.
Usage: python .ci/tests.py [--slow] [--only PATTERN] [--workers N] [--no-fresh-venv]
"""
import argparse, configparser, hashlib, json, os, re, shutil, subprocess, sys, tempfile, time
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

# The notebooks a user opens: each has an "Open in Colab" link, and its first code cell installs symmusic there only
USER_NOTEBOOKS = ENTRY_POINTS + ['index.ipynb', 'quickstart.ipynb']
COLAB_URL = 'https://colab.research.google.com/github/symmusic/symmusic/blob/main/nbs/'
COLAB_CELL_CHILD = r"""
import json, subprocess, sys, types
calls = []
subprocess.run = lambda *a, **k: calls.append(str(a[0]))
if sys.argv[1] == 'colab': sys.modules['google.colab'] = types.ModuleType('google.colab')
exec(sys.stdin.read())
print(json.dumps(calls))
"""

def colab_cell_calls(source:str, colab:bool) -> list[str]:
    "The commands a notebook's Colab cell runs, in Colab (a stand-in google.colab module) or elsewhere; nothing is run."
    r = subprocess.run([sys.executable, '-c', COLAB_CELL_CHILD, 'colab' if colab else 'local'], input=source, capture_output=True, text=True, timeout=60)
    if r.returncode: raise RuntimeError(r.stderr.strip().splitlines()[-1])
    return json.loads(r.stdout.splitlines()[-1])

def check_colab():
    problems = []
    for name in USER_NOTEBOOKS:
        cells = json.loads((NBS/name).read_text())['cells']
        if not any(f'({COLAB_URL}{name})' in ''.join(c['source']) for c in cells if c['cell_type'] == 'markdown'):
            problems.append(f"{name}: no [Open in Colab]({COLAB_URL}{name}) link")
        first = ''.join(next(c for c in cells if c['cell_type'] == 'code')['source'])
        if "'google.colab' in sys.modules" not in first:
            problems.append(f"{name}: its first code cell is not the Colab install cell (guarded by 'google.colab' in sys.modules)"); continue
        try: elsewhere, in_colab = colab_cell_calls(first, False), colab_cell_calls(first, True)
        except RuntimeError as e: problems.append(f"{name}: its first code cell fails: {e}"); continue
        if elsewhere: problems.append(f"{name}: its first code cell runs {elsewhere} outside Colab")
        installs = ' '.join(in_colab)
        if not all(w in installs for w in ('pip', 'install', 'git+https://github.com/symmusic/symmusic', 'abcmidi', 'abcm2ps', 'timidity')):
            problems.append(f"{name}: in Colab its first code cell runs {in_colab}, not pip install of symmusic and apt-get of the tools")
    return not problems, '\n'.join(problems)

# quick-start commands the fresh-venv test runs in another form, and why
QUICKSTART_EXEMPT = {'pip install git+https://github.com/symmusic/symmusic':
                     'the test installs the wheel it built: pip install symmusic-0.1.0-py3-none-any.whl'}

def check_quickstart_commands():
    "Every command of the quick start's bash blocks is one that .ci/fresh_venv.sh runs."
    script = {re.sub(r'^timed ', '', l.strip()) for l in (ROOT/'.ci'/'fresh_venv.sh').read_text().splitlines()}
    cells = json.loads((NBS/'quickstart.ipynb').read_text())['cells']
    blocks = re.findall(r'```bash\n(.*?)```', '\n'.join(''.join(c['source']) for c in cells if c['cell_type'] == 'markdown'), re.S)
    commands = [l.strip() for b in blocks for l in b.splitlines() if l.strip() and not l.strip().startswith('#')]
    missing = [c for c in commands if c not in script and c not in QUICKSTART_EXEMPT]
    if not commands: return False, "quickstart.ipynb has no ```bash blocks"
    return not missing, '\n'.join(f"quickstart.ipynb runs `{c}`, which .ci/fresh_venv.sh does not" for c in missing)

def check_fresh_venv():
    "A wheel in a fresh venv outside the checkout, the smoke study and every console script from an empty folder (.ci/fresh_venv.sh)."
    work = Path(tempfile.mkdtemp(prefix='symmusic-fresh-'))
    env = {k: v for k, v in os.environ.items() if not k.startswith('SYMMUSIC_') and k not in ('PYTHONPATH', 'VIRTUAL_ENV')}
    env.update(PYTHON=sys.executable, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'))
    try: r = subprocess.run(['bash', str(ROOT/'.ci'/'fresh_venv.sh'), str(work)], cwd=work, capture_output=True, text=True, timeout=2400, env=env)
    except subprocess.TimeoutExpired: return False, f"timed out after 2400 s; its files are in {work}"
    out = r.stdout + r.stderr
    times = '\n'.join(l for l in out.splitlines() if l.startswith(('time: ', 'fresh_venv: ', 'fresh venv: ')))
    if r.returncode: return False, f"{out[-6000:]}\nits files are in {work}"
    # a venv with torch, about 1.5 GB in 20k files: deleting it can take minutes on a busy disk, so it goes on in the background
    subprocess.Popen(['rm', '-rf', str(work)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    print(times, flush=True)
    return True, ''

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

def run_notebook(path, slow, env, skips_file):
    "Run one notebook's tests; its skipped parts go to `skips_file` (`symmusic.processes.skip_test`)."
    cmd = [str(BIN/'nbdev_test'), '--path', str(path), '--do_print']
    if slow: cmd += ['--flags', 'slow']
    t0 = time.time()
    env = dict(env, SYMMUSIC_SKIPS=str(skips_file))
    try: r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800, env=env)
    except subprocess.TimeoutExpired: return False, f"timed out after 1800 s", time.time()-t0
    ok = r.returncode == 0 and 'Success' in r.stdout
    return ok, (r.stdout + r.stderr)[-6000:], time.time()-t0

def read_skips(path) -> list[dict]:
    "The skips one notebook recorded, each once."
    if not Path(path).exists(): return []
    records = [json.loads(l) for l in Path(path).read_text().splitlines() if l.strip()]
    return list({json.dumps(r, sort_keys=True): r for r in records}.values())

# what several notebooks read: built once, before they run side by side, not by each at once
SHARED_DATA = """
from symmusic.convert import build_corpus
from symmusic.datasets import prepare_dataset
build_corpus('music21', progress=False)
for phase in (1, 2): print(prepare_dataset(phase, 'music21', progress=False))
"""

def build_shared_data(env):
    "The music21 corpus and its character and BPE datasets (music21-char, music21-bpe)."
    cmd = [sys.executable, '-c', SHARED_DATA]
    try: r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    except subprocess.TimeoutExpired: return False, "timed out after 1200 s"
    return r.returncode == 0, (r.stdout + r.stderr)[-3000:] if r.returncode else ''

HYPOTHESIS_CHILD = """
from hypothesis import settings
print(settings.default.derandomize, settings(max_examples=5, deadline=None).derandomize)
"""

def check_hypothesis_ci():
    "Under CI=true, hypothesis (its built-in 'ci' profile) tries the same examples on every run."
    r = subprocess.run([sys.executable, '-c', HYPOTHESIS_CHILD], capture_output=True, text=True,
                       timeout=120, env=dict(os.environ, CI='true'))
    if r.returncode: return False, r.stderr[-2000:]
    said = f"with CI=true, derandomize is {r.stdout.strip()} (default profile, a @settings test)"
    return r.stdout.split() == ['True', 'True'], said

def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--slow', action='store_true', help='also run cells flagged #| slow')
    ap.add_argument('--only', default='', help='run only notebooks whose name contains this')
    ap.add_argument('--workers', type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument('--no-fresh-venv', action='store_true', help='leave out the wheel-in-a-fresh-venv test (about 4 min)')
    args = ap.parse_args()
    in_ci = os.environ.get('CI', '').lower() == 'true'
    results = []  # (unit, 'pass' | 'fail' | 'skip', message)
    def record(name, ok, msg='', secs=0.):
        results.append((name, 'pass' if ok else 'fail', msg))
        took = f" ({secs:.0f} s)" if secs else ''
        print(f"{'PASS' if ok else 'FAIL'} {name}{took}", flush=True)
        if not ok and msg: print('    ' + msg.replace('\n', '\n    '), flush=True)
    def record_skip(name, skip):
        if in_ci and skip.get('tools'):  # CI installs the tools: one missing is a broken set-up
            return record(name, False, f"CI=true, and the test did not run: {skip['why']}")
        results.append((name, 'skip', skip['why']))
        print(f"SKIP {name}: {skip['why']}", flush=True)
    given_home = os.environ.get('SYMMUSIC_TEST_HOME')
    fresh = Path(tempfile.mkdtemp(prefix='symmusic-test-home-')) if not given_home else None
    test_home = fresh or Path(given_home).resolve()
    print(f"test home: {test_home} ({'fresh' if fresh else 'SYMMUSIC_TEST_HOME'})", flush=True)
    skips_dir = test_home/'.suite-skips'
    shutil.rmtree(skips_dir, ignore_errors=True)
    skips_dir.mkdir(parents=True)
    if not args.only:
        for name, check in [('export: symmusic/ matches nbs/', check_export), ('clean: nbs/ are clean', check_clean),
                            ('papermill: entry points keep their parameters tag', check_parameters_tags),
                            ('colab: user notebooks have an Open in Colab link and a Colab-only install cell', check_colab),
                            ('quickstart: every command is one the fresh-venv test runs', check_quickstart_commands),
                            ('hypothesis: derandomized under CI=true', check_hypothesis_ci)]:
            ok, msg = check(); record(name, ok, msg)
    env = dict(os.environ, SYMMUSIC_HOME=str(test_home), PYTHONUNBUFFERED='1', MPLBACKEND='Agg',
               # notebooks run two at a time on 2 cores: more torch/BLAS threads than cores slows tiny models 10-100x
               OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'))
    env.pop('SYMMUSIC_SKIPS', None)
    if not args.only:
        ok, msg = check_docs(env); record('docs: nbdev can process every notebook', ok, msg)
    notebooks = sorted(p for p in NBS.glob('*.ipynb') if p.name not in ENTRY_POINTS and args.only in p.name)
    if len(notebooks) > 1 or not args.only:
        t0 = time.time()
        ok, msg = build_shared_data(env)
        record('shared data: the music21 corpus, music21-char and music21-bpe, built once',
               ok, msg, time.time() - t0)
    with ThreadPoolExecutor(args.workers) as ex:
        skips = {nb: skips_dir/f'{nb.stem}.jsonl' for nb in notebooks}
        futs = {nb: ex.submit(run_notebook, nb, args.slow, env, skips[nb]) for nb in notebooks}
        for nb, fut in futs.items():
            ok, msg, secs = fut.result()
            record(f"notebook {nb.name}", ok, msg, secs)
            for skip in read_skips(skips[nb]):
                record_skip(f"notebook {nb.name}: {skip['what']}", skip)
    if not args.only:  # the main job, study.ipynb, through papermill on the smoke preset (minutes)
        t0 = time.time()
        r = subprocess.run([sys.executable, str(ROOT/'.ci'/'demo.py'), 'smoke'], cwd=ROOT,
                           capture_output=True, text=True, env=env)
        record('papermill study.ipynb -p preset smoke', r.returncode == 0,
               (r.stdout + r.stderr)[-6000:], time.time() - t0)
        if r.returncode == 0:
            r = subprocess.run([sys.executable, str(ROOT/'.ci'/'study_check.py'), 'smoke'],
                               cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
            record('smoke study: every planned run trained, fits.json and validity.json in their '
                   'schemas, a report with no notes, every local link and image resolving',
                   r.returncode == 0, (r.stdout + r.stderr)[-6000:])
    if not args.only and not args.no_fresh_venv:  # the package as users install it: wheel, fresh venv, smoke study from an empty folder
        t0 = time.time(); ok, msg = check_fresh_venv()
        record('wheel: fresh venv, smoke study and console scripts from an empty folder', ok, msg, time.time() - t0)
    count = {k: sum(status == k for _, status, _ in results) for k in ('pass', 'fail', 'skip')}
    if count['skip']:
        print("skipped (the part, and why):")
        for name, status, why in results:
            if status == 'skip': print(f"  {name}: {why}")
    if count['fail']:
        print(f"failed: {', '.join(name for name, status, _ in results if status == 'fail')}")
        print(f"test home kept: {test_home}")
    elif fresh: shutil.rmtree(fresh, ignore_errors=True)
    print(f"{count['pass']} passed, {count['fail']} failed, {count['skip']} skipped")
    sys.exit(1 if count['fail'] else 0)

if __name__ == '__main__': main()
