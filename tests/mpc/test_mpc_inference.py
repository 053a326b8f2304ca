"""Private inference with real CrypTen parties: correctness, costs, and refusals."""

import numpy as np
import psutil
import pytest

from labkit import datasets
from labkit.errors import InsecureParameters, InvalidInput
from labkit.mpc import inference, models
from labkit.results import NOT_FOR_PRODUCTION


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits")


def _gone(pids):
    return all(not psutil.pid_exists(p) or psutil.Process(p).status() == psutil.STATUS_ZOMBIE for p in pids)


def test_digits_mlp_two_parties_matches_plaintext(digits):
    X, y = digits.X_test[:100], digits.y_test[:100]
    out = inference.private_inference("digits_mlp", X, labels=y, parties=2, repeat=2)
    preds, result = out.value, out.result
    m = result.metrics
    plain = models.load("digits_mlp")
    assert m["max_abs_error"] <= 1e-2  # logits within fixed-point error
    assert m["agreement"] >= 0.99
    assert np.mean(preds == plain.predict(X)) >= 0.99
    assert m["accuracy_private"] == pytest.approx(m["accuracy_plaintext"], abs=0.01)
    assert m["accuracy_plaintext"] > 0.9
    # costs: CrypTen's counters and the overhead measured in the parties
    assert m["rounds"] > 0 and m["bytes_party0"] > 0 and m["bytes_party1"] > 0
    assert m["dealer_rounds"] > 0  # triples came from the separate dealer (TTP)
    assert m["overhead"] > 1
    assert m["latency_wan_s"] > m["latency_lan_s"] > 0
    assert result.technique == "mpc" and NOT_FOR_PRODUCTION not in result.flags
    assert "modelled" in result.artifacts["modelled"]
    assert _gone(result.artifacts["pids"])


def test_breast_cancer_three_parties_probabilities():
    ds = datasets.load("breast_cancer")
    X, y = ds.X_test[:40], ds.y_test[:40]
    out = inference.private_inference("breast_cancer_logreg", X, labels=y, parties=3, reveal="probabilities", repeat=0)
    preds, result = out.value, out.result
    assert result.metrics["parties"] == 3 and result.metrics["bytes_party2"] > 0
    assert result.metrics["max_abs_error"] < 0.05  # CrypTen's sigmoid approximation
    assert result.metrics["agreement"] >= 0.95
    assert preds.shape == (40,)


def test_cnn_reveals_only_the_label(digits):
    X = digits.X_test[:20]
    preds = inference.private_inference("digits_cnn", X, reveal="label", repeat=0).value
    assert preds.dtype.kind == "i" and set(preds) <= set(range(10))
    assert np.mean(preds == models.load("digits_cnn").predict(X)) >= 0.95


def test_tfp_is_refused_unless_insecure_allowed(digits):
    with pytest.raises(InsecureParameters, match="TFP"):
        inference.private_inference("digits_mlp", digits.X_test[:5], provider="TFP")
    result = inference.private_inference(
        "digits_mlp", digits.X_test[:5], provider="TFP", allow_insecure=True, repeat=0
    ).result
    assert NOT_FOR_PRODUCTION in result.flags
    assert result.metrics["dealer_rounds"] == 0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"inputs": np.zeros((3, 10))}, "64 features"),
        ({"inputs": np.full((2, 64), np.nan)}, "NaN"),
        ({"inputs": np.zeros((2001, 64))}, "2000"),
        ({"inputs": np.zeros((3, 64)), "labels": [1, 2]}, "one entry per sample"),
        ({"inputs": np.zeros((3, 64)), "reveal": "weights"}, "reveal"),
        ({"inputs": np.zeros((3, 64)), "parties": 4}, "parties"),
        ({"inputs": np.zeros((3, 64)), "repeat": -1}, "repeat"),
        ({"inputs": np.zeros((3, 64)), "model": "resnet"}, "unknown model"),
    ],
)
def test_bad_inputs_are_refused_before_any_party_starts(kwargs, match, monkeypatch):
    def no_parties(*a, **k):
        raise AssertionError("a party was started")

    monkeypatch.setattr(inference, "run_parties", no_parties)
    model = kwargs.pop("model", "digits_mlp")
    inputs = kwargs.pop("inputs")
    with pytest.raises(InvalidInput, match=match):
        inference.private_inference(model, inputs, **kwargs)


def test_model_architecture_is_public_and_weights_private():
    m = models.load("digits_mlp")
    arch = m.architecture()
    assert [a["kind"] for a in arch] == ["linear", "relu", "linear"]
    assert all("weight" not in a and "bias" not in a for a in arch)
    assert arch[0]["weight_shape"] == (32, 64)
    assert m.n_parameters == 64 * 32 + 32 + 32 * 10 + 10


def test_models_train_to_useful_accuracy():
    for name in models.MODELS:
        assert models.load(name).test_accuracy > 0.9


def test_models_follow_the_seed_convention(monkeypatch):
    default = models.load("breast_cancer_logreg")
    assert models.load("breast_cancer_logreg", rng=None) is default  # None: LABKIT_SEED, trained once
    other = models.load("breast_cancer_logreg", rng=default.info["seed"] + 1)
    assert other.info["seed"] == default.info["seed"] + 1
    assert not np.array_equal(other.layers[0]["weight"], default.layers[0]["weight"])
    monkeypatch.setenv("LABKIT_SEED", str(default.info["seed"] + 1))
    assert models.load("breast_cancer_logreg") is other
    with pytest.raises(InvalidInput, match="rng"):
        models.load("breast_cancer_logreg", rng="seven")
