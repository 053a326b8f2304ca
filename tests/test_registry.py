"""The technique registry: every technique has the same doors, and the central modules name none of them."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from labkit import claims, overview, report, techniques
from labkit.errors import InvalidInput
from labkit.results import Result, ResultStore

ROOT = Path(__file__).resolve().parent.parent
LABKIT = ROOT / "labkit"
CENTRAL = ["report.py", "widgets/dashboard.py", "benchmarks.py", "claims.py", "doctor.py", "cli.py", "overview.py"]

TOY = textwrap.dedent(
    '''
    """A technique written outside labkit, registered through LABKIT_TECHNIQUES."""
    from labkit import overview, report
    from labkit.claims import Claim
    from labkit.results import Result
    from labkit.techniques import Check, Technique


    def benchmark(*, store, progress=False):
        m = {"overhead": 4.0, "overhead_low": 3.5, "overhead_high": 4.5, "toy_score": 0.5}
        return [Result("toy", "bench", params={"n": 3}, metrics=m)]


    def readings(store):
        t = TECHNIQUE
        r = store.latest("toy", "bench")
        if r is None:
            return [report.missing("toy.overhead", t.claim, "toy", t.lab, t.anchors)]
        low, high = report.iqr(r, "overhead")
        return [report.reading("toy.overhead", t.claim, r, "toy on three numbers", r.metrics["overhead"],
                               low=low, high=high, bench="toy", lab=t.lab, anchors=t.anchors)]


    def points(results):
        return [overview.point(r, "toy, three numbers", "overhead") for r in results if r.name == "bench"]


    def smoke():
        return f"the toy backend added 2 and 2: {2 + 2}"


    TECHNIQUE = Technique(
        key="toy", title="Toy technique", data_state="in use", protects="nothing, it is a test",
        adversary="a unit test", notebooks=("00_start_here",), protection="confidentiality in use",
        claim=Claim("2x-5x slower", 2.0, 5.0), anchors=("a made-up anchor",), headline=("toy_score",),
        checks=(Check("Toy backend", "adds two numbers", ("numpy",), smoke),),
        benchmark=benchmark, readings=readings, points=points,
    )
    '''
)


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """The toy technique on the import path and in LABKIT_TECHNIQUES, here and in subprocesses."""
    (tmp_path / "toy_technique.py").write_text(TOY)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv(techniques.ENV_EXTRA, "toy_technique")
    yield tmp_path
    sys.modules.pop("toy_technique", None)


def _labkit(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labkit.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_a_toy_technique_appears_in_bench_doctor_report_and_dashboard(toy):
    store_file = toy / "s.sqlite"
    proc = _labkit("bench", "toy", "--json", "--store", str(store_file), cwd=toy)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1 and Result.from_dict(json.loads(lines[0])).technique == "toy"

    proc = _labkit("doctor", "--json", "--only", "Toy backend", cwd=toy)
    (status,) = json.loads(proc.stdout)
    assert proc.returncode == 0 and status["ok"] and "added 2 and 2: 4" in status["detail"]

    store = ResultStore(store_file)
    (row,) = [r for r in report.readings(store) if r.claim == "toy.overhead"]
    assert (row.measured, row.low, row.high, row.verdict) == (4.0, 3.5, 4.5, "holds")
    (pt,) = [p for p in overview.points(store) if p.technique == "toy"]
    assert (pt.overhead, pt.protection, pt.lab) == (4.0, "confidentiality in use", "00_start_here")
    assert "toy" in overview.trace_data([pt]) and "claimed: 2x-5x slower" in pt.hover

    proc = _labkit("report", "--store", str(store_file), "--out", str(toy / "r.html"), cwd=toy)
    assert proc.returncode == 0 and "toy on three numbers" in proc.stdout
    assert "toy on three numbers" in (toy / "r.html").read_text()


def test_a_toy_technique_registered_in_process(tmp_path):
    store = ResultStore(tmp_path / "s.sqlite")
    t = techniques.Technique(
        key="toy2",
        title="Another toy",
        data_state="output",
        protects="-",
        adversary="-",
        notebooks=("00_start_here",),
        protection="integrity of outputs",
        benchmark=lambda *, store, progress=False: [Result("toy2", "bench", metrics={"overhead": 2.0})],
        points=lambda results: [overview.point(r, "toy2", "overhead") for r in results],
    )
    techniques.register(t)
    try:
        assert techniques.known_keys()[-1] == "toy2"
        (r,) = techniques.get("toy2").run_benchmark(store=store)
        assert len(store) == 1 and [p.technique for p in overview.points(store)] == ["toy2"]
        assessed = t.assess(object())
        assert assessed.metrics["supported"] == 0 and "not built yet" in assessed.artifacts["unsupported"][0]["reason"]
    finally:
        techniques.unregister("toy2")
    assert "toy2" not in techniques.known_keys()


def test_a_door_that_returns_no_results_is_refused(tmp_path):
    bad = techniques.Technique(
        key="bad",
        title="Bad",
        data_state="output",
        protects="-",
        adversary="-",
        notebooks=("00_start_here",),
        protection="integrity of outputs",
        benchmark=lambda *, store, progress=False: [{"overhead": 1.0}],
    )
    with pytest.raises(TypeError, match="dict, not a Result"):
        bad.run_benchmark(store=ResultStore(tmp_path / "s.sqlite"))


def test_bad_descriptors_and_names_are_clear_errors():
    with pytest.raises(InvalidInput, match="lower-case identifier"):
        techniques.Technique("Bad Key", "t", "in use", "-", "-", ("00_start_here",), "confidentiality in use")
    with pytest.raises(InvalidInput, match="module:function"):
        techniques.Door("no_colon")
    with pytest.raises(InvalidInput, match="known: he"):
        techniques.get("astrology")


def test_every_lab_technique_has_the_same_doors():
    found = techniques.registry()
    assert [t.key for t in found] == ["he", "zk", "mpc", "dp", "tee", "pqc", "inversion"]
    for t in found:
        assert isinstance(t.benchmark, techniques.Door) and t.benchmark.ref == f"labkit.{t.key}.benchmark:benchmark"
        assert callable(t.benchmark.resolve())
        assert t.checks, f"{t.key} has no doctor check"
        assert t.protection in claims.PROTECTIONS
        assert t.data_state in ("at rest", "in transit", "in use", "output")
        for stem in t.notebooks:
            assert (ROOT / "notebooks" / f"{stem}.py").is_file(), stem
        assert t.readings is not None and t.points is not None
    assert len({t.color for t in found}) == len(found)
    assert len({c.name for t in found for c in t.checks}) == sum(len(t.checks) for t in found)


def _strings_and_names(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield "string", node.value
        elif isinstance(node, ast.Name):
            yield "name", node.id
        elif isinstance(node, ast.Attribute):
            yield "name", node.attr
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            yield "name", node.name
        elif isinstance(node, ast.ImportFrom):
            yield "import", "." * node.level + (node.module or "")
            for alias in node.names:
                yield "import", alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield "import", alias.name


@pytest.mark.parametrize("path", CENTRAL)
def test_central_modules_name_no_technique(path):
    keys = set(techniques.known_keys())
    tree = ast.parse((LABKIT / path).read_text())

    def names_one(kind: str, text: str) -> bool:
        if kind == "string":
            return text in keys or any(text.startswith(f"{k}.") for k in keys)
        if kind == "import":
            return bool(set(text.split(".")) & keys)
        return any(text in (f"_{k}", k.upper()) or text.startswith((f"{k}_", f"_{k}_")) for k in keys)

    found = [text for kind, text in _strings_and_names(tree) if names_one(kind, text)]
    assert not found, f"{path} names techniques: {found}"


def _imports(path: Path, module: str) -> set[str]:
    """labkit modules imported anywhere in ``path`` (outside ``if TYPE_CHECKING:`` blocks)."""
    tree = ast.parse(path.read_text())
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for child in node.body for n in ast.walk(child)}
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("labkit")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("labkit"):
                continue
            out.add(target)
            out |= {f"{target}.{a.name}" for a in node.names}
    return out


def test_labkit_has_no_import_cycle():
    modules = {}
    for path in LABKIT.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        modules[name] = path
    graph = {m: {t for t in _imports(p, m) if t in modules and t != m} for m, p in modules.items()}
    # Tarjan's strongly connected components: a component of more than one module is a cycle
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def _fixture_store(tmp_path) -> ResultStore:
    store = ResultStore(tmp_path / "fixture.sqlite")
    lines = (ROOT / "tests" / "fixtures" / "bench_fast.jsonl").read_text().splitlines()
    store.add_many([Result.from_dict(json.loads(line)) for line in lines])
    return store


def test_report_on_the_fixture_store_is_unchanged(tmp_path):
    """The readings and verdicts of a real `labkit bench --fast` run, as the report made them before the registry."""
    golden = json.loads((ROOT / "tests" / "fixtures" / "bench_fast_golden.json").read_text())
    rows = report.readings(_fixture_store(tmp_path))
    fields = ["claim", "claim_text", "setting", "measured", "low", "high", "unit", "kind", "verdict", "bench", "lab"]
    fields += ["result_id", "anchors", "note", "fast", "spread"]
    got = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(r).items() if k in fields} for r in rows]
    want = [{k: v for k, v in g.items() if k in fields} for g in golden["readings"]]
    assert got == want


def test_overview_points_on_the_fixture_store_are_unchanged(tmp_path):
    golden = json.loads((ROOT / "tests" / "fixtures" / "bench_fast_golden.json").read_text())
    pts = overview.points(_fixture_store(tmp_path))
    keys = ("technique", "label", "overhead", "low", "high", "kind", "result_id", "lab", "hover")
    got = sorted(tuple(getattr(p, k) for k in keys) for p in pts)
    want = sorted(tuple(g[k] for k in keys) for g in golden["points"])
    assert got == want


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)


def test_no_private_name_is_used_across_modules():
    """`from x import _name`, a private module, or `module._name` on another labkit module: each is a defect."""
    modules = {_module_name(p) for p in LABKIT.rglob("*.py")}
    found = []
    for path in LABKIT.rglob("*.py"):
        tree = ast.parse(path.read_text())
        package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rsplit(".", 1)[0]
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                if not target.startswith("labkit"):
                    continue
                found += [f"{path}: {target}" for part in target.split(".") if part.startswith("_")]
                for a in node.names:
                    if a.name.startswith("_") and not a.name.startswith("__"):
                        found.append(f"{path}: from {target} import {a.name}")
                    if f"{target}.{a.name}" in modules:
                        aliases[a.asname or a.name] = f"{target}.{a.name}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("labkit") and any(part.startswith("_") for part in a.name.split(".")):
                        found.append(f"{path}: import {a.name}")
        for node in ast.walk(tree):
            crosses = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
            if crosses and node.attr.startswith("_") and not node.attr.startswith("__"):
                found.append(f"{path}:{node.lineno}: {node.value.id}.{node.attr}")
    assert not found, found
