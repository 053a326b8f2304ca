"""The TEE descriptor: identity, readings on an empty store, the doctor check."""

import pytest

from labkit import techniques
from labkit.results import ResultStore
from labkit.tee.costs import readings
from labkit.tee.technique import TECHNIQUE, points, smoke_tee


@pytest.fixture
def only_tee(monkeypatch):
    """The registry holds the TEE technique alone (other packages may not declare theirs yet)."""
    monkeypatch.setattr(techniques, "MODULES", ("labkit.tee.technique",))


def test_missing_readings_say_what_to_run(tmp_path):
    rows = readings(ResultStore(tmp_path / "empty.sqlite"))
    assert len(rows) == 1 and rows[0].measured is None and "labkit bench tee" in rows[0].verdict
    assert points([]) == []


def test_identity_and_registry(only_tee):
    assert techniques.get("tee") is TECHNIQUE
    assert TECHNIQUE.lab == "07_tee_simulation" and TECHNIQUE.protection == "confidentiality in use"
    assert (TECHNIQUE.claim.low, TECHNIQUE.claim.high) == (1.03, 1.07)
    assert TECHNIQUE.benchmark.ref == "labkit.tee.benchmark:benchmark"
    assert TECHNIQUE.readings.resolve() is readings


def test_doctor_check_runs_the_real_primitives():
    (check,) = TECHNIQUE.checks
    assert check.name == "TEE simulation (cryptography)" and check.required
    detail = check.run()
    assert "tampered blob refused" in detail and "bad_signature" in detail
    assert smoke_tee().startswith("AES-256-GCM")
