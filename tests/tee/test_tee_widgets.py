"""Widgets of notebook 07: callbacks update the figures; the data functions are right."""

import pytest

from labkit.widgets import tee as W


@pytest.fixture(scope="module")
def catalogue():
    from labkit.tee.attacks import run_all

    return run_all(attacks=("honest", "replayed_quote", "rolled_back_state"))


def test_run_all_counts(catalogue):
    assert catalogue.metrics["attacks"] == 2 and catalogue.metrics["stopped"] == 2
    assert catalogue.metrics["stopped.honest"] == 0


def test_attack_toggle_updates_card_and_figure(catalogue):
    box = W.attack_explorer(catalogue)
    assert set(box.figure.data[0].marker.color) == {W.PASS}  # honest: nothing fired
    box.toggle.value = "replayed_quote"
    colors = list(box.figure.data[0].marker.color)
    assert colors[W.CHECKS.index("stale_nonce")] == W.FAIL and colors.count(W.FAIL) == 1
    assert "stale_nonce" in box.panel.value and "Model key released:</b> no" in box.panel.value
    box.toggle.value = "rolled_back_state"
    assert list(box.figure.data[0].marker.color)[W.CHECKS.index("RollbackDetected")] == W.FAIL


def test_cost_slider_moves_marker_and_readout():
    box = W.cost_explorer(initial_mb=32)
    assert "within" in box.panel.value
    box.slider.value = 512
    assert list(box.figure.data[2].x) == [512]
    assert box.figure.data[2].y[0] > 20 and "outside" in box.panel.value


def test_cost_curves_data():
    c = W.cost_curves(max_mb=500, points=50)
    assert c["sgx"][0] == pytest.approx(1.05) and c["sgx"][-1] > 10
    assert abs(c["cvm"] - 1.05).max() < 1e-12
