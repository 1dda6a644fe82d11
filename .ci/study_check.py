#!/usr/bin/env python3
"""What a finished study must have written, checked against its preset: every planned run
trained, fits.json and validity.json in their schemas, a report with no notes, and every local
link and image of its HTML resolving.

Usage: python .ci/study_check.py [PRESET]   (default smoke; reads $SYMMUSIC_HOME, as the study did)
Prints one line per problem and exits 1 if there is any.
"""
import html.parser, json, math, sys
from pathlib import Path
from urllib.parse import unquote, urlparse

TIERS = ('lenient', 'strict', 'music21_midi')  # the tiers every group of validity.json reports
NUM, MAYBE_NUM = (int, float), (int, float, type(None))

class Each:
    "Schema of a dict whose every value (with any key) follows `spec`."
    def __init__(self, spec, at_least:int=1): self.spec, self.at_least = spec, at_least

def _names(types) -> str:
    return ' or '.join('null' if t is type(None) else t.__name__ for t in types)

def _not_a(where:str, what:str, obj) -> list[str]:
    return [f"{where}: expected {what}, found {type(obj).__name__} {obj!r:.60}"]

def schema_problems(obj, spec, where:str) -> list[str]:
    "How `obj` departs from `spec`: a type (or tuple), a dict of required keys, `Each`, or [spec]."
    if isinstance(spec, (dict, Each)) and not isinstance(obj, dict):
        return _not_a(where, 'an object', obj)
    if isinstance(spec, dict):
        out = [f"{where}: no key {k!r} (it has {sorted(obj)})" for k in spec if k not in obj]
        inside = [schema_problems(obj[k], s, f"{where}.{k}") for k, s in spec.items() if k in obj]
        return out + [p for ps in inside for p in ps]
    if isinstance(spec, Each):
        if len(obj) < spec.at_least:
            return [f"{where}: expected at least {spec.at_least} entries, found {len(obj)}"]
        return [p for k, v in obj.items() for p in schema_problems(v, spec.spec, f"{where}.{k}")]
    if isinstance(spec, list):
        if not isinstance(obj, list): return _not_a(where, 'a list', obj)
        return [p for i, v in enumerate(obj) for p in schema_problems(v, spec[0], f"{where}[{i}]")]
    types = spec if isinstance(spec, tuple) else (spec,)
    if not isinstance(obj, types) or (isinstance(obj, bool) and bool not in types):
        return _not_a(where, _names(types), obj)
    if isinstance(obj, float) and not math.isfinite(obj): return [f"{where}: {obj} is not finite"]
    return []

PARAM = {'estimate': NUM, 'ci_low': MAYBE_NUM, 'ci_high': MAYBE_NUM}
FIT = {'kind': str, 'n_points': int, 'n_range': [NUM], 'n_boot': int, 'n_boot_used': int,
       'params': Each(PARAM)}
CROSSOVER = {'kind': str, 'n_star': MAYBE_NUM, 'ci_low': MAYBE_NUM, 'ci_high': MAYBE_NUM,
             'in_measured_range': bool, 'resolved': bool}
FITS = {'loss': str, 'n_boot': int, 'seed': int, 'level': float, 'reading': str,
        'fits': Each(Each(Each(FIT))),  # basis (n_params, ...) -> family -> kind of law -> fit
        'crossovers': Each(CROSSOVER)}
TIER = {'measured': bool, 'n': int, 'valid': int, 'percent': MAYBE_NUM, 'ci95': list}
GROUP = {'n': int, 'validity': {t: TIER for t in TIERS}}
VALIDITY = {'run': str, 'metrics': {'bits_per_char': NUM, 'loss_nats_per_token': NUM},
            'samples': Each(GROUP), 'real_test_tunes': GROUP}

def read(path:Path, problems:list):
    "The JSON at `path`, or None with a problem saying why not."
    try: return json.loads(path.read_text())
    except FileNotFoundError: problems.append(f"{path}: missing")
    except json.JSONDecodeError as e: problems.append(f"{path}: not JSON ({e})")

