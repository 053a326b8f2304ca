import pytest

from labkit import benchmarks, techniques
from labkit.errors import InvalidInput
from labkit.results import Result, ResultStore


def test_select_rejects_unknown_labs_with_the_known_names():
    with pytest.raises(InvalidInput, match="known: he"):
        benchmarks.select(["astrology"])


def test_select_defaults_to_every_registered_technique_in_order():
    chosen = [t.key for t in benchmarks.select(None)]
    assert chosen == list(techniques.known_keys())
    assert [t.key for t in benchmarks.select(["pqc", "he"])] == ["he", "pqc"]


def test_run_stores_results_once_and_passes_progress(tmp_path):
    calls = {}

    def bench(*, store, progress):
        calls["progress"] = progress
        return [Result("fake", "bench", metrics={"overhead": 12.0, "accuracy": 0.9, "other": 1.0})]

    fake = techniques.Technique(
        "fake", "Fake", "in use", "-", "-", ("00_start_here",), "confidentiality in use", benchmark=bench
    )
    techniques.register(fake)
    try:
        store = ResultStore(tmp_path / "s.sqlite")
        (r,) = benchmarks.run(["fake"], store=store, progress=True)
        assert calls["progress"] is True
        benchmarks.run(["fake"], store=store)
        assert calls["progress"] is False and len(store) == 2  # two runs, two Results, none duplicated
    finally:
        techniques.unregister("fake")
    text = benchmarks.table([r])
    assert "overhead=12" in text and "accuracy=0.9" in text and "other" not in text


def test_a_lab_names_its_headline_metrics():
    r = Result(
        "zk",
        "costs",
        metrics={
            "overhead_warm": 2e4,
            "proof_bytes": 5344,
            "pk_bytes": 1.4e7,
            "vk_bytes": 1e4,
            "prove_s": 0.5,
            "verify_ms": 7.2,
            "cached_speedup": 2.8,
            "overhead": 1.2e3,
        },
    )
    assert benchmarks.headline(r) == "prove_s=0.5, verify_ms=7.2, cached_speedup=2.8, overhead=1200"
