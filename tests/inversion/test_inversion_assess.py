"""The inversion assess door: a client's shared gradient attacked on the user's own model and samples."""

from __future__ import annotations

import time

import numpy as np
import pytest

import labkit
from labkit.errors import InvalidInput
from labkit.inversion import assess as inv
from labkit.inversion.technique import THRESHOLD_DB
from labkit.workload import Workload, examples

torch = pytest.importorskip("torch")
nn = torch.nn


@pytest.fixture(scope="module")
def iris(iris_mlp):
    """scikit-learn's iris (raw centimetres) with a small torch MLP trained here, taken in through from_torch."""
    X, y, model = iris_mlp(hidden=16, epochs=300, lr=0.01, standardize=False)
    w = Workload.from_torch(model, X, y, name="iris_mlp")
    start = time.perf_counter()
    run = labkit.assess(w, techniques=["inversion"], fast=True)
    return w, run, time.perf_counter() - start


def test_registry_door_end_to_end_on_iris(iris):
    w, run, _ = iris
    assert labkit.techniques.get("inversion").assessable
    r = run.result("inversion")
    assert r is not None and r.name == "assess" and r.metrics["supported"] == 1
    assert r.params["workload"] == "iris_mlp" and r.params["fast"] is True
    assert set(r.artifacts["provenance"]) == set(r.metrics) - {"assess_s"}  # assess_s: labkit.assess's own clock
    assert set(r.artifacts["provenance"].values()) == {"measured"}
    assert r.artifacts["reproduce"].startswith("labkit.assess(workload, techniques=['inversion']")
    assert "as given (trained, test accuracy" in r.params["training_stage"]
    assert r.metrics["accuracy_given"] == pytest.approx(w.accuracy())


def test_tabular_features_and_labels_leak_at_batch_one(iris):
    r = iris[1].result("inversion")
    m = r.metrics
    # iDLG on an MLP with biases: measured 0.75 of the features within 0.1 SD (mean error 0.07 SD), 33.6 dB
    assert m["feature_recovery"] >= 0.5
    assert m["mean_relative_error"] < 0.3
    assert m["psnr_batch1"] > THRESHOLD_DB + 10
    assert m["label_recovery"] == 1.0
    assert "ssim_batch1" not in m  # flat features are not images
    # a batch of 4 hides more (measured 0.06 of the features, 0.95 SD)
    assert m["feature_recovery_batch"] < m["feature_recovery"]
    assert m["mean_relative_error_batch"] > m["mean_relative_error"]
    assert any(f"{m['feature_recovery']:.0%} of its features" in f for f in r.artifacts["findings"])


def test_tabular_defense_stops_both_attacks_and_is_priced(iris):
    r = iris[1].result("inversion")
    m, d = r.metrics, r.artifacts["defense"]
    assert m["defense_stops"] == 1 and d["stops"]
    assert m["psnr_defended"] < THRESHOLD_DB
    assert m["psnr_defended_idlg"] < THRESHOLD_DB and m["psnr_defended_ig"] < THRESHOLD_DB
    assert m["feature_recovery_defended"] < m["feature_recovery"]
    # clipping only rescales a batch-1 gradient: cosine matching (Inverting Gradients) is blind to it
    assert d["name"] != "clipping"
    assert 0 <= m["accuracy_private"] <= 1 and m["accuracy_cost"] == pytest.approx(
        m["accuracy_plain"] - m["accuracy_private"]
    )
    assert m["overhead"] > 0 and m["overhead_low"] <= m["overhead"] * 1.5
    assert d["accuracy_private"] == m["accuracy_private"]


def test_support_in_seconds_and_the_estimate_holds(iris):
    w, _, seconds = iris
    start = time.perf_counter()
    s = inv.support(w)
    assert time.perf_counter() - start < 10
    assert s.supported and s.estimate["seconds"] > s.estimate["seconds_fast"] > 0
    assert s.estimate["memory_bytes"] > 0
    assert any("0.1 training standard deviations" in n for n in s.notes)
    # the fast estimate against the fast run measured above (both under this machine's load)
    assert s.estimate["seconds_fast"] / 3 < seconds < s.estimate["seconds_fast"] * 3


