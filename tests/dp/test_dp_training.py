"""DP-SGD training: epsilon agrees with an independent accountant, the frontier rises, bad inputs are refused."""

from __future__ import annotations

import subprocess
import sys

import pytest

from labkit import dp
from labkit.dp import accounting, training
from labkit.errors import BackendUnavailable, InsecureParameters, InvalidInput
from labkit.results import NOT_FOR_PRODUCTION


@pytest.fixture(scope="module")
def run_eps2():
    return dp.train_private("digits", target_epsilon=2.0, epochs=3, rng=7)


@pytest.fixture(scope="module")
def run_noise():
    return dp.train_private("breast_cancer", noise_multiplier=1.2, epochs=2, batch_size=64, accountant="prv", rng=3)


def test_epsilon_agrees_with_fresh_opacus_accountant(run_eps2):
    m, p = run_eps2.metrics, run_eps2.params
    # Recompute from the mechanism's own description: noise, sample rate 1/(batches per epoch), steps.
    n = p["n_train"]
    batches = -(-n // p["batch_size"])  # Opacus: sample rate = 1 / len(loader)
    steps = p["epochs"] * batches
    assert m["steps"] == steps
    independent = accounting.epsilon(
        noise_multiplier=m["noise_multiplier"], sample_rate=1 / batches, steps=steps, delta=m["delta"]
    )
    assert m["epsilon"] == pytest.approx(independent, rel=0.05)
    assert m["epsilon"] == pytest.approx(m["epsilon_check"], rel=0.05)
    # And the target was met: Opacus' noise search stops within its tolerance below the target.
    assert 2.0 * 0.95 <= m["epsilon"] <= 2.0 + 1e-6


def test_epsilon_from_noise_with_prv_accountant(run_noise):
    m = run_noise.metrics
    independent = accounting.epsilon(
        noise_multiplier=1.2, sample_rate=m["sample_rate"], steps=int(m["steps"]), delta=m["delta"], accountant="prv"
    )
    assert m["epsilon"] == pytest.approx(independent, rel=0.05)
    # RDP is an upper bound that PRV tightens: the RDP epsilon of the same mechanism is not smaller.
    rdp = accounting.epsilon(
        noise_multiplier=1.2, sample_rate=m["sample_rate"], steps=int(m["steps"]), delta=m["delta"]
    )
    assert rdp >= m["epsilon"] * 0.99


def test_result_shape_and_flags(run_eps2):
    r = run_eps2
    assert r.technique == "dp" and r.name == "train_private"
    m = r.metrics
    assert m["delta"] < 1 / r.params["n_train"]
    assert m["delta"] == 1e-5
    assert 0.0 <= m["accuracy"] <= 1.0 and m["baseline_accuracy"] > 0.85
    assert m["accuracy_cost"] == pytest.approx(m["baseline_accuracy"] - m["accuracy"])
    # DP-SGD's per-example gradients cost time: the measured per-epoch ratio is above 1.
    assert m["overhead"] > 1.0
    assert r.timings["overhead.candidate"].repeat == r.params["epochs"]
    assert m["secure_mode"] is False and NOT_FOR_PRODUCTION in r.flags
    assert "secure_mode" in r.artifacts and "DP" in r.artifacts["guarantee"]
    for prefix in ("", "baseline_"):
        for key in ("attack_auc", "attack_auc_calibrated", "tpr_at_low_fpr", "empirical_epsilon"):
            assert prefix + key in m


def test_seeded_runs_repeat():
    a = dp.train_private("breast_cancer", noise_multiplier=1.0, epochs=1, batch_size=64, rng=11)
    b = dp.train_private("breast_cancer", noise_multiplier=1.0, epochs=1, batch_size=64, rng=11)
    assert a.metrics["accuracy"] == b.metrics["accuracy"]
    assert a.metrics["attack_auc"] == b.metrics["attack_auc"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "exactly one"),
        ({"target_epsilon": 1.0, "noise_multiplier": 1.0}, "exactly one"),
        ({"target_epsilon": -1.0}, "target_epsilon"),
        ({"target_epsilon": float("nan")}, "target_epsilon"),
        ({"noise_multiplier": 0.0}, "noise_multiplier"),
        ({"target_epsilon": 1.0, "max_grad_norm": 0}, "max_grad_norm"),
        ({"target_epsilon": 1.0, "epochs": 0}, "epochs"),
        ({"target_epsilon": 1.0, "batch_size": 4}, "batch_size"),
        ({"target_epsilon": 1.0, "batch_size": 10_000}, "batch_size"),
        ({"target_epsilon": 1.0, "accountant": "moments"}, "accountant"),
        ({"target_epsilon": 1.0, "delta": 0.0}, "delta"),
        ({"target_epsilon": 1.0, "delta": 1.5}, "delta"),
        ({"target_epsilon": 1.0, "n_train": 5}, "n_train"),
        ({"target_epsilon": 1.0, "secure_mode": "yes"}, "secure_mode"),
        ({"target_epsilon": 1.0, "lr": "fast"}, "lr"),
    ],
)
def test_bad_parameters_are_refused(kwargs, match):
    with pytest.raises(InvalidInput, match=match):
        dp.train_private("digits", **kwargs)


