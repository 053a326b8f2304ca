"""The enclave's workload model: a small digits MLP trained on the spot with scikit-learn.

Training takes well under a second on the bundled digits data; the weights are
exported to a numpy ``.npz`` (the form the enclave receives, encrypted) and the
same forward pass is used as the plaintext baseline, so overhead compares like
with like.

References
----------
Pedregosa et al., "Scikit-learn: Machine Learning in Python", JMLR 12 (2011).
"""

from __future__ import annotations

import io
import warnings
from functools import lru_cache

import numpy as np

from .. import config, datasets
from ..errors import InvalidInput


@lru_cache(maxsize=4)
def _train(hidden: int, max_iter: int, seed: int) -> tuple[dict, float]:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    ds = datasets.load("digits")
    clf = MLPClassifier(hidden_layer_sizes=(hidden,), max_iter=max_iter, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(ds.X_train / 16.0, ds.y_train)
    params = {"W1": clf.coefs_[0], "b1": clf.intercepts_[0], "W2": clf.coefs_[1], "b2": clf.intercepts_[1]}
    return params, float(clf.score(ds.X_test / 16.0, ds.y_test))


def digits_model(*, hidden: int = 32, seed: int | None = None) -> tuple[dict, float]:
    """Train (once per process) the digits MLP; returns (params, test accuracy).

    >>> params, acc = digits_model()
    >>> params["W1"].shape, acc > 0.85
    ((64, 32), True)
    """
    return _train(int(hidden), config.pick(300, 150), config.seed() if seed is None else int(seed))


def widen(params: dict, hidden: int, *, seed: int = 0) -> dict:
    """Pad the hidden layer to ``hidden`` units whose outgoing weights are zero.

    The predictions are unchanged (the extra units feed nothing) while the work
    per image grows, so the benchmarks can vary compute per byte crossing the
    enclave boundary without retraining.

    >>> p, _ = digits_model()
    >>> X, _ = test_levels(20)
    >>> bool((plaintext_predict(widen(p, 256), X) == plaintext_predict(p, X)).all())
    True
    """
    h = params["W1"].shape[1]
    if not isinstance(hidden, int) or hidden < h:
        raise InvalidInput(f"hidden must be an integer of at least {h} (the trained width), not {hidden!r}.")
    rng = np.random.default_rng(seed)
    extra = hidden - h
    return {
        "W1": np.hstack([params["W1"], rng.normal(0, 0.1, (params["W1"].shape[0], extra))]),
        "b1": np.concatenate([params["b1"], np.zeros(extra)]),
        "W2": np.vstack([params["W2"], np.zeros((extra, params["W2"].shape[1]))]),
        "b2": params["b2"],
    }


def to_npz(params: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **params)
    return buf.getvalue()


def plaintext_predict(params: dict, levels: np.ndarray) -> np.ndarray:
    """The baseline: the same forward pass as the enclave, in the host, in the clear."""
    x = levels.astype(np.float64) / 16.0
    h = np.maximum(x @ params["W1"] + params["b1"], 0.0)
    return np.argmax(h @ params["W2"] + params["b2"], axis=1)


def test_levels(n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Digits test images as uint8 pixel levels 0..16 (the client's secret inputs) and labels."""
    ds = datasets.load("digits")
    X, y = ds.X_test.astype(np.uint8), ds.y_test
    return (X, y) if n is None else (X[:n], y[:n])
