"""The zk benchmark: one costs Result carrying the cold/cached runs and the targets; its text report."""

from __future__ import annotations

from labkit.results import Result, ResultStore
from labkit.zk.benchmark import TARGETS, benchmark, report


def _result(**extra) -> Result:
    metrics = {
        "logrows": 11,
        "prove_s": 2.0,
        "verify_ms": 15.0,
        "witness_s": 0.005,
        "plaintext_s": 5e-5,
        "overhead": 4e4,
        "proof_bytes": 5000,
        "pk_bytes": 1.4e7,
        "vk_bytes": 1e4,
        "srs_bytes": 2.6e5,
        "prove_peak_rss_bytes": 9e8,
        **extra,
    }
    return Result(
        "zk", "costs", params={"model": "digits-mlp-64-32-10", "visibility": {}}, environment={}, metrics=metrics
    ).flag("not for production")


def test_report_formats_the_numbers():
    r = _result(
        cores=2,
        load_average=1.0,
        pairs=5,
        cold_end_to_end_s=6.4,
        cold_prove_s=2.0,
        cold_srs_s=1.0,
        cold_setup_s=1.5,
        cold_build_s=4.3,
        cached_end_to_end_s=2.0,
        cached_speedup=3.2,
        cached_prove_s=1.9,
        cached_build_s=0.006,
        cached_build_speedup=716.7,
        cold_prove_share=1.9 / 6.4,
        fixed_scale=8,
        cold_end_to_end_fixed_scale_s=5.0,
        cached_end_to_end_fixed_scale_s=2.0,
        cached_speedup_fixed_scale=2.5,
        target_prove_s_met=1,
        target_verify_ms_met=1,
        target_cached_speedup_met=1,
    )
    text = report(r)
    assert "3.2x faster" in text and "4e+04x" in text and "not for production" in text
    assert "2 cores, load average 1.0" in text and "medians of 5 cold/cached pairs" in text
    assert "scale fixed at 8: cold 5.00 s, cached 2.00 s -> 2.5x" in text
    assert "build alone: 4.30 s cold, 6 ms cached (717x); proving (1.90 s) is in both runs, 30% of the cold" in text
    assert text.count(": met") == 3


def test_report_of_a_plain_costs_result_gives_the_cost_lines():
    text = report(_result())
    assert "prover/plaintext 4e+04x" in text and "cold end to end" not in text and "target" not in text


def test_a_small_real_benchmark(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    (r,) = benchmark(store=store, width=4, pairs=1, repeat=1)
    m = r.metrics
    assert r.technique == "zk" and r.name == "costs" and len(store) == 0  # storing is the registry's job
    assert m["cold_build_s"] > 10 * m["cached_build_s"] and 0 < m["cold_prove_share"] < 1
    assert m["cached_speedup"] > 1 and m["pairs"] == 1
    assert {f"target_{k}_met" for k in TARGETS} <= set(m)
    assert r.artifacts["targets"] == TARGETS
    assert "the build alone" in report(r)
