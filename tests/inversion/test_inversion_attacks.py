"""Gradient inversion attacks: they succeed undefended, they fail under strong defenses, bad inputs are refused."""

import numpy as np
import pytest
import torch

from labkit import fl
from labkit.errors import InvalidInput
from labkit.fl.hooks import batch_gradients
from labkit.inversion import attack, check_gradients, label_accuracy, match, psnr, recover_labels, ssim
from labkit.inversion.defenses import make_defense
from labkit.inversion.scenario import run_scenario


@pytest.fixture(scope="module")
def digits():
    return fl.image_data("digits")


@pytest.fixture(scope="module")
def mlp():
    return fl.make_model("mlp", input_shape=(1, 8, 8), n_classes=10, rng=0)


def _grad(model, data, idx):
    x, y = torch.as_tensor(data.X_train[idx]), torch.as_tensor(data.y_train[idx])
    return x, y, batch_gradients(model, x, y)


# -- metrics ------------------------------------------------------------------------------
def test_psnr_ssim_known_values():
    x = np.full((1, 8, 8), 0.5)
    assert psnr(x, x + 0.1) == pytest.approx(20.0)
    assert psnr(x, x) == 100.0
    assert ssim(x, x) == pytest.approx(1.0)
    noisy = np.clip(x + np.random.default_rng(0).normal(0, 0.3, x.shape), 0, 1)
    assert ssim(x, noisy) < 0.5
    with pytest.raises(InvalidInput, match="shapes differ"):
        psnr(x, np.zeros((1, 4, 4)))


def test_matching_undoes_a_permutation():
    rng = np.random.default_rng(0)
    true = rng.random((4, 1, 8, 8))
    perm = [2, 0, 3, 1]
    pairs = match(true, true[perm])
    assert [j for _, j, _ in pairs] == [perm.index(i) for i in range(4)]
    assert label_accuracy([1, 2, 2], [2, 1, 5]) == pytest.approx(2 / 3)


# -- label recovery -------------------------------------------------------------------------
def test_idlg_label_recovery_is_exact_at_batch_1(digits, mlp):
    for i in range(20):
        _, y, g = _grad(mlp, digits, slice(i, i + 1))
        assert recover_labels(mlp, g).tolist() == y.tolist()


def test_label_recovery_for_a_batch(digits, mlp):
    accs = []
    for start in range(0, 40, 8):
        _, y, g = _grad(mlp, digits, slice(start, start + 8))
        accs.append(label_accuracy(y.numpy(), recover_labels(mlp, g, batch_size=8)))
    assert np.mean(accs) >= 0.9


# -- attacks succeed undefended ---------------------------------------------------------------
@pytest.mark.parametrize("kind,iterations", [("dlg", 40), ("idlg", 30), ("ig", 150)])
def test_attack_reconstructs_a_digit(digits, mlp, kind, iterations):
    x, y, g = _grad(mlp, digits, slice(3, 4))
    out = attack(
        kind,
        model=mlp,
        gradients=g,
        input_shape=(1, 8, 8),
        iterations=iterations,
        true_images=x.numpy(),
        true_labels=y.numpy(),
    )
    assert out.result.metrics["psnr"] > 25
    assert out.result.metrics["ssim"] > 0.9
    assert out.result.metrics["label_accuracy"] == 1.0
    history = out.result.artifacts["history"]
    assert history and history[-1]["iteration"] == iterations
    assert out.value.shape == (1, 1, 8, 8) and out.result.artifacts["recovered_labels"] == y.tolist()


def test_attack_on_a_small_batch_with_matching(digits, mlp):
    x, y, g = _grad(mlp, digits, slice(10, 14))
    out = attack(
        "idlg",
        model=mlp,
        gradients=g,
        input_shape=(1, 8, 8),
        batch_size=4,
        iterations=40,
        true_images=x.numpy(),
        true_labels=y.numpy(),
    )
    assert out.result.metrics["psnr"] > 25


def test_callback_sees_the_reconstruction_converge(digits, mlp):
    x, _, g = _grad(mlp, digits, slice(5, 6))
    seen = []
    attack(
        "idlg",
        model=mlp,
        gradients=g,
        input_shape=(1, 8, 8),
        iterations=20,
        record_every=5,
        true_images=x.numpy(),
        callback=lambda it, rec, loss, p: seen.append((it, rec.shape, p)),
    )
    assert [s[0] for s in seen] == [1, 6, 11, 16, 20]
    assert seen[-1][1] == (1, 1, 8, 8) and seen[-1][2] > seen[0][2]


