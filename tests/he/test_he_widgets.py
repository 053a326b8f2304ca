"""HE widgets: data functions give the right numbers; callbacks redraw the figures."""

from __future__ import annotations

import pytest

import labkit.he as he
from labkit.widgets import he as hw

pytest.importorskip("ipywidgets")
pytest.importorskip("anywidget")


def test_explorer_data_and_frontier():
    weak = hw.explorer_data(4096, 200, 40, "seal", False)
    assert weak["security_bits"] == 0 and weak["insecure"]
    ok = hw.explorer_data(8192, 200, 40, "seal", False)
    assert ok["security_bits"] == 128 and ok["depth"] == 2 and ok["point"] == (8192, 190)
    ns, ys = hw.frontier()[128]
    assert dict(zip(ns, ys))[8192] == 218


def test_parameter_explorer_callback_moves_the_point():
    box = hw.parameter_explorer(measure_ops=False)
    n_pick = box.children[0].children[0]
    n_pick.value = 4096  # observe -> redraw
    assert list(box.figure.data[-1].x) == [4096]
    assert box.figure.data[-1].marker.color == "#b00020"  # 190 bits at N=4096: insecure
    assert "not for production" in box.children[2].value


@pytest.mark.skipif(not he.available("openfhe"), reason="the race needs OpenFHE (CPython 3.10 only)")
def test_backend_race_widget_draws_bars():
    box = hw.backend_race(repeat=3)
    box.children[0].children[1].value = "add"
    box.redraw()
    bars = box.figure.data[0]
    assert list(bars.x) == ["SEAL", "OpenFHE"] and all(y > 0 for y in bars.y)
    assert "OpenFHE/SEAL" in box.children[1].value


def test_inference_explorer_runs_and_reports():
    d = hw.inference_data("logreg", "seal", "batched", 512, None, 1)
    assert d["accuracy_gap_points"] <= 1.0 and d["batch_size"] == 512 and d["overhead"] > 1
    box = hw.inference_explorer(model="logreg")
    box.children[1].children[1].value = 512
    box.redraw()
    assert box.figure.data[0].y[1] > box.figure.data[0].y[0] > 0
    assert "accuracy encrypted" in box.children[2].value
