"""Small trained models for the zk lab: the digits MLP and a breast-cancer logistic regression.

Trained in well under a second on the lab's offline data sets, seeded by the
lab's one convention (``rng``: an int seed, a numpy Generator, or None for
``LABKIT_SEED``), so every run proves the same weights.

>>> m, data = digits_mlp(width=8, steps=5)
>>> data.X_test.shape[1], sum(p.numel() for p in m.parameters())
(64, 610)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import config, datasets, validate


@dataclass(frozen=True)
class Prepared:
    """Scaled features and labels ready for the model."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def _train(
    model: Any, X: np.ndarray, y: np.ndarray, *, steps: int, lr: float, seed: int, optimizer: str = "Adam"
) -> Any:
    """Full-batch cross-entropy steps with ``torch.optim.<optimizer>``; returns the model in eval mode."""
    import torch

    torch.manual_seed(seed)
    xt, yt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)
    opt = getattr(torch.optim, optimizer)(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xt), yt).backward()
        opt.step()
    return model.eval()


def digits_mlp(
    *, width: int = 32, steps: int = 150, rng: int | np.random.Generator | None = None
) -> tuple[Any, Prepared]:
    """A 64-``width``-10 ReLU MLP trained on the digits (pixels scaled to [0, 1]).

    Parameters
    ----------
    width : int
        Hidden units (1 to 1024).
    steps : int
        Full-batch Adam steps.
    rng : int, numpy Generator or None
        Seeds torch's initialisation; None: ``LABKIT_SEED``.

    Returns
    -------
    (torch.nn.Sequential, Prepared)
        The trained model in eval mode, and the scaled data.
    """
    import torch

    width = validate.integer("width", width, low=1, high=1024)
    seed = config.seed_from(rng)
    ds = datasets.load("digits")
    data = Prepared(ds.X_train / 16.0, ds.y_train, ds.X_test / 16.0, ds.y_test)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, width), torch.nn.ReLU(), torch.nn.Linear(width, 10))
    return _train(model, data.X_train, data.y_train, steps=steps, lr=0.02, seed=seed), data


def cancer_logreg(*, steps: int = 200, rng: int | np.random.Generator | None = None) -> tuple[Any, Prepared]:
    """A logistic regression (30 -> 2) on the breast-cancer set, features standardised on the training split.

    ``rng`` seeds torch's initialisation (None: ``LABKIT_SEED``).
    """
    import torch

    seed = config.seed_from(rng)
    ds = datasets.load("breast_cancer")
    mean, std = ds.X_train.mean(axis=0), ds.X_train.std(axis=0) + 1e-9
    # Clip to +-4 standard deviations: the circuit's fixed-point range is calibrated for it.
    data = Prepared(
        np.clip((ds.X_train - mean) / std, -4, 4), ds.y_train, np.clip((ds.X_test - mean) / std, -4, 4), ds.y_test
    )
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(30, 2))
    return _train(model, data.X_train, data.y_train, steps=steps, lr=0.05, seed=seed), data


def accuracy(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    """Plaintext accuracy of ``model`` on (X, y)."""
    import torch

    with torch.no_grad():
        pred = model(torch.as_tensor(X, dtype=torch.float32)).argmax(dim=1).numpy()
    return float(np.mean(pred == y))


def client_update(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    *,
    steps: int = 5,
    lr: float = 0.1,
    rng: int | np.random.Generator | None = None,
) -> np.ndarray:
    """A federated client's update: local SGD steps on (X, y) from ``model``'s weights, as a flat
    vector ``w_local - w_global`` (the global model is left unchanged).

    ``rng`` seeds torch (None: ``LABKIT_SEED``).
    """
    import copy

    import torch

    seed = config.seed_from(rng)
    local = copy.deepcopy(model).train()
    before = torch.cat([p.detach().flatten() for p in local.parameters()])
    _train(local, X, y, steps=steps, lr=lr, seed=seed, optimizer="SGD")
    after = torch.cat([p.detach().flatten() for p in local.parameters()])
    return (after - before).numpy().astype(np.float64)
