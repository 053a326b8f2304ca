"""Plaintext models made for encrypted inference: a logistic regression with a polynomial
sigmoid (breast_cancer) and a small MLP with a square activation (digits).

HE evaluates only additions and multiplications, so the sigmoid is replaced by
a least-squares polynomial over the range of the training scores, and the MLP
is trained with x^2 as its activation (the CryptoNets choice) so no
approximation happens at inference time.

References
----------
Gilad-Bachrach et al., "CryptoNets", ICML 2016 (square activation).
Kim, Song, Kim, Lee & Cheon, "Logistic regression model training based on the
approximate homomorphic encryption", BMC Medical Genomics 2018 (polynomial
sigmoid approximations).
Kingma & Ba, "Adam", ICLR 2015.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .. import config, datasets, validate


@dataclass(frozen=True, eq=False)
class LinearModel:
    """Logistic regression on standardised features, with its polynomial sigmoid."""

    weights: np.ndarray  # (features,)
    bias: float
    mean: np.ndarray
    std: np.ndarray
    sigmoid_poly: np.ndarray  # c0..c3, lowest degree first
    score_range: float
    info: dict = field(default_factory=dict)

    def prepare(self, x: np.ndarray) -> np.ndarray:
        """Standardise raw features as in training."""
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.std

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Linear scores x w + b of raw inputs."""
        return self.prepare(x) @ self.weights + self.bias

    def predict(self, x: np.ndarray, *, polynomial: bool = False) -> np.ndarray:
        """Labels 0/1 from the exact sigmoid (or its polynomial)."""
        s = self.scores(x)
        p = np.polynomial.polynomial.polyval(s, self.sigmoid_poly) if polynomial else 1 / (1 + np.exp(-s))
        return (p > 0.5).astype(int)


