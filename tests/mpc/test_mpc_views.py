"""What each party sees: uniform shares, no information, and the attack that shows TFP's leak."""

import numpy as np
import pytest

from labkit import datasets
from labkit.errors import InsecureParameters
from labkit.mpc import attacks, views


@pytest.fixture(scope="module")
def digit_views():
    ds = datasets.load("digits")
    return views.party_views(ds.X_test[:200]).value, ds.y_test[:200]


def test_shares_look_uniform_and_the_plain_encoding_does_not(digit_views):
    v, _ = digit_views
    r = views.share_statistics(v)
    m = r.metrics
    n = v["secret"].size
    for p in range(2):
        assert m[f"bit_bias_max_{p}"] < 3.0 / np.sqrt(n)  # ~6 standard deviations of a fair coin
        assert m[f"chi2_pvalue_{p}"] > 1e-4
        assert abs(m[f"corr_{p}"]) < 0.05
        assert m[f"ks_pvalue_{p}"] > 1e-4  # shares of the digits ~ shares of zeros
    assert m["bit_bias_max_plain"] > 0.4 and m["chi2_pvalue_plain"] < 1e-10  # the tests do detect structure
    assert m["reconstruction_error"] <= 2**-16


def test_a_curious_party_cannot_learn_labels_from_shares(digit_views):
    v, y = digit_views
    out = views.guess_from_shares(v, y, rng=0).metrics
    assert out["accuracy_plain"] > 0.8
    assert out["accuracy_shares"] < 0.3  # chance is about 0.1


def test_tfp_model_owner_reads_the_inputs_and_ttp_does_not():
    X = datasets.load("digits").X_test[:4]
    out = attacks.curious_model_owner(X, provider="TFP", allow_insecure=True)
    guess, r = out.value, out.result
    assert r.metrics["exact_fraction"] == 1.0
    np.testing.assert_allclose(guess, X, atol=1e-3)
    assert r.insecure
    r = attacks.curious_model_owner(X, provider="TTP").result
    assert r.metrics["exact_fraction"] < 0.05
    assert abs(r.metrics["correlation"]) < 0.3
    with pytest.raises(InsecureParameters):
        attacks.curious_model_owner(X, provider="TFP")


def test_reconstruct_needs_every_share(digit_views):
    v, _ = digit_views
    secret = v["secret"]
    assert np.abs(views.reconstruct(v["real"]) - secret).max() <= 2**-16
    assert np.abs(views.reconstruct(v["real"][:1]) - secret).max() > 1e6
