import sys
import types

import pytest

from labkit import benchmarks
from labkit.errors import InvalidInput
from labkit.results import Result, ResultStore


def test_select_rejects_unknown_labs_with_the_known_names():
    with pytest.raises(InvalidInput, match="known: he"):
        benchmarks.select(["astrology"])


def test_select_defaults_to_every_installed_lab_in_order():
    chosen = [b.lab for b in benchmarks.select(None)]
    assert chosen == [lab for lab in benchmarks.LABS if lab in chosen]
    assert {"he", "mpc", "dp", "tee", "pqc"} <= set(chosen)


def test_run_stores_results_once_and_passes_progress(tmp_path, monkeypatch):
    calls = {}

    def run(*, store, progress):
        calls["progress"] = progress
        return Result("fake", "bench", metrics={"overhead": 12.0, "accuracy": 0.9, "other": 1.0})

    module = types.ModuleType("labkit_fake_bench")
    module.run = run
    monkeypatch.setitem(sys.modules, "labkit_fake_bench", module)
    store = ResultStore(tmp_path / "s.sqlite")
    lab = benchmarks.LabBenchmark("fake", "labkit_fake_bench", "fake")
    (r,) = lab.run(store=store, progress=True)
    lab.run(store=store)
    assert calls["progress"] is False and len(store) == 2  # two runs, two Results, none duplicated
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
