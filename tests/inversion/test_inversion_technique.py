"""The inversion technique's doors: identity, chart points, no store readings, the doctor check."""

from __future__ import annotations

from labkit import report, techniques
from labkit.inversion.technique import TECHNIQUE, THRESHOLD_DB, points, readings, stopped
from labkit.results import Result, ResultStore


def test_descriptor():
    t = techniques.get("inversion")
    assert t is TECHNIQUE and t.lab == "03_gradient_inversion" and t.claim is None
    assert t.benchmark.ref == "labkit.inversion.benchmark:benchmark"
    assert [c.name for c in t.checks] == ["PyTorch gradient inversion"]
    assert set(t.further_claims) == {
        "inversion.reconstruction",
        "inversion.labels",
        "inversion.noise",
        "inversion.pruning",
    }


def test_no_readings_from_the_store(tmp_path):
    assert readings(ResultStore(tmp_path / "r.sqlite")) == []


def test_points_only_for_secure_aggregation_scenarios():
    m = {"aggregation_overhead": 80.0, "aggregation_overhead_low": 70.0, "aggregation_overhead_high": 90.0}
    agg = Result(
        "inversion", "scenario", params={"secure_aggregator": "ckks_sum", "n_clients": 4}, metrics={**m, "psnr": 30.0}
    )
    plain = Result("inversion", "scenario", params={"secure_aggregator": None}, metrics={"psnr": 90.0})
    (p,) = points([agg, plain, Result("inversion", "benchmark", metrics={"wall_seconds": 3.0})])
    assert (p.technique, p.overhead, p.low, p.high) == ("inversion", 80.0, 70.0, 90.0)
    assert p.label == "secure aggregation (ckks_sum) vs plain sum, 4 clients" and "attack PSNR 30 dB" in p.hover


def test_claims_are_judged_by_the_one_verdict_rule():
    noise, _ = TECHNIQUE.further_claims["inversion.noise"]
    assert report.verdict(noise, 0.1) == report.HOLDS
    assert report.verdict(noise, 1.0).startswith("off by a factor 10")
    labels, _ = TECHNIQUE.further_claims["inversion.labels"]
    assert report.verdict(labels, 1.0) == report.HOLDS
    assert stopped(THRESHOLD_DB - 0.1) and not stopped(THRESHOLD_DB)


def test_doctor_check_recovers_the_label():
    assert "recovered its label (3)" in TECHNIQUE.checks[0].run()
