"""The HE benchmark (labkit bench he): matched parameters, ratios, verdicts, resumable storage."""

from __future__ import annotations

import math

import pytest

import labkit.he as he
from labkit.errors import InvalidInput
from labkit.he import benchmark, technique
from labkit.results import ResultStore

pytestmark = pytest.mark.skipif(not he.available("openfhe"), reason="the race needs OpenFHE (CPython 3.10 only)")


def test_matched_ckks_pair_has_the_same_chain_and_security():
    seal, ofhe = benchmark.matched_pair("ckks", 8192)
    assert seal.params.coeff_mod_bit_sizes == (50, 40, 40, 60)
    assert round(ofhe.impl.log_q) == 50 + 40 + 40  # OpenFHE's Q (its P is the 60-bit special prime's twin)
    assert seal.security.level == ofhe.security.level == 128


def test_matched_bfv_pair_rebuilds_openfhes_chain_in_seal():
    seal, ofhe = benchmark.matched_pair("bfv", 8192)
    limbs = round(ofhe.impl.log_q / 60)
    assert seal.params.coeff_mod_bit_sizes == (60,) * (limbs + 1)


def test_race_reports_ratio_spread_and_verdict():
    results = benchmark.race("ckks", 8192, ops=("add", "rescale"), repeat=3)
    assert [r.params["op"] for r in results] == ["add", "rescale"]
    for r in results:
        m = r.metrics
        assert math.isclose(m["openfhe_over_seal"], m["openfhe_median_s"] / m["seal_median_s"])
        assert m["openfhe_over_seal_low"] <= m["openfhe_over_seal_high"]
        assert r.artifacts["verdict"] in (technique.OPENFHE_FASTER, technique.SEAL_FASTER, technique.TIE)
    rows = benchmark.table(results)
    assert rows[0]["op"] == "add" and rows[0]["seal_ms"] > 0


def test_bgv_is_openfhe_only():
    (r,) = benchmark.race("bgv", 8192, ops=("add",), repeat=3)
    assert "seal_median_s" not in r.metrics and "TenSEAL" in r.artifacts["verdict"]


def test_race_runs_openfhe_single_threaded():
    from labkit.he import openfhe_backend

    (r,) = benchmark.race("ckks", 8192, ops=("add",), repeat=1)
    assert openfhe_backend.threads() == 1 and r.params["threads"] == 1


def test_a_thread_count_openfhe_cannot_honour_is_refused():
    import labkit.he as he_api

    with pytest.raises(InvalidInput, match="LABKIT_OPENFHE_THREADS=2"):
        he_api.context("openfhe", "ckks", threads=2)


def test_bad_arguments():
    with pytest.raises(InvalidInput):
        benchmark.race("tfhe", 8192)
    with pytest.raises(InvalidInput):
        benchmark.race("ckks", 4096)
    with pytest.raises(InvalidInput):
        benchmark.race("ckks", 8192, ops=("bootstrap",))
    with pytest.raises(InvalidInput):
        benchmark.benchmark(suites=("everything",), store=None)


def test_run_stores_and_resumes(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    first = benchmark.benchmark(suites=("wrapper",), repeat=3, store=store, progress=False)
    assert {r.params["backend"] for r in first} == {"seal", "openfhe"}
    assert all(r.metrics["overhead"] > 0 for r in first)
    seal = next(r for r in first if r.params["backend"] == "seal")
    assert "tenseal_vector_overhead" in seal.metrics  # TenSEAL's vector layer, for reference
    again = benchmark.benchmark(suites=("wrapper",), repeat=3, store=store, progress=False)
    assert [r.id for r in again] == [r.id for r in first] and len(store) == 2


def test_ops_suite_resumes_from_the_store(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    first = benchmark.benchmark(suites=("ops",), schemes=("bgv",), repeat=3, store=store, progress=False)
    assert sorted(r.params["op"] for r in first) == sorted(
        ["encode_encrypt", "add", "multiply_relin", "rotate", "decrypt"]
    )
    again = benchmark.benchmark(suites=("ops",), schemes=("bgv",), repeat=3, store=store, progress=False)
    assert {r.id for r in again} == {r.id for r in first}
    fresh = benchmark.benchmark(suites=("ops",), schemes=("bgv",), repeat=3, store=store, progress=False, force=True)
    assert not {r.id for r in fresh} & {r.id for r in first}


def test_summary_checks_targets():
    from labkit.results import Result

    wrap = Result(
        "he",
        "wrapper_overhead",
        params={"backend": "seal"},
        metrics={"overhead_percent": 1.0, "overhead_low": 0.99, "overhead_high": 1.03},
    )
    single = Result("he", "mlp_inference", params={"backend": "seal", "mode": "single"}, metrics={"per_sample_s": 0.5})
    batched = Result(
        "he",
        "mlp_inference",
        params={"backend": "seal", "mode": "batched"},
        metrics={"throughput_per_s": 2500.0, "accuracy_gap_points": 0.0},
    )
    s = benchmark.summary([wrap, single, batched])
    assert s["wrapper"]["seal"]["meets_target"]
    assert not s["mlp"]["seal"]["latency_meets_target"] and s["mlp"]["seal"]["throughput_meets_target"]


def test_the_registry_runs_and_stores_the_benchmark(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    found = technique.TECHNIQUE.run_benchmark(store=store)  # the whole fast run, resumed from the store
    names = {r.name for r in found}
    assert {"wrapper_overhead", "backend_race", "logreg_inference", "mlp_inference"} <= names
    assert len(store) == len(found)
    assert technique.TECHNIQUE.run_benchmark(store=store)[0].id == found[0].id  # resumes, measures nothing again
