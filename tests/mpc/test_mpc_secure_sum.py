"""Secure aggregation: the sum is right, and no party's share says anything about an update."""

import numpy as np
import pytest

from labkit.errors import InvalidInput
from labkit.mpc import aggregation


@pytest.mark.parametrize("parties", [2, 3])
def test_secure_sum_equals_plain_sum(parties):
    rng = np.random.default_rng(0)
    updates = rng.normal(scale=3.0, size=(6, 500))
    out = aggregation.secure_sum(updates, parties=parties, repeat=2)
    total, result = out.value, out.result
    assert total.shape == (500,)
    bound = 6 * 2.0**-16
    np.testing.assert_allclose(total, updates.sum(axis=0), atol=bound)
    assert result.metrics["max_abs_error"] <= result.metrics["error_bound"] == bound
    assert result.metrics["rounds"] == 1  # local additions, one reveal
    assert result.metrics["overhead"] > 1


def test_secure_sum_keeps_the_update_shape():
    updates = [np.ones((2, 3)), 2 * np.ones((2, 3))]
    total = aggregation.secure_sum(updates, repeat=0).value
    np.testing.assert_allclose(total, 3 * np.ones((2, 3)), atol=1e-4)


def test_client_shares_add_up_and_each_looks_random():
    update = np.linspace(-5, 5, 4000)
    shares = aggregation.client_shares(update, 3)
    total = sum(s.numpy().astype(np.uint64) for s in shares).astype(np.int64)  # wraps mod 2**64
    np.testing.assert_allclose(total / 2**16, update, atol=2**-16)
    for s in shares:
        top = (s.numpy().astype(np.uint64) >> np.uint64(56)).astype(np.int64)
        counts = np.bincount(top, minlength=256)
        from scipy.stats import chisquare

        assert chisquare(counts).pvalue > 1e-4  # uniform top byte
        assert abs(np.corrcoef(top, update)[0, 1]) < 0.1


@pytest.mark.parametrize(
    "updates, match",
    [
        ([], "between 1"),
        ([np.ones(3), np.ones(4)], "same shape"),
        ([np.array([np.nan, 1.0])], "NaN"),
        ([np.array([1e12])], "within"),
        ([["a", "b"]], "numeric"),
    ],
)
def test_bad_updates_are_refused(updates, match):
    with pytest.raises(InvalidInput, match=match):
        aggregation.secure_sum(updates)
