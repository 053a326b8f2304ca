"""Membership-inference audit: it detects the overfit model's leak and never claims more than DP allows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labkit import dp
from labkit.dp import audit
from labkit.errors import InvalidInput


@pytest.fixture(scope="module")
def leaky():
    """The overfit setting: 100 members, small batches, many epochs; DP at epsilon 2 alongside."""
    return dp.train_private(**dp.leak_setting(), target_epsilon=2.0)


def test_overfit_nonprivate_model_leaks(leaky):
    m = leaky.metrics
    assert m["baseline_train_accuracy"] == 1.0  # memorised its members
    assert m["baseline_attack_auc"] > 0.65  # clearly above guessing (0.5)
    assert max(m["baseline_attack_auc_calibrated"], m["baseline_attack_auc"]) > 0.65
    assert m["baseline_tpr_at_low_fpr"] > audit.LOW_FPR  # better than chance at 5% FPR
    assert m["baseline_empirical_epsilon"] > 0.5  # the audit proves a real privacy loss


def test_private_model_bound_stays_below_accountant(leaky):
    m = leaky.metrics
    assert m["empirical_epsilon"] < m["epsilon"]
    assert m["attack_auc"] < m["baseline_attack_auc"]


def test_auc_and_tpr_on_known_scores():
    assert audit.auc([1, 2, 3], [1, 2, 3]) == pytest.approx(0.5)
    assert audit.auc([0, 0], [1, 1]) == 0.0
    assert audit.tpr_at_fpr([4, 5, 6, 7], [0, 1, 2, 3], fpr=0.0) == 1.0
    assert audit.tpr_at_fpr([0, 1, 2, 3], [4, 5, 6, 7], fpr=0.25) == 0.0


def test_randomized_response_bound_is_sound_and_informative():
    """A mechanism with a known epsilon: the audit's bound must stay below it yet find most of it."""
    eps_true = 1.0
    p = math.exp(eps_true) / (1 + math.exp(eps_true))
    rng = np.random.default_rng(0)
    n = 4000
    members = (rng.random(n) < p).astype(float) + rng.normal(0, 1e-6, n)  # tiny jitter: distinct scores
    nonmembers = (rng.random(n) < 1 - p).astype(float) + rng.normal(0, 1e-6, n)
    bound, _ = audit.empirical_epsilon([audit.AttackScores("rr", members, nonmembers)], delta=0.0, rng=1)
    assert 0.6 < bound <= eps_true


def test_no_signal_gives_no_bound():
    rng = np.random.default_rng(5)
    s = audit.AttackScores("noise", rng.normal(size=500), rng.normal(size=500))
    bound, _ = audit.empirical_epsilon([s], delta=1e-5, rng=2)
    assert bound < 0.3


def test_epsilon_bound_uses_confidence_intervals():
    # Perfect separation on 10 + 10 examples proves much less than on 1000 + 1000.
    small = audit.epsilon_bound(10, 10, 0, 10, delta=1e-5)
    large = audit.epsilon_bound(1000, 1000, 0, 1000, delta=1e-5)
    assert 0 < small < large < 10


def test_audit_refuses_bad_scores():
    with pytest.raises(InvalidInput, match="NaN"):
        audit.auc([0.1, float("nan")], [0.2, 0.3])
    with pytest.raises(InvalidInput, match="at least 2"):
        audit.auc([0.1], [0.2, 0.3])
    with pytest.raises(InvalidInput, match="1-D"):
        audit.auc([[0.1, 0.2]], [0.2, 0.3])
    with pytest.raises(InvalidInput, match="one value per"):
        audit.run(
            member_loss=np.ones(5),
            nonmember_loss=np.ones(5),
            member_reference_loss=np.ones(4),
            nonmember_reference_loss=np.ones(5),
            delta=1e-5,
        )
    with pytest.raises(InvalidInput):
        audit.tpr_at_fpr([1, 2], [1, 2], fpr=1.0)


def test_auc_standard_error_shrinks_with_samples():
    small = audit.auc_standard_error(0.6, 50, 50)
    large = audit.auc_standard_error(0.6, 5000, 5000)
    assert 0 < large < small < 0.1
    # Under no signal, AUCs of many random draws scatter by about the standard error.
    rng = np.random.default_rng(3)
    aucs = [audit.auc(rng.normal(size=400), rng.normal(size=70)) for _ in range(200)]
    assert np.std(aucs) == pytest.approx(audit.auc_standard_error(0.5, 400, 70), rel=0.25)


def test_run_reports_standard_error(leaky):
    m = leaky.metrics
    assert 0 < m["baseline_attack_auc_se"] < 0.1
    assert (m["baseline_attack_auc"] - 0.5) > 3 * m["baseline_attack_auc_se"]  # the leak is not chance


def test_loss_histograms_show_the_memorisation(leaky):
    hist = leaky.artifacts["loss_histogram"]
    edges = hist["edges"]
    low = [i for i, e in enumerate(edges[:-1]) if e < -2]  # loss below 0.01
    for label in ("baseline", "dp"):
        assert sum(hist[label]["members"]) == pytest.approx(1.0, abs=1e-3)
    # The overfit model puts far more of its members than of its non-members at tiny loss.
    base_m = sum(hist["baseline"]["members"][i] for i in low)
    base_n = sum(hist["baseline"]["nonmembers"][i] for i in low)
    assert base_m > base_n + 0.2


def test_run_returns_a_result():
    rng = np.random.default_rng(0)
    out = audit.run(
        member_loss=rng.exponential(0.2, 100),
        nonmember_loss=rng.exponential(1.0, 100),
        member_reference_loss=np.ones(100),
        nonmember_reference_loss=np.ones(100),
        delta=1e-5,
        rng=0,
    )
    assert (out.technique, out.name) == ("dp", "audit")
    assert out.artifacts["best_attack"] in ("loss", "calibrated")
    assert out.metrics["attack_auc"] > 0.7 and "best_attack" not in out.metrics
