"""The HE descriptor: identity and claims as the catalogue had them; readings on an empty store, the doctor checks."""

from __future__ import annotations

import pytest

from labkit import report, techniques
from labkit.he import technique
from labkit.results import ResultStore


@pytest.fixture
def only_he(monkeypatch):
    """The registry with HE alone (the other packages' descriptors are not needed here)."""
    monkeypatch.setattr(techniques, "MODULES", ("labkit.he.technique",))
    monkeypatch.delenv(techniques.ENV_EXTRA, raising=False)


def test_empty_store_says_what_to_run(tmp_path, only_he):
    rows = technique.readings(ResultStore(tmp_path / "empty.sqlite"))
    assert {r.claim for r in rows} == {"he.overhead", "he.openfhe_vs_seal"}
    assert all(r.measured is None for r in rows)


def test_checks_are_named_as_doctor_knows_them():
    assert [c.name for c in technique.TECHNIQUE.checks] == ["TenSEAL (SEAL)", "OpenFHE"]


def test_race_verdict_and_claim_position():
    assert technique.race_verdict(0.85, 0.8, 0.95) == technique.OPENFHE_FASTER
    assert technique.race_verdict(0.95, 0.8, 0.99) == technique.TIE  # within the tie band
    assert technique.race_verdict(1.2, 1.1, 1.3) == technique.SEAL_FASTER
    assert [technique.claim_position(x) for x in (5.0, 10.0, 100.0, 600.0)] == ["below", "inside", "inside", "above"]
    assert technique.claim_position(95.0, 80.0, 120.0) == "inconclusive"
    assert report.verdict(technique.TECHNIQUE.claim, 50.0) == report.HOLDS


def test_importing_the_descriptor_loads_no_backend():
    import subprocess
    import sys

    code = "import sys, labkit.he.technique; print(any(m in sys.modules for m in ('tenseal', 'openfhe')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("check", technique.TECHNIQUE.checks, ids=lambda c: c.name)
def test_doctor_checks_run(check):
    """Each check in its own process, as labkit doctor runs it (OpenFHE fixes its threads at first import)."""
    import subprocess
    import sys

    import labkit.he as he

    if check.name == "OpenFHE" and not he.available("openfhe"):
        pytest.skip("OpenFHE does not import here (CPython 3.10 only)")
    code = f"from labkit.techniques import Door; print(Door({check.smoke!r})())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "max error" in out.stdout
