"""The small network the DP lab trains, and the loops around it (torch, imported by callers).

A one-hidden-layer perceptron with tanh activation: bounded activations keep
clipped gradients informative under DP-SGD (Papernot et al. 2021), and the
network is small enough that a whole sweep runs in minutes on two cores.

References
----------
Papernot et al., "Tempered sigmoid activations for deep learning with differential privacy", AAAI 2021.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import torch
from torch import nn


@contextmanager
def single_thread():
    """Run torch on one thread: for a network this small, more threads only add contention."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def mlp(n_features: int, n_classes: int, hidden: int) -> nn.Module:
    """``Linear -> tanh -> Linear``, a module Opacus can wrap as it is."""
    return nn.Sequential(nn.Linear(n_features, hidden), nn.Tanh(), nn.Linear(hidden, n_classes))


def tensors(X: np.ndarray, y: np.ndarray) -> torch.utils.data.TensorDataset:
    """Features and labels as a torch ``TensorDataset`` (sharing memory with the arrays)."""
    return torch.utils.data.TensorDataset(torch.from_numpy(np.ascontiguousarray(X)), torch.from_numpy(y))


def train_epoch(model: nn.Module, loader, optimizer) -> int:
    """One pass over ``loader``; returns the number of optimizer steps taken.

    An empty Poisson batch still takes a step (with a zero loss), so a DP
    optimizer adds its noise and the accountant counts it, as the analysis assumes.
    """
    model.train()
    loss_fn = nn.CrossEntropyLoss()
    steps = 0
    for xb, yb in loader:
        optimizer.zero_grad(set_to_none=True)
        out = model(xb)
        loss = loss_fn(out, yb) if len(yb) else out.sum() * 0.0
        loss.backward()
        optimizer.step()
        steps += 1
    return steps


@torch.no_grad()
def per_example_loss(model: nn.Module, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cross-entropy of each example, in float64 (the membership attacks' raw signal)."""
    model.eval()
    logits = model(torch.from_numpy(np.ascontiguousarray(X))).double()
    return nn.functional.cross_entropy(logits, torch.from_numpy(y), reduction="none").numpy()


@torch.no_grad()
def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of examples whose most likely class is their label."""
    model.eval()
    pred = model(torch.from_numpy(np.ascontiguousarray(X))).argmax(dim=1).numpy()
    return float(np.mean(pred == y))


def train_plain(
    model: nn.Module, X: np.ndarray, y: np.ndarray, *, epochs: int, batch_size: int, lr: float
) -> nn.Module:
    """Non-private SGD, used for the attacker's reference models."""
    loader = torch.utils.data.DataLoader(tensors(X, y), batch_size=batch_size, shuffle=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for _ in range(epochs):
        train_epoch(model, loader, optimizer)
    return model