def test_image_cnn_attack_and_defense():
    w = examples.workload("digits_cnn")
    r = inv.assess(w, fast=True, defenses=["gaussian_noise", "pruning"])
    m = r.metrics
    assert "ssim_batch1" in m and "feature_recovery" not in m
    # measured: 66 dB (Inverting Gradients, SSIM 1.00) at batch 1; gaussian noise sigma 1e-3 brings both below 11 dB
    assert m["psnr_batch1"] > m["psnr_defended"] + 10
    assert m["psnr_defended"] < THRESHOLD_DB and m["defense_stops"] == 1
    assert m["ssim_batch1"] > m["ssim_defended"]
    assert m["label_recovery"] == 1.0
    assert r.params["defenses"] == ["gaussian_noise", "pruning"]
    assert r.artifacts["defense"]["name"] in ("gaussian_noise", "pruning")


def test_parameter_free_model_is_refused_and_assess_says_so():
    X = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    w = Workload.from_torch(nn.Sequential(nn.Flatten(), nn.Softmax(dim=1)), X, np.arange(40) % 3, name="no_params")
    s = inv.support(w)
    assert not s.supported and s.problems[0].op == "parameters"
    assert "no trainable parameters" in s.problems[0].reason
    r = inv.assess(w, fast=True)
    assert r.metrics == {"supported": 0} and r.artifacts["unsupported"][0]["op"] == "parameters"


def test_one_score_model_and_headless_model_are_refused():
    X = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    one = Workload.from_torch(nn.Sequential(nn.Linear(3, 1)), X, np.arange(40) % 2, name="one")
    assert inv.support(one).problems[0].op == "score"
    images = np.random.default_rng(0).random((40, 1, 8, 8)).astype(np.float32)
    headless = nn.Sequential(nn.Conv2d(1, 3, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    w = Workload.from_torch(headless, images, np.arange(40) % 3, name="headless")
    assert inv.support(w).problems[0].op == "head"


def test_too_few_samples_names_the_minimum():
    X = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
    w = Workload.from_torch(nn.Sequential(nn.Linear(3, 2)), X, np.arange(8) % 2, name="tiny")
    problem = inv.support(w).problems[0]
    assert problem.op == "samples" and str(inv.MIN_TRAIN) in problem.suggestion


def test_images_outside_unit_range_get_a_note_and_the_box_is_exact():
    from labkit.inversion.exposure import client_gradients, prepare

    digits = labkit.datasets.load("digits")
    X = (digits.X_train[:60] / 16.0 * 4.0 - 2.0).reshape(-1, 1, 8, 8).astype(np.float32)  # pixels in [-2, 2]
    labels = digits.y_train[:60]
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(72, 10))
    w = Workload.from_torch(model, X, labels, X_test=X[:10] * 1.5, y_test=labels[:10], name="std")
    target = prepare(w)
    assert any("outside [0, 1]" in n for n in target.notes)
    assert any("outside the range the training data covers" in n for n in target.notes)
    assert 0 < target.outside_share < 1
    # the attacker's model reads its [0, 1] box onto [-2, 2]: same outputs, same gradient
    x, y = X[:2], labels[:2]
    box = torch.as_tensor(target.to_box(x), dtype=torch.float32)
    assert float(box.min()) >= 0 and float(box.max()) <= 1
    shared = client_gradients(target, x, y)
    seen = torch.autograd.grad(
        nn.functional.cross_entropy(target.attacker_model(box), torch.as_tensor(y)),
        [p for p in target.attacker_model.parameters()],
    )
    for a, b in zip(shared, seen):
        assert torch.allclose(a, b, atol=1e-6)


def test_bad_input_is_refused_before_work():
    with pytest.raises(InvalidInput, match="Workload"):
        inv.assess("model.onnx")
    X = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
    w = Workload.from_torch(nn.Sequential(nn.Linear(3, 2)), X, np.arange(40) % 2, name="small")
    with pytest.raises(InvalidInput, match="defenses"):
        inv.assess(w, defenses=["shouting"])


def test_batchnorm_keeps_its_inference_form_in_the_client_update():
    from labkit.inversion.exposure import client_gradients, prepare

    X = np.random.default_rng(1).normal(size=(40, 4)).astype(np.float32)
    bn = nn.BatchNorm1d(8)
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
    model = nn.Sequential(nn.Linear(4, 8), bn, nn.ReLU(), nn.Linear(8, 3)).eval()
    w = Workload.from_torch(model, X, np.arange(40) % 3, name="bn")
    s = inv.support(w)
    assert s.supported and any("BatchNorm" in n for n in s.notes)
    target = prepare(w)
    x = X[:1]
    with torch.no_grad():
        assert np.allclose(target.model(torch.as_tensor(x)).numpy(), w.logits(x), atol=1e-4)
    grads = client_gradients(target, x, np.array([1]))  # a batch of one: batch statistics would fail here
    assert len(grads) == len(list(model.parameters())) and all(torch.isfinite(g).all() for g in grads)
