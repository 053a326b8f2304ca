"""Shared test set-up: fast mode and a throw-away lab home for every test session."""

from __future__ import annotations

import os
import tempfile

import pytest

# Before labkit is imported anywhere: shrunken workloads, and a lab home that
# never touches the user's ~/.labkit.
os.environ["LABKIT_FAST"] = "1"
os.environ.setdefault("LABKIT_HOME", tempfile.mkdtemp(prefix="labkit-test-home-"))


@pytest.fixture(autouse=True)
def _strict_exercises_in_instructor_notebooks(request, monkeypatch):
    """The repository's notebooks (the instructor version) must answer every exercise correctly.

    With LABKIT_EXERCISES_STRICT=1 in the environment the notebook kernels inherit,
    a check that is not correct raises, so the notebook run in tests/test_notebooks.py
    fails (labkit.exercises). The student version's tests run without it.
    """
    if request.module.__name__.rpartition(".")[2] == "test_notebooks":
        monkeypatch.setenv("LABKIT_EXERCISES_STRICT", "1")


def train_iris_mlp(*, hidden: int = 8, epochs: int = 150, lr: float = 0.05, standardize: bool = True, model=None):
    """A torch MLP trained on scikit-learn's iris data: a model from outside the lab, for the assess tests.

    Returns ``(X, y, model)``: the features (standardised unless ``standardize=False``: raw centimetres),
    the labels, and the trained model in eval mode (``model`` replaces the default 4-hidden-3 MLP).
    """
    import numpy as np
    import torch
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)) if standardize else X
    X = X.astype(np.float32)
    torch.manual_seed(0)
    nn = torch.nn
    model = model if model is not None else nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 3))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(epochs):
        opt.zero_grad()
        nn.functional.cross_entropy(model(xt), yt).backward()
        opt.step()
    return X, y, model.eval()


@pytest.fixture(scope="session")
def iris_mlp():
    """:func:`train_iris_mlp` for the tests in any folder (a fixture, since conftest is not importable)."""
    return train_iris_mlp