def test_unknown_dataset_refused():
    with pytest.raises(InvalidInput, match="dataset"):
        dp.train_private("mnist", target_epsilon=1.0)


def test_delta_at_or_above_one_over_n_is_refused_then_flagged():
    with pytest.raises(InsecureParameters, match="1/n"):
        dp.plan("digits", target_epsilon=1.0, delta=1e-3)  # n = 1347, 1/n ~ 7.4e-4
    with pytest.raises(InsecureParameters):
        dp.plan("digits", target_epsilon=1.0, n_train=100, delta=0.01)
    p = dp.plan("digits", target_epsilon=1.0, delta=1e-3, allow_insecure=True)
    assert p["delta"] == 1e-3 and p["allow_insecure"]


def test_default_delta_is_below_one_over_n():
    for n in (20, 100, 426, 1347, 60000):
        d = accounting.default_delta(n)
        assert d < 1 / n and d >= 1 / (100 * n)


def test_secure_mode_needs_torchcsprng():
    try:
        import torchcsprng  # noqa: F401
    except ImportError:
        with pytest.raises(BackendUnavailable, match="torchcsprng"):
            dp.plan("digits", target_epsilon=1.0, secure_mode=True)
    else:  # pragma: no cover - not installed here
        assert dp.plan("digits", target_epsilon=1.0, secure_mode=True)["secure_mode"] is True


def test_budget_too_small_is_refused_before_training():
    with pytest.raises(InvalidInput, match=r"0\.1 or more"):
        dp.plan("breast_cancer", target_epsilon=1e-4)


def test_accounting_refuses_bad_inputs():
    with pytest.raises(InvalidInput):
        accounting.epsilon(noise_multiplier=1.0, sample_rate=1.5, steps=10, delta=1e-5)
    with pytest.raises(InvalidInput):
        accounting.epsilon(noise_multiplier=1.0, sample_rate=0.1, steps=0, delta=1e-5)
    with pytest.raises(InvalidInput):
        accounting.epsilon(noise_multiplier=1.0, sample_rate=0.1, steps=10, delta=1e-5, accountant="gdp2")


def test_noise_search_round_trips():
    sigma = accounting.noise_for_epsilon(target_epsilon=3.0, sample_rate=0.05, steps=400, delta=1e-5)
    eps = accounting.epsilon(noise_multiplier=sigma, sample_rate=0.05, steps=400, delta=1e-5)
    assert eps == pytest.approx(3.0, rel=0.02) and eps <= 3.0


def test_import_is_light():
    code = (
        "import sys, labkit.dp, labkit.dp.technique; assert 'torch' not in sys.modules and 'opacus' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_plan_defaults_follow_fast_mode(monkeypatch):
    monkeypatch.setenv("LABKIT_FAST", "1")
    fast = training.plan("digits", target_epsilon=1.0)["epochs"]
    monkeypatch.setenv("LABKIT_FAST", "0")
    full = training.plan("digits", target_epsilon=1.0)["epochs"]
    assert fast < full


def test_empty_poisson_batches_still_step_and_count():
    """With an expected batch of one, many Poisson batches are empty; each must still be a counted step."""
    import warnings

    import numpy as np
    import torch
    from opacus import PrivacyEngine

    from labkit.dp import models

    torch.manual_seed(0)
    X = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    net = models.mlp(4, 2, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        engine = PrivacyEngine(accountant="rdp")
        module, opt, loader = engine.make_private(
            module=net,
            optimizer=torch.optim.SGD(net.parameters(), lr=0.1),
            noise_multiplier=1.0,
            max_grad_norm=1.0,
            data_loader=torch.utils.data.DataLoader(models.tensors(X, y), batch_size=1),
        )
        assert any(len(b[1]) == 0 for b in loader)
        steps = models.train_epoch(module, loader, opt)
    assert steps == 50 and engine.accountant.history == [(1.0, 0.02, 50)]
    assert all(torch.isfinite(p).all() for p in net.parameters())


def test_rng_follows_labkit_seed(monkeypatch):
    monkeypatch.setenv("LABKIT_SEED", "99")
    assert training.plan("digits", target_epsilon=1.0)["seed"] == 99
    assert training.plan("digits", target_epsilon=1.0, rng=5)["seed"] == 5
    import numpy as np

    assert isinstance(training.plan("digits", target_epsilon=1.0, rng=np.random.default_rng(0))["seed"], int)
    with pytest.raises(InvalidInput, match="rng"):
        training.plan("digits", target_epsilon=1.0, rng="seven")


def test_split_follows_the_rng_convention(monkeypatch):
    from labkit.dp import data

    monkeypatch.setenv("LABKIT_SEED", "4")
    a = data.split("breast_cancer", n_train=50)
    b = data.split("breast_cancer", n_train=50, rng=4)
    assert (a.y_members == b.y_members).all() and (a.X_members == b.X_members).all()
    with pytest.raises(InvalidInput, match="n_train"):
        data.split("breast_cancer", n_train=5)