@dataclass(frozen=True, eq=False)
class SquareMLP:
    """x -> (x W1 + b1)^2 -> W2 + b2, inputs divided by ``input_scale``."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    input_scale: float
    info: dict = field(default_factory=dict)

    def prepare(self, x: np.ndarray) -> np.ndarray:
        """Scale raw pixel values as in training."""
        return np.asarray(x, dtype=np.float64) / self.input_scale

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Class scores (x W1 + b1)^2 W2 + b2 of raw inputs."""
        h = self.prepare(x) @ self.w1 + self.b1
        return (h * h) @ self.w2 + self.b2

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The class with the largest logit."""
        return np.argmax(self.logits(x), axis=1)


@lru_cache(maxsize=4)
def logistic_regression(c: float = 1.0, degree: int = 3) -> LinearModel:
    """Fit scikit-learn's LogisticRegression on breast_cancer and a sigmoid polynomial for it.

    The odd polynomial 0.5 + c1 s + c3 s^3 (degree 3) is fitted by least squares on
    [-R, R], R the largest training score, so it follows the sigmoid where the data lie.

    References
    ----------
    Kim, Song, Kim, Lee & Cheon, BMC Medical Genomics 2018 (polynomial sigmoid approximations).
    """
    from sklearn.linear_model import LogisticRegression

    ds = datasets.load("breast_cancer")
    mean, std = ds.X_train.mean(axis=0), ds.X_train.std(axis=0) + 1e-12
    xtr = (ds.X_train - mean) / std
    clf = LogisticRegression(C=c, max_iter=2000).fit(xtr, ds.y_train)
    w, b = clf.coef_[0].astype(np.float64), float(clf.intercept_[0])
    radius = float(np.max(np.abs(xtr @ w + b)))
    grid = np.linspace(-radius, radius, 4001)
    odd = [k for k in range(degree + 1) if k == 0 or k % 2 == 1]
    poly = np.polynomial.polynomial.polyfit(grid, 1 / (1 + np.exp(-grid)), odd)
    model = LinearModel(w, b, mean, std, poly, radius)
    acc = {
        "accuracy_sigmoid": float(np.mean(model.predict(ds.X_test) == ds.y_test)),
        "accuracy_polynomial": float(np.mean(model.predict(ds.X_test, polynomial=True) == ds.y_test)),
    }
    return LinearModel(w, b, mean, std, poly, radius, acc)


def square_mlp(
    hidden: int = 32, epochs: int = 300, *, rng: int | np.random.Generator | None = None, lr: float = 0.01
) -> SquareMLP:
    """Train a 64-hidden-10 MLP with x^2 activation on digits (numpy, full-batch Adam).

    The trained weights are cached under ``LABKIT_HOME/cache/he`` (keyed by the
    hyperparameters, the seed and the data set's sha256), so later sessions skip training.

    Parameters
    ----------
    hidden : int
        Width of the hidden layer.
    epochs : int
        Full-batch Adam steps.
    rng : int, numpy Generator or None
        Seed of the initial weights (None: ``LABKIT_SEED``).
    lr : float
        Adam's learning rate.

    References
    ----------
    Gilad-Bachrach et al., "CryptoNets", ICML 2016 (square activation). Kingma & Ba, "Adam", ICLR 2015.
    """
    hidden = validate.integer("hidden", hidden)
    epochs = validate.integer("epochs", epochs)
    lr = validate.positive("lr", lr)
    return _trained_square_mlp(hidden, epochs, config.seed_from(rng), lr)


@lru_cache(maxsize=4)
def _trained_square_mlp(hidden: int, epochs: int, seed: int, lr: float) -> SquareMLP:
    """:func:`square_mlp` for an int seed, memoised in the process and cached on disk."""
    ds = datasets.load("digits")
    scale = 16.0
    tag = f"{hidden}-{epochs}-{seed}-{lr}-{ds.info.get('sha256', '')[:16]}"
    path = config.cache_dir("he") / f"square_mlp-{hashlib.sha256(tag.encode()).hexdigest()[:16]}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as f:
                return _finish(SquareMLP(f["w1"], f["b1"], f["w2"], f["b2"], scale), ds)
        except (OSError, ValueError, KeyError):
            path.unlink(missing_ok=True)  # unreadable cache: retrain
    x, y = ds.X_train / scale, ds.y_train
    rng = np.random.default_rng(seed)
    n_in, n_out = x.shape[1], ds.n_classes
    params = {
        "w1": rng.normal(0, 1 / np.sqrt(n_in), (n_in, hidden)),
        "b1": np.zeros(hidden),
        "w2": rng.normal(0, 1 / np.sqrt(hidden), (hidden, n_out)) * 0.1,
        "b2": np.zeros(n_out),
    }
    onehot = np.eye(n_out)[y]
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):  # tiny matrices: threads only contend
        _adam(params, x, onehot, epochs, lr)
    model = SquareMLP(params["w1"], params["b1"], params["w2"], params["b2"], scale)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, **params)
    tmp.replace(path)
    return _finish(model, ds)


def _adam(params: dict, x: np.ndarray, onehot: np.ndarray, epochs: int, lr: float) -> None:
    """Full-batch Adam on softmax cross-entropy (plus a small L2 term), in place."""
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    for t in range(1, epochs + 1):
        h = x @ params["w1"] + params["b1"]
        a = h * h
        z = a @ params["w2"] + params["b2"]
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        dz = (p - onehot) / len(x)
        da = dz @ params["w2"].T
        dh = da * 2 * h
        grads = {
            "w2": a.T @ dz + 1e-4 * params["w2"],
            "b2": dz.sum(0),
            "w1": x.T @ dh + 1e-4 * params["w1"],
            "b1": dh.sum(0),
        }
        for k, g in grads.items():
            m[k] = 0.9 * m[k] + 0.1 * g
            v[k] = 0.999 * v[k] + 0.001 * g * g
            params[k] -= lr * (m[k] / (1 - 0.9**t)) / (np.sqrt(v[k] / (1 - 0.999**t)) + 1e-8)


def _finish(model: SquareMLP, ds) -> SquareMLP:
    info = {
        "accuracy": float(np.mean(model.predict(ds.X_test) == ds.y_test)),
        "max_abs_hidden": float(np.max(np.abs(model.prepare(ds.X) @ model.w1 + model.b1))),
        "max_abs_logit": float(np.max(np.abs(model.logits(ds.X)))),
    }
    return SquareMLP(model.w1, model.b1, model.w2, model.b2, model.input_scale, info)
