"""The benchmark behind `labkit bench inversion`, shrunk: bands on its numbers, and it resumes."""

from labkit.inversion.benchmark import benchmark, format_table
from labkit.results import ResultStore


def test_benchmark_bands_and_resume(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    (result,) = benchmark(n_images=1, store=store, knobs=(), batch_sizes=(1,), rng=0)
    m = result.metrics
    assert m["digits_idlg_psnr"] >= 25 and m["digits_dlg_psnr"] >= 25
    assert m["digits_label_recovery"] == 1.0 and m["patches32_label_recovery"] == 1.0
    assert "iDLG label recovery" in format_table(result)
    before = len(store)
    (again,) = benchmark(n_images=1, store=store, knobs=(), batch_sizes=(1,), rng=0)
    assert len(store) == before  # every point was reused, and the summary is left to labkit bench to store
    assert again.metrics["digits_idlg_psnr"] == m["digits_idlg_psnr"]
