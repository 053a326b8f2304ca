"""The TEE benchmark: attestation latency, the boundary overhead and its resumable sweep, the bench entry."""

import pytest

from labkit.errors import InvalidInput
from labkit.results import ResultStore
from labkit.tee import benchmark


def test_attestation_latency_and_boundary_overhead(dep):
    lat = benchmark.attestation_latency(dep=dep, repeat=3)
    assert 0 < lat.metrics["quote_ms"] < 1000 and lat.metrics["quote_bytes"] > 500
    assert lat.timings["attested_key_release"].repeat == 3
    ov = benchmark.boundary_overhead(batch_size=16, repeat=3, dep=dep)
    assert ov.metrics["labels_agree"] == 1
    assert ov.metrics["overhead"] > 1.0  # encryption + two pipe crossings cost something
    assert ov.metrics["crypto_framing_us"] > 0 and "crypto_and_framing" in ov.timings
    extra = ov.metrics["crypto_framing_us"] + ov.metrics["crossing_us"]
    assert extra == pytest.approx(
        (ov.timings["overhead.candidate"].median - ov.timings["overhead.baseline"].median) * 1e6
    )
    with pytest.raises(InvalidInput):
        benchmark.boundary_overhead(batch_size=0, dep=dep)
    with pytest.raises(InvalidInput):
        benchmark.boundary_overhead(batch_size=4, hidden=64, dep=dep)


def test_boundary_sweep_is_resumable(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    first = benchmark.boundary_sweep(points=[(2, 32)], repeat=3, store=store)
    again = benchmark.boundary_sweep(points=[(2, 32)], repeat=3, store=store)
    assert again[0].id == first[0].id and len(store) == 1


def test_benchmark_entry_in_fast_mode(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(benchmark, "attestation_latency", lambda **kw: calls.append(kw) or _stub("attestation_latency"))
    monkeypatch.setattr(
        benchmark, "boundary_sweep", lambda **kw: calls.append(kw) or [_stub("boundary_overhead") for _ in kw["points"]]
    )
    store = ResultStore(tmp_path / "r.sqlite")
    out = benchmark.benchmark(store=store)
    assert [r.name for r in out] == ["attestation_latency"] * 2 + ["boundary_overhead"] * 4 + [
        "modelled_hardware_overhead"
    ]
    assert calls[0] == {"scheme": "ecdsa-p256", "repeat": 5} and calls[1]["scheme"] == "ml-dsa-65"
    assert calls[2]["points"] == benchmark.FAST_POINTS and calls[2]["store"] is store
    assert calls[2]["progress"] is False
    assert len(store) == 0  # the registry stores what it returns


def _stub(name):
    from labkit.results import Result

    return Result("tee", name, metrics={"overhead": 1.0})
