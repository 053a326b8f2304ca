"""The zk lab's small models follow the one seed convention: rng=None is LABKIT_SEED, an int or a Generator."""

from __future__ import annotations

import numpy as np
import pytest

from labkit import config
from labkit.errors import InvalidInput
from labkit.zk.models import cancer_logreg, client_update, digits_mlp


def _weights(model) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def test_rng_none_is_labkit_seed(monkeypatch):
    monkeypatch.setenv("LABKIT_SEED", "77")
    a, _ = digits_mlp(width=4, steps=2)
    b, _ = digits_mlp(width=4, steps=2, rng=77)
    c, _ = digits_mlp(width=4, steps=2, rng=78)
    assert np.array_equal(_weights(a), _weights(b)) and not np.array_equal(_weights(a), _weights(c))


def test_a_generator_seeds_too():
    a, _ = cancer_logreg(steps=2, rng=np.random.default_rng(5))
    b, _ = cancer_logreg(steps=2, rng=np.random.default_rng(5))
    assert np.array_equal(_weights(a), _weights(b))


def test_client_update_is_reproducible():
    model, data = cancer_logreg(steps=2, rng=config.seed())
    u1 = client_update(model, data.X_train[:20], data.y_train[:20], steps=2, rng=3)
    u2 = client_update(model, data.X_train[:20], data.y_train[:20], steps=2, rng=3)
    assert u1.shape == (62,) and np.array_equal(u1, u2)


@pytest.mark.parametrize("kwargs, match", [({"width": 0}, "width"), ({"width": 2.5}, "width"), ({"rng": "x"}, "rng")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(InvalidInput, match=match):
        digits_mlp(steps=1, **kwargs)
