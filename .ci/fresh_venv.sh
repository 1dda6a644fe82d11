#!/usr/bin/env bash
# symmusic as a new user gets it: build a wheel from this working tree, install it into a fresh virtual environment
# outside the checkout (sharing only pip's cache and settings), and from an empty folder, with SYMMUSIC_HOME unset,
# run the smoke study end to end (data, sweep, fits, Phase 2, evaluation, report) through papermill over the
# installed study.ipynb, then every console script and the other entry notebooks; then check the report's files.
# Each command prints "time: N s  COMMAND". The quick start (nbs/quickstart.ipynb) copies its commands from here.
# Usage: .ci/fresh_venv.sh [WORK]   (WORK: a new folder outside the checkout; default: a new temporary folder)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}   # builds the wheel; needs the `build` package (in .ci/requirements.txt)
WORK=${1:-$(mktemp -d "${TMPDIR:-/tmp}/symmusic-fresh.XXXXXX")}
mkdir -p "$WORK" && WORK=$(cd "$WORK" && pwd)
case "$WORK/" in "$ROOT"/*) echo "fresh_venv: WORK=$WORK is inside the checkout; give a folder outside it"; exit 2;; esac
exec > >(tee "$WORK/log.txt") 2>&1
timed() { local t0=$SECONDS; echo "+ $*"; "$@"; echo "time: $((SECONDS - t0)) s  $*"; }
T0=$SECONDS

# 1. a wheel from the tracked and new files only, through an sdist (what a release uploads); and one built straight
#    from the tree (what `pip install git+https://...` and Colab's first cell build): both must hold the same files
mkdir -p "$WORK/src"
(cd "$ROOT" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$WORK/src")
timed "$PYTHON" -m build --outdir "$WORK/dist" "$WORK/src"
timed "$PYTHON" -m pip wheel -q --no-deps -w "$WORK/dist-tree" "$WORK/src"
WHEEL=$(ls "$WORK"/dist/symmusic-*.whl)
"$PYTHON" - "$WHEEL" "$WORK/src" "$(ls "$WORK"/dist-tree/symmusic-*.whl)" <<'EOF'
import configparser, sys, zipfile
from pathlib import Path
names, src = set(zipfile.ZipFile(sys.argv[1]).namelist()), Path(sys.argv[2])
tree = set(zipfile.ZipFile(sys.argv[3]).namelist())
assert names == tree, f"the wheel built from the sdist and the one built from the tree differ: {sorted(names ^ tree)}"
cfg = configparser.ConfigParser(delimiters=['=']); cfg.read(src/'settings.ini'); cfg = cfg['DEFAULT']
wanted = [f'symmusic/nbs/{n}' for n in (cfg['papermill_entry_points'] + ' ' + cfg['package_nbs']).split()]
wanted += [str(p.relative_to(src)) for p in (src/'symmusic').rglob('*') if p.is_file() and p.suffix not in ('.py', '.pyc')]  # package data
missing = [n for n in wanted if n not in names]
assert not missing, f"the wheel lacks {missing}"
print(f"wheel: {Path(sys.argv[1]).name} holds {sorted(n for n in names if n.startswith('symmusic/') and not n.endswith('.py'))}")
EOF

# 2. a fresh virtual environment with torch first (a bare torch requirement pulls a CUDA build), then the wheel
unset SYMMUSIC_HOME PYTHONPATH VIRTUAL_ENV
python3 -m venv "$WORK/venv"
source "$WORK/venv/bin/activate"
cp "$WHEEL" "$WORK/"
cd "$WORK"
timed pip install -q --upgrade pip
timed pip install torch==2.13.0
timed pip install symmusic-0.1.0-py3-none-any.whl

# 3. an empty folder, a new HOME (so ~/symmusic is new and no Jupyter kernel of the developer's is seen)
export HOME="$WORK/home" OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MPLBACKEND=Agg
mkdir -p "$HOME" "$WORK/empty" && cd "$WORK/empty"
timed symmusic_info
timed papermill "$(symmusic_notebook study.ipynb)" study-smoke.ipynb -p preset smoke
timed symmusic_sweep --preset smoke
timed symmusic_report --study smoke
timed papermill "$(symmusic_notebook train.ipynb)" train-c0.ipynb -p size c0 -p tokens 20000 -p batch_size 8 -p block_size 64 -p out_dir quick-c0
timed papermill "$(symmusic_notebook evaluate.ipynb)" evaluate-c0.ipynb -p run quick-c0 -p n_samples 4 -p n_prompted 2 -p n_real 10
timed symmusic_evaluate quick-c0 --n_samples 4 --n_prompted 2 --n_real 10 --max_new_tokens 128 --out_dir ~/symmusic/studies/quick-c0-cli

# 4. what it wrote
timed python - "$WORK" <<'EOF'
import csv, json, sys
from pathlib import Path
import symmusic
from symmusic.report import page_problems
work = Path(sys.argv[1]); data = work/'home'/'symmusic'
assert Path(symmusic.__file__).is_relative_to(work/'venv'), f"symmusic imported from {symmusic.__file__}, not the fresh venv"
assert f"symmusic: keeping data in {data}" in (work/'log.txt').read_text(), "the default home was not announced on first use"
left = sorted(p.name for p in (work/'empty').iterdir())
assert left == ['evaluate-c0.ipynb', 'study-smoke.ipynb', 'train-c0.ipynb'], f"the empty folder got {left}"
study = data/'studies'/'smoke'
rows = list(csv.DictReader(open(study/'results.csv')))
assert len(rows) == 4, f"results.csv has {len(rows)} rows, expected 4 (gpt, lstm x c0, c1)"
for name in ('fits.json', 'fits.md', 'reading.md', 'plots/scaling.png', 'validity.json', 'validity.md', 'samples/index.json', 'sweep.json'):
    assert (study/name).exists(), f"the study wrote no {name}"
report = data/'report'/'smoke'
for name in ('index.html', 'gallery.html', 'style.css', 'report.json', 'plots/scaling.png', 'data/results.csv', 'data/validity.json'):
    assert (report/name).exists(), f"the report has no {name}"
manifest = json.loads((report/'report.json').read_text())
pages = [p['page'] for p in manifest['pages']]
assert {'study.html', 'train.html', 'evaluate.html'} <= set(pages), f"report pages {pages}"
assert any(kind == 'generated' for kind, _ in manifest['gallery']) and any(kind == 'real' for kind, _ in manifest['gallery']), manifest['gallery']
problems = [p for page in sorted(report.glob('*.html')) for p in page_problems(page)]
assert not problems, problems
for name in ('runs/quick-c0/summary.json', 'studies/quick-c0/validity.json', 'studies/quick-c0-cli/validity.json'):
    assert (data/name).exists(), f"no {name}"
print(f"fresh venv: {len(rows)} runs fitted, report of {len(pages)} pages and {len(manifest['gallery'])} tunes at {report/'index.html'}")
EOF
echo "fresh_venv: passed in $((SECONDS - T0)) s (work folder $WORK)"
