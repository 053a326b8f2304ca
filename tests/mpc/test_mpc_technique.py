"""MPC's door in the registry: identity, the golden readings and points, the doctor check, light imports."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from labkit import overview, report, techniques
from labkit.mpc import technique
from labkit.mpc.technique import TECHNIQUE
from labkit.results import Result, ResultStore

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def bench_store(tmp_path_factory):
    store = ResultStore(tmp_path_factory.mktemp("golden") / "r.sqlite")
    lines = (FIXTURES / "bench_fast.jsonl").read_text().splitlines()
    store.add_many([Result.from_dict(json.loads(line)) for line in lines if line.strip()])
    return store


def _plain(obj):
    return json.loads(json.dumps(obj))


def test_registered_with_its_identity():
    t = techniques.get("mpc")
    assert t is TECHNIQUE and t.lab == "05_mpc" and t.claim is None
    assert t.protection == "confidentiality in use" and t.data_state == "in use"
    assert [c.name for c in t.checks] == ["CrypTen"]
    assert t.benchmark.ref == "labkit.mpc.benchmark:benchmark"


def test_readings_match_the_golden_file(bench_store):
    golden = json.loads((FIXTURES / "bench_fast_golden.json").read_text())
    mine = [dataclasses.asdict(r) for r in TECHNIQUE.claim_readings(bench_store)]
    assert _plain(mine) == [r for r in golden["readings"] if r["claim"].startswith("mpc.")]


def test_points_match_the_golden_file(bench_store):
    golden = json.loads((FIXTURES / "bench_fast_golden.json").read_text())
    mine = [dataclasses.asdict(p) for p in overview.points(bench_store) if p.technique == "mpc"]
    assert _plain(mine) == [p for p in golden["points"] if p["technique"] == "mpc"]


def test_readings_say_what_to_run_on_an_empty_store(tmp_path):
    out = TECHNIQUE.claim_readings(ResultStore(tmp_path / "r.sqlite"))
    assert len(out) == len(technique.PUBLISHED)
    assert all(r.measured is None and "run labkit bench mpc" in r.verdict for r in out)


@pytest.mark.parametrize(
    "measured, said", [(80.0, "below"), (185.0, "similar"), (1600.0, "similar"), (2000.0, "above")]
)
def test_published_comparison_uses_the_one_verdict(measured, said):
    assert technique.compare_with_published("breast_cancer_logreg", measured) == said
    claim = technique.published_claim("breast_cancer_logreg")
    assert (report.verdict(claim, measured) == report.HOLDS) == (said == "similar")


def test_doctor_check_runs_the_real_parties():
    assert "sum 11.0000" in TECHNIQUE.checks[0].run()


def test_the_registry_imports_no_backend_and_no_cycle():
    code = (
        "import sys, labkit.techniques as t; t.get('mpc'); "
        "import labkit.mpc.backend, labkit.mpc.smoke, labkit.mpc.launcher; "
        "print(','.join(m for m in ('torch', 'crypten') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    backend_src = (Path(technique.__file__).parent / "backend.py").read_text()
    assert "launcher" not in backend_src and "parties" not in backend_src  # the loader starts no party
