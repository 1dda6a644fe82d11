#!/usr/bin/env python3
"""What a finished study must have written, checked against its preset: every planned run trained, fits.json and
validity.json in their schemas, a report with no notes, and every local link and image of its HTML resolving.

Usage: python .ci/study_check.py [PRESET]      (default smoke; reads $SYMMUSIC_HOME like the study did)
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

def schema_problems(obj, spec, where:str) -> list[str]:
    "How `obj` departs from `spec`: a type or tuple of types, a dict of required keys, `Each`, or a one-item list."
    if isinstance(spec, dict):
        if not isinstance(obj, dict): return [f"{where}: expected an object, found {type(obj).__name__}"]
        out = [f"{where}: no key {k!r} (it has {sorted(obj)})" for k in spec if k not in obj]
        return out + [p for k, s in spec.items() if k in obj for p in schema_problems(obj[k], s, f"{where}.{k}")]
    if isinstance(spec, Each):
        if not isinstance(obj, dict): return [f"{where}: expected an object, found {type(obj).__name__}"]
        if len(obj) < spec.at_least: return [f"{where}: expected at least {spec.at_least} entries, found {len(obj)}"]
        return [p for k, v in obj.items() for p in schema_problems(v, spec.spec, f"{where}.{k}")]
    if isinstance(spec, list):
        if not isinstance(obj, list): return [f"{where}: expected a list, found {type(obj).__name__}"]
        return [p for i, v in enumerate(obj) for p in schema_problems(v, spec[0], f"{where}[{i}]")]
    types = spec if isinstance(spec, tuple) else (spec,)
    if isinstance(obj, bool) and bool not in types: return [f"{where}: expected {_names(types)}, found bool"]
    if not isinstance(obj, types): return [f"{where}: expected {_names(types)}, found {type(obj).__name__} {obj!r:.60}"]
    if isinstance(obj, float) and not math.isfinite(obj): return [f"{where}: {obj} is not finite"]
    return []

def _names(types) -> str: return ' or '.join('null' if t is type(None) else t.__name__ for t in types)

PARAM = {'estimate': NUM, 'ci_low': MAYBE_NUM, 'ci_high': MAYBE_NUM}
FIT = {'kind': str, 'n_points': int, 'n_range': [NUM], 'n_boot': int, 'n_boot_used': int, 'params': Each(PARAM)}
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
    if obj is not None: problems += [f"{path.name}{p[len('$'):]}" for p in schema_problems(obj, spec, '$')]
    return (None if problems else obj), problems

def planned_runs(preset:str) -> list[dict]:
    "Every run the preset plans: the sweep's and, if it has one, the Phase 2 model."
    from symmusic.scaling import SWEEPS, phase2_plan, sweep_plan
    return sweep_plan(preset) + ([phase2_plan(preset, 'unused')] if 'phase2' in SWEEPS[preset] else [])

def run_problems(preset:str, runs_dir:Path, study_dir:Path) -> list[str]:
    "Each planned run has a summary of its planned model and budget, and the sweep did not record it as failed."
    problems, sweep = [], read(study_dir/'sweep.json', [])
    status = {r['name']: r.get('status') for r in (sweep or {}).get('runs', [])}
    for run in planned_runs(preset):
        summary = read(runs_dir/run['name']/'summary.json', problems)
        if summary is None: continue
        p = run['params']
        want = dict(arch=run['arch'], size=run['size'], tokens=p['tokens'], seed=p.get('seed', 1337))
        got = {k: summary.get(k) for k in want}
        if got != want: problems.append(f"run {run['name']}: planned {want}, its summary.json says {got}")
        lr = summary.get('config', {}).get('learning_rate')
        if lr != p['learning_rate']: problems.append(f"run {run['name']}: planned learning rate {p['learning_rate']}, trained at {lr}")
        if not (isinstance(summary.get('steps'), int) and summary['steps'] > 0):
            problems.append(f"run {run['name']}: summary.json has steps={summary.get('steps')!r}")
        problems += schema_problems(summary.get('val_bpc'), NUM, f"run {run['name']}: summary.json val_bpc")
        if run['name'] in status and status[run['name']] not in ('trained', 'skipped'):
            problems.append(f"run {run['name']}: the sweep recorded status {status[run['name']]!r}")
    missing = [r['name'] for r in planned_runs(preset) if 'stage' in r and r['name'] not in status]
    if sweep is not None and missing: problems.append(f"{study_dir/'sweep.json'}: no record of the planned runs {missing}")
    return problems

def fits_problems(preset:str, path:Path) -> list[str]:
    "fits.json in its schema, with a fit for each family and as many points as the family has sizes."
    fits, problems = read_valid(path, FITS)
    if fits is None: return problems
    sizes = {}
    for run in planned_runs(preset):
        if run.get('role') in ('run', 'trunk'): sizes.setdefault(run['arch'], set()).add(run['size'])
    by_family = fits['fits'].get('n_params', {})
    if set(by_family) != set(sizes): problems.append(f"fits.json: fits.n_params has families {sorted(by_family)}, the plan {sorted(sizes)}")
    for family, kinds in by_family.items():
        for kind, fit in kinds.items():
            if family in sizes and fit['n_points'] != len(sizes[family]):
                problems.append(f"fits.json: fits.n_params.{family}.{kind} has {fit['n_points']} points; the plan has "
                                f"{len(sizes[family])} {family} sizes")
    return problems

def validity_problems(preset:str, path:Path) -> list[str]:
    "validity.json in its schema (samples.<group>.validity.<tier>.percent), counting the samples the preset asks for."
    from symmusic.scaling import phase2_evaluation
    v, problems = read_valid(path, VALIDITY)
    if v is None: return problems
    asked = phase2_evaluation(preset)
    groups = {'all samples': asked['n_samples'] + asked['n_prompted'], 'unconditional': asked['n_samples'],
              'prompted': asked['n_prompted']}
    for group, n in groups.items():
        if group not in v['samples']: problems.append(f"validity.json: no group samples.{group!r} (it has {list(v['samples'])})")
        elif v['samples'][group]['n'] != n: problems.append(f"validity.json: samples.{group!r}.n is {v['samples'][group]['n']}, the preset asks for {n}")
    if v['real_test_tunes']['n'] != asked['n_real']:
        problems.append(f"validity.json: real_test_tunes.n is {v['real_test_tunes']['n']}, the preset asks for {asked['n_real']}")
    for where, group in [(f'samples.{g!r}', s) for g, s in v['samples'].items()] + [('real_test_tunes', v['real_test_tunes'])]:
        for tier in TIERS:
            t = group['validity'][tier]
            if not t['measured']: problems.append(f"validity.json: {where}.validity.{tier} was not measured"); continue
            if not 0 <= t['valid'] <= t['n'] or t['percent'] is None or abs(t['percent'] - 100 * t['valid'] / max(t['n'], 1)) > 1e-6:
                problems.append(f"validity.json: {where}.validity.{tier}: valid {t['valid']} of n {t['n']} is not percent {t['percent']}")
    return problems

def note_problems(report_dir:Path) -> list[str]:
    "The report noted nothing: report.json's notes, each page's note, and the home page's note boxes are empty."
    problems = []
    manifest = read(report_dir/'report.json', problems)
    if manifest is None: return problems
    problems += [f"report.json notes: {n}" for n in manifest.get('notes', ['report.json has no notes list'])]
    problems += [f"report.json page {p['page']}: {p['note']}" for p in manifest.get('pages', []) if p.get('note')]
    home = report_dir/'index.html'
    boxes = home.read_text().count('class="note"') if home.exists() else 0
    if boxes: problems.append(f"{home}: {boxes} note box(es) (class=\"note\")")
    return problems

class _Refs(html.parser.HTMLParser):
    "Every href and src of a page."
    def __init__(self):
        super().__init__(); self.refs = []
    def handle_starttag(self, tag, attrs):
        self.refs += [(tag, value) for name, value in attrs if name in ('href', 'src') and value]

def link_problems(report_dir:Path) -> list[str]:
    "Every local href and src in the report's HTML names a file inside the report folder."
    problems, root = [], report_dir.resolve()
    pages = sorted(report_dir.rglob('*.html'))
    if not pages: return [f"{report_dir}: no HTML pages"]
    for page in pages:
        parser = _Refs(); parser.feed(page.read_text(errors='replace'))
        for tag, ref in parser.refs:
            url = urlparse(ref)
            if url.scheme or url.netloc or not url.path: continue  # the web, data: URIs, or a place in this page
            name = page.relative_to(report_dir)
            if url.path.startswith('/'): problems.append(f"{name}: <{tag}> {ref!r} is an absolute path"); continue
            target = (page.parent/unquote(url.path)).resolve()
            if not target.is_relative_to(root): problems.append(f"{name}: <{tag}> {ref!r} points outside the report")
            elif not target.is_file(): problems.append(f"{name}: <{tag}> {ref!r} names no file")
    return problems

def study_problems(preset:str='smoke') -> list[str]:
    "Every problem with what the study `preset` wrote, as lines that name the file and what was expected."
    from symmusic.core import stage_dir
    study, report = stage_dir('studies')/preset, stage_dir('report')/preset
    return (run_problems(preset, stage_dir('runs'), study) + fits_problems(preset, study/'fits.json')
            + validity_problems(preset, study/'validity.json') + note_problems(report) + link_problems(report))

if __name__ == '__main__':
    found = study_problems(sys.argv[1] if len(sys.argv) > 1 else 'smoke')
    print('\n'.join(found) if found else 'the study wrote every planned run, fits.json, validity.json and a clean report')
    sys.exit(1 if found else 0)
