"""Defenses as gradient transforms, and the resumable privacy-utility sweep."""

import numpy as np
import pytest
import torch

from labkit import fl
from labkit.errors import InvalidInput
from labkit.fl.hooks import batch_gradients
from labkit.inversion import sweep as sweep_mod
from labkit.inversion.defenses import DPSGD, make_defense
from labkit.results import ResultStore


@pytest.fixture(scope="module")
def setup():
    d = fl.image_data("digits")
    m = fl.make_model("mlp", input_shape=(1, 8, 8), n_classes=10, rng=0)
    X, y = torch.as_tensor(d.X_train[:8]), torch.as_tensor(d.y_train[:8])
    return m, X, y, batch_gradients(m, X, y)


def _apply(defense, setup):
    m, X, y, _ = setup
    return defense.client_gradients(m, X, y, generator=np.random.default_rng(0))


def test_pruning_zeroes_the_requested_fraction(setup):
    out = _apply(make_defense("pruning", 0.9), setup)
    zero = sum(int((g == 0).sum()) for g in out) / sum(g.numel() for g in out)
    assert 0.88 <= zero <= 0.92


def test_quantization_uses_few_levels(setup):
    out = _apply(make_defense("quantization", 2), setup)
    assert all(len(torch.unique(g)) <= 3 for g in out)
    signs = _apply(make_defense("quantization", 1), setup)
    assert all(len(torch.unique(g)) <= 3 for g in signs)  # -m, +m, and 0 where the gradient is exactly 0
    assert all(torch.equal(torch.sign(a), torch.sign(b)) for a, b in zip(signs, setup[3]))


def test_clipping_bounds_the_norm(setup):
    out = _apply(make_defense("clipping", 0.01), setup)
    assert float(torch.sqrt(sum((g * g).sum() for g in out))) == pytest.approx(0.01, rel=1e-4)


def test_gaussian_noise_has_the_requested_scale(setup):
    g0 = setup[3]
    out = _apply(make_defense("gaussian_noise", 0.05), setup)
    diff = torch.cat([(a - b).flatten() for a, b in zip(out, g0)])
    assert float(diff.std()) == pytest.approx(0.05, rel=0.1)


def test_dp_sgd_clips_per_sample_and_adds_calibrated_noise(setup):
    m, X, y, g0 = setup
    clipped = _apply(DPSGD(0.0, max_grad_norm=0.01), setup)  # no noise: mean of per-sample clipped grads
    assert float(torch.sqrt(sum((g * g).sum() for g in clipped))) <= 0.01 + 1e-6
    noisy = _apply(DPSGD(1.0, max_grad_norm=0.01), setup)
    diff = torch.cat([(a - b).flatten() for a, b in zip(noisy, clipped)])
    assert float(diff.std()) == pytest.approx(1.0 * 0.01 / len(y), rel=0.1)  # z * C / B
    assert DPSGD(1.0).epsilon(steps=100, sample_rate=0.01) < DPSGD(0.5).epsilon(steps=100, sample_rate=0.01)


def test_defense_bad_values():
    for name, value in [("pruning", 1.5), ("gaussian_noise", -1), ("quantization", 0), ("clipping", 0)]:
        with pytest.raises(InvalidInput):
            make_defense(name, value)
    with pytest.raises(InvalidInput, match="needs a value"):
        make_defense("pruning")
    with pytest.raises(InvalidInput, match="defense must be one of"):
        make_defense("tinfoil", 1)


def test_sweep_is_stored_and_resumes(tmp_path, monkeypatch):
    store = ResultStore(tmp_path / "r.sqlite")
    kw = dict(n_images=1, iterations=20, attack_kind="idlg", measure_utility=True, utility_rounds=2, store=store)
    rows = sweep_mod.rows(sweep_mod.sweep("pruning", [0.2, 0.99], **kw))
    assert [r["value"] for r in rows] == [0.2, 0.99]
    assert rows[0]["psnr"] > rows[1]["psnr"]
    assert 0 <= rows[1]["accuracy"] <= 1 and "accuracy_cost" in rows[1]
    calls = []
    monkeypatch.setattr(sweep_mod, "run_scenario", lambda **k: calls.append(k))
    again = sweep_mod.rows(sweep_mod.sweep("pruning", [0.2, 0.99], **kw))
    assert calls == [] and [r["psnr"] for r in again] == [r["psnr"] for r in rows]
    with pytest.raises(InvalidInput, match="knob must be one of"):
        sweep_mod.sweep("magic", [1])


def test_dp_sgd_utility_reports_an_epsilon():
    from labkit.inversion.scenario import defense_utility

    u = defense_utility(DPSGD(1.0), rounds=2).metrics
    assert 0 < u["epsilon_approx"] < 10 and 0 <= u["accuracy"] <= 1
    assert "epsilon_approx" not in defense_utility(make_defense("pruning", 0.5), rounds=2).metrics


@pytest.mark.parametrize(
    "noise, rate, steps, delta", [(1.0, 0.01, 100, 1e-5), (0.3, 0.05, 40, 1e-6), (2.0, 1.0, 5, 1e-3)]
)
def test_dp_sgd_epsilon_is_the_dp_labs_accountant(noise, rate, steps, delta):
    from labkit.dp import accounting

    want = accounting.epsilon(noise_multiplier=noise, sample_rate=rate, steps=steps, delta=delta, accountant="rdp")
    assert DPSGD(noise).epsilon(steps=steps, sample_rate=rate, delta=delta) == want
    assert DPSGD(0.0).epsilon(steps=steps, sample_rate=rate) == float("inf")
