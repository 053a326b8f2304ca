"""Notebook 03's widgets: the data functions, and callbacks that really update the figures."""

import numpy as np

from labkit.widgets import inversion as wi


def test_to_rgb():
    assert wi.to_rgb(np.ones((1, 8, 8))).shape == (8, 8, 3)
    assert wi.to_rgb(np.zeros((3, 32, 32))).max() == 0


def test_attack_frames_converge():
    seen = []
    out = wi.attack_frames(iterations=20, on_frame=lambda it, rec, p: seen.append(p))
    assert out["true"].shape == (1, 8, 8)
    assert len(seen) == len(out["frames"]) >= 2
    assert out["psnr"][-1] > 25 and out["psnr"][-1] > out["psnr"][0]


def test_attack_explorer_callback_updates_figure():
    box = wi.attack_explorer(iterations=10)
    box.controls["image"].value = 4
    box.run()
    fig = box.figure
    assert len(fig.data[2].x) >= 2 and fig.data[2].y[-1] > 20
    assert np.asarray(fig.data[1].z).shape == (8, 8, 3) and np.asarray(fig.data[0].z).max() > 0


def test_defense_frame_and_explorer():
    strong = wi.defense_frame({"pruning": 0.99, "gaussian_noise": 1.0}, iterations=60, utility_rounds=2)
    assert strong["psnr"] < 12 and strong["defense"] == "pruning+gaussian_noise"
    assert 0 <= strong["accuracy"] <= 1
    box = wi.defense_explorer(iterations=150, utility_rounds=2)
    box.run()  # no defense: the attack works
    box.sliders["gaussian_noise"].value = 1.0
    box.run()
    xs = box.figure.data[2].x
    assert len(xs) == 2 and xs[0] > 25 and xs[1] < 12


def test_image_grid():
    fig = wi.image_grid([np.zeros((1, 8, 8)), np.ones((3, 32, 32))], ["a", "b"])
    assert len(fig.data) == 2 and np.asarray(fig.data[1].z).shape == (32, 32, 3)