# -- defenses defeat it -------------------------------------------------------------------------
@pytest.mark.parametrize("defense", [("gaussian_noise", 1.0), ("pruning", 0.99), ("dp_sgd", 1.0)])
def test_strong_defense_defeats_the_attack(defense):
    s = run_scenario(attack_kind="ig", iterations=100, defense=make_defense(*defense), rng=0)
    assert s.result.metrics["psnr"] < 12


def test_secure_aggregation_defeats_single_client_reconstruction():
    alone = run_scenario(attack_kind="idlg", iterations=30, rng=1)
    hidden = run_scenario(attack_kind="idlg", iterations=30, n_clients=32, secure_aggregator=fl.PlainSum(), rng=1)
    assert alone.result.metrics["psnr"] > 25
    assert hidden.result.metrics["psnr"] < 14
    assert "only the mean of 32" in hidden.result.artifacts["server_sees"]
    assert hidden.result.insecure  # PlainSum stands in for HE/MPC: flagged
    assert "aggregation_overhead" in hidden.result.metrics


# -- bad inputs -------------------------------------------------------------------------------------
def test_real_he_aggregation_over_few_clients_does_not_hide_a_digit():
    s = run_scenario(attack_kind="idlg", iterations=30, n_clients=4, secure_aggregator=fl.CKKSSum(), rng=1)
    assert s.result.metrics["psnr"] > 25  # the server inverts the sum of 4 gradients: a batch of 4
    assert s.result.metrics["aggregation_overhead"] > 10 and not s.result.insecure


def test_gradients_that_do_not_match_the_model(digits, mlp):
    other = fl.make_model("mlp", input_shape=(1, 8, 8), n_classes=10, hidden=32)
    _, _, g = _grad(other, digits, slice(0, 1))
    with pytest.raises(InvalidInput, match="do not belong to this model"):
        attack("idlg", model=mlp, gradients=g, input_shape=(1, 8, 8), iterations=1)
    with pytest.raises(InvalidInput, match="one per model parameter"):
        check_gradients(mlp, g[:2])
    with pytest.raises(InvalidInput, match="flat gradient has 7 values"):
        check_gradients(mlp, np.zeros(7))
    _, _, good = _grad(mlp, digits, slice(0, 1))
    good[0] = good[0].clone()
    good[0][0, 0] = float("nan")
    with pytest.raises(InvalidInput, match="NaN"):
        check_gradients(mlp, good)


def test_bad_attack_parameters(digits, mlp):
    _, _, g = _grad(mlp, digits, slice(0, 1))
    kw = dict(model=mlp, gradients=g, input_shape=(1, 8, 8))
    with pytest.raises(InvalidInput, match="attack kind"):
        attack("magic", **kw)
    with pytest.raises(InvalidInput, match="batch_size"):
        attack("ig", batch_size=0, **kw)
    with pytest.raises(InvalidInput, match="labels must be"):
        attack("ig", labels=[12], **kw)
    with pytest.raises(InvalidInput, match="true_images"):
        attack("ig", true_images=np.zeros((1, 3, 32, 32)), **kw)


def test_local_steps_do_not_hide_one_image_from_a_protocol_aware_attacker():
    s = run_scenario(attack_kind="idlg", iterations=30, local_steps=5, rng=2)
    assert s.result.params["local_steps"] == 5
    assert s.result.metrics["psnr"] > 25
    with pytest.raises(InvalidInput, match="local_steps"):
        attack(
            "idlg",
            model=fl.make_model("mlp", input_shape=(1, 8, 8), n_classes=10),
            gradients=np.zeros(4810),
            input_shape=(1, 8, 8),
            local_steps=0,
        )


def test_scenario_outcome_holds_the_private_batch_and_the_reconstruction():
    s = run_scenario(attack_kind="idlg", iterations=20, batch_size=2, rng=3)
    assert s.value.private.shape == (2, 1, 8, 8) and s.value.reconstruction.shape == (2, 1, 8, 8)
    assert s.result.artifacts["recovered_labels"] == sorted(s.result.artifacts["true_labels"])
    assert s.result.params["seed"] == 3 and s.result.artifacts["history"]


def test_attack_seed_follows_labkit_seed(digits, mlp, monkeypatch):
    _, _, g = _grad(mlp, digits, slice(0, 1))
    kw = dict(model=mlp, gradients=g, input_shape=(1, 8, 8), iterations=2)
    monkeypatch.setenv("LABKIT_SEED", "42")
    a = attack("idlg", **kw)
    b = attack("idlg", rng=42, **kw)
    assert a.result.params["seed"] == 42 and (a.value == b.value).all()
