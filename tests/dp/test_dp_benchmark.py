"""`labkit bench dp` (labkit.dp.benchmark) and the DP technique's doors: readings, chart points, doctor check."""

from __future__ import annotations

import pytest

from labkit import techniques
from labkit.dp import benchmark
from labkit.dp.technique import PUBLISHED_EPOCH_RATIO, TECHNIQUE, points, readings
from labkit.results import Result, ResultStore


def test_benchmark_summary_reuses_stored_sweep(digits_sweep, dp_store):
    found = benchmark.benchmark(store=dp_store, recompute=False)
    assert len(found) == 1
    summary = found[0]
    assert summary.artifacts["points"] == [r.id for r in digits_sweep]  # the fast sweep's points, not retrained
    m = summary.metrics
    assert m["accuracy_eps8"] >= m["accuracy_eps1"] - 0.03
    assert m["overhead"] > 1.0
    assert m["leak_baseline_attack_auc"] > 0.65
    text = benchmark.format_report(summary)
    assert "no DP" in text and "DP-SGD epoch / plain epoch" in text
    assert dp_store.latest("dp", "benchmark") is None  # labkit bench stores the summary, not the benchmark
    assert readings(dp_store)[0].measured is None
    dp_store.add_many(found)
    (reading,) = readings(dp_store)
    assert reading.measured == m["overhead"] and reading.verdict.startswith("comparison only")


def test_descriptor_and_its_doors():
    t = techniques.get("dp")
    assert t is TECHNIQUE and t.lab == "06_dp_tradeoffs" and t.claim is None
    assert t.benchmark.ref == "labkit.dp.benchmark:benchmark"
    assert [c.name for c in t.checks] == ["Opacus"]
    claim, anchors = t.further_claims["dp.anchor"]
    assert claim.low < PUBLISHED_EPOCH_RATIO < claim.high and anchors == t.anchors


def test_missing_reading_says_what_to_run(tmp_path):
    (r,) = readings(ResultStore(tmp_path / "empty.sqlite"))
    assert r.measured is None and r.verdict == "not measured yet: run labkit bench dp"


def test_points_from_train_private_results():
    m = {"overhead": 3.0, "overhead_low": 2.5, "overhead_high": 3.5, "accuracy": 0.9, "epsilon": 2.0}
    m |= {"attack_auc": 0.52, "baseline_attack_auc": 0.7}
    r = Result("dp", "train_private", params={"target_epsilon": 2.0}, metrics=m)
    other = Result("dp", "benchmark", metrics={"overhead": 2.0})
    (p,) = points([r, other])
    assert (p.technique, p.overhead, p.low, p.high, p.lab) == ("dp", 3.0, 2.5, 3.5, "06_dp_tradeoffs")
    assert p.label == "DP-SGD epoch vs non-private, epsilon 2" and "AUC 0.7 -&gt; 0.52" in p.hover


@pytest.mark.parametrize("measured, answer", [(1.7, "similar"), (2.5, "above"), (1.1, "below"), (2.0, "similar")])
def test_epoch_ratio_compared_with_the_anchor_band(measured, answer):
    assert benchmark.compare_epoch_ratio(measured) == answer


def test_doctor_check_runs():
    assert "epsilon" in TECHNIQUE.checks[0].run()
