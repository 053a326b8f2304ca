"""The DP assess door on workloads written here, from outside the lab: iris with a BatchNorm MLP, digits with a CNN."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits, load_iris
from torch import nn

import labkit
from labkit import techniques
from labkit.dp import assess as dp_assess
from labkit.workload import Workload


def _iris(n: int | None = None, *, X_test=None, y_test=None) -> Workload:
    X, y = load_iris(return_X_y=True)
    X = ((X - X.mean(axis=0)) / X.std(axis=0)).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(y))[:n]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3)).eval()
    return Workload.from_torch(model, X[order], y[order], X_test=X_test, y_test=y_test, name="iris_bn_mlp")


@pytest.fixture(scope="module")
def iris():
    return _iris()


@pytest.fixture(scope="module")
def iris_result(iris):
    return dp_assess.assess(iris, fast=True)


def test_support_lists_the_fix_and_estimates_in_seconds(iris):
    start = time.perf_counter()
    s = dp_assess.support(iris)
    assert time.perf_counter() - start < 10
    assert s.supported, s.problems
    assert any("BatchNorm1d(16 channels) -> GroupNorm(1 group, 16 channels)" in n for n in s.notes), s.notes
    assert any("from scratch" in n for n in s.notes)
    est = s.estimate
    assert 0 < est["seconds_fast"] < est["seconds"] < 60
    assert est["memory_bytes"] > 100 * 2**20
    assert est["modules_replaced"] == 1 and est["n_parameters"] == 4 * 16 + 16 + 2 * 16 + 16 * 3 + 3
    assert est["delta"] < 1 / len(iris.y_train)


def test_fix_reported_and_its_accuracy_cost_measured(iris_result):
    r = iris_result
    (change,) = r.artifacts["changes"]
    assert change["from"] == "BatchNorm1d(16 channels)" and change["to"] == "GroupNorm(1 group, 16 channels)"
    assert "BatchNormalization" in change["node"]
    m = r.metrics
    assert m["modules_replaced"] == 1
    assert m["accuracy_cost_of_fix"] == pytest.approx(m["accuracy_plain"] - m["accuracy_plain_fixed"])
    # iris is easy: both non-private models learn it (Opacus' own GroupNorm(16, 16) here would sit at chance)
    assert m["accuracy_plain"] > 0.7 and m["accuracy_plain_fixed"] > 0.7


def test_each_epsilon_agrees_with_a_fresh_rdp_accountant(iris_result):
    from opacus.accountants import RDPAccountant

    r = iris_result
    assert r.params["accountant"] == "rdp" and r.artifacts["accountant"] == "opacus.accountants.RDPAccountant"
    assert len(r.artifacts["sweep"]) == 2
    for point in r.artifacts["sweep"]:
        acc = RDPAccountant()
        acc.history = [(point["noise_multiplier"], point["sample_rate"], point["steps"])]
        fresh = acc.get_epsilon(delta=point["delta"])
        assert point["epsilon"] == pytest.approx(fresh, rel=1e-6)
        assert point["epsilon"] <= point["target_epsilon"] * 1.001
        assert point["delta"] < 1 / r.metrics["n_members"]
    target = next(p for p in r.artifacts["sweep"] if p["target_epsilon"] == dp_assess.TARGET_EPSILON)
    for key in ("epsilon", "noise_multiplier", "sample_rate", "steps"):
        assert r.metrics[key] == target[key]
    assert r.metrics["epsilon_check"] == pytest.approx(r.metrics["epsilon"], rel=1e-9)


def test_smallest_epsilon_is_not_more_accurate_than_no_privacy(iris_result):
    r = iris_result
    lowest = min(r.artifacts["sweep"], key=lambda p: p["epsilon"])
    plain = r.metrics["accuracy_plain_fixed"]
    n = len(load_iris().target) - r.metrics["n_members"]
    noise = 2 * math.sqrt(2 * 0.25 / n)  # two standard errors of a difference of two accuracies on n samples
    assert lowest["accuracy"] <= plain + noise


def test_result_fields_provenance_and_findings(iris_result):
    r = iris_result
    m = r.metrics
    assert m["supported"] == 1
    for key in ("audit_auc_plain", "audit_auc_private"):
        assert 0 <= m[key] <= 1 and m[f"{key.replace('auc', 'auc_se')}"] > 0
    assert m["overhead_low"] <= m["overhead_high"] and m["overhead"] > 1  # DP-SGD's clipping and noise cost time
    assert set(r.artifacts["provenance"]) == set(m)
    assert r.artifacts["provenance"]["epsilon"] == "modelled" and r.artifacts["provenance"]["audit_auc_private"] == (
        "measured"
    )
    assert any(f"{m['audit_auc_plain']:.3f}" in f for f in r.artifacts["findings"])
    assert "techniques=['dp']" in r.artifacts["reproduce"]
    assert r.params["init"].startswith("from scratch") and r.params["fast"] is True


def test_too_small_data_refused_with_the_minimum():
    few = _iris(40)  # 30 training samples, 10 test samples
    s = dp_assess.support(few)
    reasons = " ".join(p.reason for p in s.problems)
    assert not s.supported
    assert f"at least {dp_assess.MIN_TRAIN}" in reasons
    assert f"at least {dp_assess.MIN_AUDIT} members and {dp_assess.MIN_AUDIT} non-members" in reasons
    result = labkit.assess(few, techniques=["dp"]).result("dp")
    assert result.metrics["supported"] == 0
    assert f"at least {2 * dp_assess.MIN_AUDIT} test samples" in str(result.artifacts["unsupported"])


def test_parameter_free_model_refused():
    X, y = load_iris(return_X_y=True)
    w = Workload.from_torch(nn.Sequential(nn.ReLU()), X.astype(np.float32), y, name="no_weights")
    s = dp_assess.support(w)
    assert [p.op for p in s.problems] == ["parameters"]
    assert "no trainable parameters" in s.problems[0].reason


def test_registry_door_end_to_end_is_deterministic(iris, iris_result):
    assert techniques.get("dp").assessable
    out = labkit.assess(iris, techniques=["dp"], fast=True)
    r = out.result("dp")
    assert r.technique == "dp" and r.name == "assess" and r.params["workload"] == "iris_bn_mlp"
    # the same seed gives the same models: accuracies and guarantees repeat exactly
    assert [p["accuracy"] for p in r.artifacts["sweep"]] == [p["accuracy"] for p in iris_result.artifacts["sweep"]]
    assert r.metrics["epsilon"] == iris_result.metrics["epsilon"]
    assert r.metrics["accuracy_plain"] == iris_result.metrics["accuracy_plain"]


def test_image_cnn_batchnorm2d_becomes_groupnorm_per_channel():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).reshape(-1, 1, 8, 8).astype(np.float32)[:400]
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(144, 10)).eval()
    w = Workload.from_torch(model, X, y[:400], name="digits_bn_cnn")
    r = dp_assess.assess(w, fast=True, epsilons=(3.0,), epochs=3)
    (change,) = r.artifacts["changes"]
    assert change["to"] == "GroupNorm(4 groups, 4 channels)"  # Opacus' own fix: spatial maps keep it per channel
    assert r.metrics["accuracy_plain_fixed"] > 0.5 and r.metrics["epsilon"] <= 3.0


def test_bad_parameters_refused_before_training(iris):
    with pytest.raises(labkit.errors.InvalidInput, match=r"0\.1 or more"):
        dp_assess.assess(iris, epsilons=(0.01,))
    with pytest.raises(labkit.errors.InvalidInput):
        dp_assess.assess(iris, epochs=0)
