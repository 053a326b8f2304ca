"""The MPC benchmark: stored, resumable, and quoted next to CrypTen's published figures."""

from labkit.mpc import benchmark, inference
from labkit.results import ResultStore


def test_benchmark_runs_stores_and_resumes(tmp_path, monkeypatch):
    store = ResultStore(tmp_path / "r.sqlite")
    results = benchmark.benchmark(model_names=("breast_cancer_logreg",), parties=(2,), n=10, store=store)
    assert len(store) == 1 and results[0].metrics["rounds"] >= 1

    def no_rerun(*a, **k):
        raise AssertionError("a stored point was recomputed")

    monkeypatch.setattr(inference, "private_inference", no_rerun)
    again = benchmark.benchmark(model_names=("breast_cancer_logreg",), parties=(2,), n=10, store=store)
    assert again[0].id == results[0].id
    note = benchmark.closing_note(again)
    assert "CrypTen published" in note and "61.0 ms" in note and "rounds" in note
    row = benchmark.rows(again)[0]
    assert row["overhead"] > 1 and row["WAN s (modelled)"] > row["LAN s (modelled)"]