def read_valid(path:Path, spec) -> tuple:
    "(the JSON at `path`, or None unless it exists and follows `spec`; the problems with it)."
    problems = []
    obj = read(path, problems)
    if obj is not None: problems += [path.name + p[1:] for p in schema_problems(obj, spec, '$')]
    return (None if problems else obj), problems

def planned_runs(preset:str) -> list[dict]:
    "Every run the preset plans: the sweep's and, if it has one, the Phase 2 model."
    from symmusic.sweeps import SWEEPS, phase2_plan, sweep_plan
    phase2 = [phase2_plan(preset, 'unused')] if 'phase2' in SWEEPS[preset] else []
    return sweep_plan(preset) + phase2

def _summary_problems(run:dict, summary:dict) -> list[str]:
    "How a run's summary.json departs from its plan: model, budget, seed, learning rate, steps."
    p, name = run['params'], f"run {run['name']}"
    want = dict(arch=run['arch'], size=run['size'], tokens=p['tokens'], seed=p.get('seed', 1337))
    got = {k: summary.get(k) for k in want}
    problems = [] if got == want else [f"{name}: planned {want}, its summary.json says {got}"]
    lr = summary.get('config', {}).get('learning_rate')
    if lr != p['learning_rate']:
        problems.append(f"{name}: planned learning rate {p['learning_rate']}, trained at {lr}")
    if not (isinstance(summary.get('steps'), int) and summary['steps'] > 0):
        problems.append(f"{name}: summary.json has steps={summary.get('steps')!r}")
    return problems + schema_problems(summary.get('val_bpc'), NUM, f"{name}: summary.json val_bpc")

def run_problems(preset:str, runs_dir:Path, study_dir:Path) -> list[str]:
    "Each planned run has a summary of its planned model and budget; none was recorded failed."
    problems, sweep = [], read(study_dir/'sweep.json', [])
    status = {r['name']: r.get('status') for r in (sweep or {}).get('runs', [])}
    for run in planned_runs(preset):
        summary = read(runs_dir/run['name']/'summary.json', problems)
        if summary is not None: problems += _summary_problems(run, summary)
        if status.get(run['name'], 'trained') not in ('trained', 'skipped'):
            problems.append(f"run {run['name']}: the sweep recorded status {status[run['name']]!r}")
    swept = [r['name'] for r in planned_runs(preset) if 'stage' in r]  # not Phase 2's
    unrecorded = [name for name in swept if name not in status]
    if sweep is not None and unrecorded:
        problems.append(f"{study_dir/'sweep.json'}: no record of the planned runs {unrecorded}")
    return problems

def fits_problems(preset:str, path:Path) -> list[str]:
    "fits.json in its schema, a fit per family with a point per size."
    fits, problems = read_valid(path, FITS)
    if fits is None: return problems
    sizes = {}
    for run in planned_runs(preset):
        if run.get('role') in ('run', 'trunk'):
            sizes.setdefault(run['arch'], set()).add(run['size'])
    by_family = fits['fits'].get('n_params', {})
    if set(by_family) != set(sizes):
        problems.append(f"fits.json: fits.n_params has families {sorted(by_family)}, "
                        f"the plan {sorted(sizes)}")
    for family, kinds in by_family.items():
        for kind, fit in kinds.items():
            if family in sizes and fit['n_points'] != len(sizes[family]):
                problems.append(f"fits.json: fits.n_params.{family}.{kind} has {fit['n_points']} "
                                f"points; the plan has {len(sizes[family])} {family} sizes")
    return problems

def _tier_problems(where:str, tier:str, t:dict) -> list[str]:
    "A measured tier whose percent is its valid count over its n."
    if not t['measured']: return [f"validity.json: {where}.validity.{tier} was not measured"]
    share = 100 * t['valid'] / max(t['n'], 1)
    if 0 <= t['valid'] <= t['n'] and t['percent'] is not None and abs(t['percent'] - share) < 1e-6:
        return []
    return [f"validity.json: {where}.validity.{tier}: valid {t['valid']} of n {t['n']} "
            f"is not percent {t['percent']}"]

