"""The TEE descriptor: identity, readings and points unchanged on a real `labkit bench --fast` run, doctor check."""

import json
from pathlib import Path

import pytest

from labkit import overview, techniques
from labkit.results import Result, ResultStore
from labkit.tee.costs import readings
from labkit.tee.technique import TECHNIQUE, points, smoke_tee

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GOLDEN = json.loads((FIXTURES / "bench_fast_golden.json").read_text())


@pytest.fixture
def only_tee(monkeypatch):
    """The registry holds the TEE technique alone (other packages may not declare theirs yet)."""
    monkeypatch.setattr(techniques, "MODULES", ("labkit.tee.technique",))


@pytest.fixture
def store(tmp_path):
    store = ResultStore(tmp_path / "fixture.sqlite")
    lines = (FIXTURES / "bench_fast.jsonl").read_text().splitlines()
    store.add_many([Result.from_dict(json.loads(line)) for line in lines])
    return store


def test_readings_are_those_report_made(store):
    fields = ["claim", "claim_text", "setting", "measured", "low", "high", "unit", "kind", "verdict", "bench", "lab"]
    fields += ["result_id", "anchors", "note", "fast", "spread"]
    got = [
        {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(r).items() if k in fields}
        for r in readings(store)
    ]
    want = [{k: v for k, v in g.items() if k in fields} for g in GOLDEN["readings"] if g["claim"].startswith("tee.")]
    assert len(want) == 7 and got == want


def test_points_are_those_the_dashboard_made(store, only_tee):
    keys = ("technique", "label", "overhead", "low", "high", "kind", "result_id", "lab", "hover")
    got = [tuple(getattr(p, k) for k in keys) for p in overview.points(store)]
    want = [tuple(g[k] for k in keys) for g in GOLDEN["points"] if g["technique"] == "tee"]
    assert len(want) == 12 and got == want
    assert points([]) == []


def test_missing_readings_say_what_to_run(tmp_path):
    rows = readings(ResultStore(tmp_path / "empty.sqlite"))
    assert len(rows) == 1 and rows[0].measured is None and "labkit bench tee" in rows[0].verdict


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
