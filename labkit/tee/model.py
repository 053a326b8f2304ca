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

from .. import config, datasets, validate
from ..results import Outcome, Result


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


def digits_model(
    *, hidden: int = 32, max_iter: int = 300, rng: int | np.random.Generator | None = None
) -> Outcome[dict]:
    """Train (once per process and setting) the digits MLP.

    Parameters
    ----------
    hidden : int
        Hidden units.
    max_iter : int
        Training iterations (scikit-learn's ``max_iter``; :func:`labkit.tee.deploy` uses 150 in fast mode).
    rng : int, Generator or None
        Seed of the initial weights (None: ``LABKIT_SEED``).

    Returns
    -------
    Outcome
        ``value``: the weights ``{"W1", "b1", "W2", "b2"}``; ``result``: ``metrics["accuracy"]`` on the test set.

    >>> out = digits_model()
    >>> out.value["W1"].shape, out.result.metrics["accuracy"] > 0.85
    ((64, 32), True)
    """
    hidden = validate.integer("hidden", hidden)
    max_iter = validate.integer("max_iter", max_iter)
    seed = config.seed_from(rng)
    params, accuracy = _train(hidden, max_iter, seed)
    res = Result("tee", "digits_model", params={"hidden": hidden, "max_iter": max_iter, "seed": seed})
    res.metrics["accuracy"] = accuracy
    return Outcome(params, res)


def widen(params: dict, hidden: int, *, rng: int | np.random.Generator | None = None) -> dict:
    """Pad the hidden layer to ``hidden`` units whose outgoing weights are zero.

    The predictions are unchanged (the extra units feed nothing) while the work
    per image grows, so the benchmarks can vary compute per byte crossing the
    enclave boundary without retraining. ``rng`` draws the padding's incoming
    weights (None: ``LABKIT_SEED``).

    >>> p = digits_model().value
    >>> X, _ = test_levels(20)
    >>> bool((plaintext_predict(widen(p, 256), X) == plaintext_predict(p, X)).all())
    True
    """
    h = params["W1"].shape[1]
    hidden = validate.integer(f"hidden (at least the trained width {h})", hidden, low=h)
    gen = config.rng(rng)
    extra = hidden - h
    return {
        "W1": np.hstack([params["W1"], gen.normal(0, 0.1, (params["W1"].shape[0], extra))]),
        "b1": np.concatenate([params["b1"], np.zeros(extra)]),
        "W2": np.vstack([params["W2"], np.zeros((extra, params["W2"].shape[1]))]),
        "b2": params["b2"],
    }


def to_npz(params: dict) -> bytes:
    """The weights as ``.npz`` bytes: the form the model owner encrypts and the enclave loads."""
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
