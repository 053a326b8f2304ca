"""The DP widget: frontier data from Results, the slider moves the selection, the button retrains for real."""

from __future__ import annotations

import pytest

from labkit import dp
from labkit.errors import InvalidInput
from labkit.widgets import dp as view


@pytest.fixture(scope="module")
def points():
    return [
        dp.train_private("breast_cancer", target_epsilon=eps, epochs=1, batch_size=64, n_reference=1, rng=5)
        for eps in (4.0, 1.0)
    ]


def test_frontier_data_sorted_with_baseline(points):
    data = view.frontier_data(points)
    assert data["epsilon"] == sorted(data["epsilon"])
    assert len(data["accuracy"]) == 2 and 0 <= data["baseline_accuracy"] <= 1
    assert data["insecure"]  # secure mode off -> the flag reaches the view
    html = view.point_summary(data, 1)
    assert "-DP" in html and "not for production" in html
    with pytest.raises(InvalidInput):
        view.point_summary(data, 5)
    with pytest.raises(InvalidInput):
        view.frontier_data([])


def test_slider_moves_the_selected_marker(points):
    box = view.explorer(points, train_fn=lambda r, progress: r)
    data = view.frontier_data(points)
    sel = box.figure.data[5]
    assert list(sel.x) == [data["epsilon"][0]] * 2
    box.controls["epsilon"].value = 1
    assert list(sel.x) == [data["epsilon"][1]] * 2
    assert list(sel.y) == [data["accuracy"][1], data["attack_auc"][1]]
    assert f"{data['epsilon'][1]:.3g}" in box.children[2].value


def test_run_button_trains_the_point_with_progress(points):
    seen = []

    def progress_spy(result, progress):
        progress(1, 2)
        seen.append(box.controls["progress"].value)
        return dp.retrain(result, progress=progress)

    box = view.explorer(points, train_fn=progress_spy)
    box.controls["epsilon"].value = 1
    box.controls["run"].click()
    fresh = box.fresh[1]
    assert seen == [1]
    assert box.controls["progress"].value == fresh.params["epochs"]  # the real run drove the bar to the end
    assert fresh.params["target_epsilon"] == 4.0  # index 1 of the epsilon-sorted sweep
    star = box.figure.data[6]
    assert list(star.x) == [fresh.metrics["epsilon"]] and list(star.y) == [fresh.metrics["accuracy"]]
    assert "retrained now" in box.children[2].value
    assert not box.controls["run"].disabled


def test_retrain_repeats_the_seeded_point(points):
    again = dp.retrain(points[0])
    assert again.metrics["accuracy"] == points[0].metrics["accuracy"]
    assert again.metrics["epsilon"] == pytest.approx(points[0].metrics["epsilon"])
    with pytest.raises(InvalidInput):
        dp.retrain("not a result")
