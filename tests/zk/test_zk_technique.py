"""The zk descriptor: identity and claims, readings and points on its own, the doctor check."""

from __future__ import annotations

import subprocess
import sys

import pytest

from labkit import report, techniques
from labkit.results import Result, ResultStore
from labkit.zk import technique
from labkit.zk.technique import TECHNIQUE


@pytest.fixture
def only_zk(monkeypatch):
    """A registry of the zk technique alone, so these tests do not depend on the other packages."""
    monkeypatch.setattr(techniques, "MODULES", ("labkit.zk.technique",))
    monkeypatch.delenv(techniques.ENV_EXTRA, raising=False)


def test_descriptor_identity_and_claims():
    t = TECHNIQUE
    assert t.key == "zk" and t.lab == "04_zk_proofs" and t.protection == "integrity of outputs"
    assert (t.claim.low, t.claim.high) == (5.0, 50.0)
    v_claim, anchors = t.further_claims["zk.verify"]
    assert (v_claim.low, v_claim.high) == (0.0, 1000.0) and "15 ms" in anchors[0]
    assert t.headline[:4] == ("prove_s", "verify_ms", "cached_speedup", "overhead")
    assert [c.name for c in t.checks] == ["ezkl"] and t.checks[0].required
    assert t.benchmark.ref == "labkit.zk.benchmark:benchmark"


def test_importing_the_descriptor_loads_no_backend():
    code = (
        "import sys, labkit.zk.technique as t; t.TECHNIQUE.claim; "
        "print(sorted(m for m in ('torch', 'ezkl', 'onnx', 'tqdm') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_readings_without_a_measurement_say_what_to_run(tmp_path):
    rows = technique.readings(ResultStore(tmp_path / "empty.sqlite"))
    assert [r.claim for r in rows] == ["zk.prover", "zk.verify"]
    assert all(r.measured is None and r.verdict == "not measured yet: run labkit bench zk" for r in rows)


def test_points_skip_other_results(only_zk):
    other = Result("zk", "tamper", metrics={"detection_rate": 1.0}, environment={})
    no_ratio = Result("zk", "costs", metrics={"verify_ms": 9.0}, environment={})
    assert technique.points([other, no_ratio]) == []


def test_claims_check_reads_the_declared_claims_and_the_one_verdict_rule():
    from labkit.zk.costs import claims_check

    base = {"verify_ms": 12.0, "overhead_warm": 40.0}
    within = Result("zk", "costs", metrics={**base, "overhead": 20.0, "overhead_low": 18.0, "overhead_high": 22.0})
    check = claims_check(within)
    assert check.artifacts["prover_verdict"] == report.verdict(TECHNIQUE.claim, 20.0, 18.0, 22.0) == "holds"
    assert check.metrics["orders_of_magnitude_above_claim"] == 0.0
    assert check.metrics["claimed_high"] == TECHNIQUE.claim.high
    far = Result("zk", "costs", metrics={**base, "overhead": 5000.0, "verify_ms": 2500.0})
    check = claims_check(far)
    assert check.artifacts["prover_verdict"] == "off by a factor 100 (costlier than claimed)"
    assert check.metrics["orders_of_magnitude_above_claim"] == pytest.approx(2.0)
    assert check.artifacts["verify_verdict"].startswith("off by a factor 2.5")


def test_doctor_check_runs_a_real_circuit():
    detail = TECHNIQUE.checks[0].run()
    assert "mock constraints satisfied" in detail
