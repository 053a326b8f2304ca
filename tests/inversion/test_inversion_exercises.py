"""Notebook 03's exercise checks: a right and a wrong answer for each."""

import pytest

from labkit.exercises import check

ROWS = [{"value": 0.01, "psnr": 40.0}, {"value": 0.1, "psnr": 18.0}, {"value": 0.3, "psnr": 9.0}]


@pytest.mark.parametrize(
    "exercise,right,wrong,context",
    [
        ("03.label_entry", "smallest", "largest", {}),
        ("03.psnr_from_mse", 30.0, 20.0, {}),
        ("03.clipping_letter", "b", "a", {}),
        ("03.aggregate_batch", 32, 1, {"n_clients": 8, "batch_size": 4}),
        ("03.smallest_noise", 0.3, 0.1, {"rows": ROWS}),
    ],
)
def test_right_and_wrong(exercise, right, wrong, context):
    assert check(exercise, right, **context)
    fb = check(exercise, wrong, **context)
    assert not fb and fb.message


def test_smallest_noise_when_nothing_stops():
    rows = [{"value": 0.01, "psnr": 40.0}]
    assert check("03.smallest_noise", "none", rows=rows)
    assert not check("03.smallest_noise", "none", rows=ROWS)
    assert not check("03.smallest_noise", 0.01, rows=rows)
