"""The benchmark behind `labkit bench inversion`, shrunk: bands on its numbers, and it resumes."""

from labkit.inversion.bench import benchmark, format_table
from labkit.results import ResultStore


def test_benchmark_bands_and_resume(tmp_path):
    store = ResultStore(tmp_path / "r.sqlite")
    result, rows = benchmark(n_images=1, store=store, knobs=(), batch_sizes=(1,), progress=False)
    m = result.metrics
    assert m["digits_idlg_psnr"] >= 25 and m["digits_dlg_psnr"] >= 25
    assert m["digits_label_recovery"] == 1.0 and m["patches32_label_recovery"] == 1.0
    assert "iDLG label recovery" in format_table(rows)
    before = len(store)
    again, _ = benchmark(n_images=1, store=store, knobs=(), batch_sizes=(1,), progress=False)
    assert len(store) == before + 1  # only the new summary: every point was reused
    assert again.metrics["digits_idlg_psnr"] == m["digits_idlg_psnr"]
