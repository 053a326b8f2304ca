"""MPC's door in the registry: identity, readings on an empty store, the doctor check, light imports."""

import subprocess
import sys
from pathlib import Path

import pytest

from labkit import report, techniques
from labkit.mpc import technique
from labkit.mpc.technique import TECHNIQUE
from labkit.results import ResultStore


def test_registered_with_its_identity():
    t = techniques.get("mpc")
    assert t is TECHNIQUE and t.lab == "05_mpc" and t.claim is None
    assert t.protection == "confidentiality in use" and t.data_state == "in use"
    assert [c.name for c in t.checks] == ["CrypTen"]
    assert t.benchmark.ref == "labkit.mpc.benchmark:benchmark"


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