def validity_problems(preset:str, path:Path) -> list[str]:
    "validity.json in its schema (samples.<group>.validity.<tier>.percent), and its counts."
    from symmusic.sweeps import phase2_evaluation
    v, problems = read_valid(path, VALIDITY)
    if v is None: return problems
    asked = phase2_evaluation(preset)
    groups = {'all samples': asked['n_samples'] + asked['n_prompted'],
              'unconditional': asked['n_samples'], 'prompted': asked['n_prompted']}
    for group, n in groups.items():
        found = v['samples'].get(group, {}).get('n')
        if found != n:
            problems.append(f"validity.json: samples.{group!r}.n is {found}, the preset asks {n}")
    if v['real_test_tunes']['n'] != asked['n_real']:
        problems.append(f"validity.json: real_test_tunes.n is {v['real_test_tunes']['n']}, "
                        f"the preset asks for {asked['n_real']}")
    checked = [(f'samples.{g!r}', s) for g, s in v['samples'].items()]
    checked.append(('real_test_tunes', v['real_test_tunes']))
    tiers = [_tier_problems(at, tier, g['validity'][tier]) for at, g in checked for tier in TIERS]
    return problems + [p for ps in tiers for p in ps]

def note_problems(report_dir:Path) -> list[str]:
    "The report noted nothing: report.json's notes, its pages' and the home page's boxes."
    problems = []
    manifest = read(report_dir/'report.json', problems)
    if manifest is None: return problems
    problems += [f"report.json notes: {n}" for n in manifest.get('notes', ['(no list of notes)'])]
    pages = manifest.get('pages', [])
    problems += [f"report.json page {p['page']}: {p['note']}" for p in pages if p.get('note')]
    home = report_dir/'index.html'
    boxes = home.read_text().count('class="note"') if home.exists() else 0
    if boxes: problems.append(f"{home}: {boxes} note box(es) (class=\"note\")")
    return problems

class _Refs(html.parser.HTMLParser):
    "Every href and src of a page."
    def __init__(self):
        super().__init__()
        self.refs = []
    def handle_starttag(self, tag, attrs):
        self.refs += [(tag, value) for name, value in attrs if name in ('href', 'src') and value]

def _ref_problem(page:Path, root:Path, tag:str, ref:str) -> str|None:
    "Why a local `ref` of `page` names no file inside the report folder `root`; None if it does."
    url = urlparse(ref)
    if url.scheme or url.netloc or not url.path: return None  # the web, data:, a place on the page
    said = f"{page.relative_to(root)}: <{tag}> {ref!r}"
    if url.path.startswith('/'): return f"{said} is an absolute path"
    target = (page.parent/unquote(url.path)).resolve()
    if not target.is_relative_to(root): return f"{said} points outside the report"
    return None if target.is_file() else f"{said} names no file"

def link_problems(report_dir:Path) -> list[str]:
    "Every local href and src in the report's HTML names a file inside the report folder."
    root = report_dir.resolve()
    pages = sorted(root.rglob('*.html'))
    if not pages: return [f"{report_dir}: no HTML pages"]
    problems = []
    for page in pages:
        parser = _Refs()
        parser.feed(page.read_text(errors='replace'))
        problems += [p for tag, ref in parser.refs if (p := _ref_problem(page, root, tag, ref))]
    return problems

def study_problems(preset:str='smoke') -> list[str]:
    "Every problem with what the study `preset` wrote, each naming the file and what was expected."
    from symmusic.core import stage_dir
    study, report = stage_dir('studies')/preset, stage_dir('report')/preset
    runs = run_problems(preset, stage_dir('runs'), study)
    outputs = fits_problems(preset, study/'fits.json')
    outputs += validity_problems(preset, study/'validity.json')
    return runs + outputs + note_problems(report) + link_problems(report)

if __name__ == '__main__':
    found = study_problems(sys.argv[1] if len(sys.argv) > 1 else 'smoke')
    print('\n'.join(found) or 'planned runs, fits.json, validity.json, report: as expected')
    sys.exit(1 if found else 0)
