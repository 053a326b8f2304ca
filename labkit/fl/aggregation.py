"""Server-side aggregation rules over client updates (flat float vectors).

``mean`` is FedAvg's weighted average. ``median`` (coordinate-wise),
``trimmed_mean`` and ``krum`` are Byzantine-robust rules: they bound what a few
malicious clients can do to the model, at the price of needing every
individual update in the clear (so they cannot run behind secure aggregation,
which shows the server only the sum).

References
----------
McMahan et al., AISTATS 2017 (FedAvg weighted mean).
Yin, Chen, Ramchandran & Bartlett, "Byzantine-Robust Distributed Learning:
Towards Optimal Statistical Rates", ICML 2018 (median, trimmed mean).
Blanchard, El Mhamdi, Guerraoui & Stainer, "Machine Learning with Adversaries:
Byzantine Tolerant Gradient Descent", NeurIPS 2017 (Krum).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InvalidInput

AGGREGATORS = ("mean", "median", "trimmed_mean", "krum")


def flatten(tensors: Sequence[Any]) -> np.ndarray:
    """Concatenate a list of tensors or arrays into one float64 vector.

    >>> flatten([np.ones((2, 2)), np.zeros(3)]).shape
    (7,)
    """
    parts = [
        np.asarray(t.detach().cpu().numpy() if hasattr(t, "detach") else t, dtype=np.float64).ravel() for t in tensors
    ]
    return np.concatenate(parts) if parts else np.zeros(0)


def unflatten(vector: np.ndarray, like: Sequence[Any]) -> list[Any]:
    """Cut a flat vector back into tensors shaped like ``like`` (torch tensors).

    >>> import torch
    >>> [t.shape for t in unflatten(np.arange(7.0), [torch.zeros(2, 2), torch.zeros(3)])]
    [torch.Size([2, 2]), torch.Size([3])]
    """
    import torch

    sizes = [int(np.prod(t.shape)) for t in like]
    if len(vector) != sum(sizes):
        raise InvalidInput(f"a vector of {len(vector)} values cannot fill tensors holding {sum(sizes)}.")
    out, start = [], 0
    for t, n in zip(like, sizes):
        # a copy: the vector may be read-only (np.frombuffer of received bytes), which torch cannot share
        out.append(torch.from_numpy(np.array(vector[start : start + n], dtype=np.float32)).reshape(t.shape))
        start += n
    return out


def _check_updates(updates: Sequence[np.ndarray]) -> np.ndarray:
    if len(updates) == 0:
        raise InvalidInput("no client updates to aggregate: at least one client must send an update.")
    lengths = {len(u) for u in updates}
    if len(lengths) != 1:
        raise InvalidInput(f"client updates have different lengths {sorted(lengths)}; they must share one model.")
    stacked = np.stack([np.asarray(u, dtype=np.float64) for u in updates])
    if not np.all(np.isfinite(stacked)):
        raise InvalidInput("a client update holds NaN or infinity; drop that client or fix its training.")
    return stacked


def krum_scores(updates: Sequence[np.ndarray], n_byzantine: int) -> np.ndarray:
    """Krum score of each update: sum of squared distances to its n - f - 2 nearest others."""
    stacked = _check_updates(updates)
    n = len(stacked)
    d = ((stacked[:, None, :] - stacked[None, :, :]) ** 2).sum(axis=2)
    k = max(1, n - n_byzantine - 2)
    return np.array([np.sort(np.delete(d[i], i))[:k].sum() for i in range(n)])


def aggregate(
    updates: Sequence[np.ndarray],
    *,
    rule: str = "mean",
    weights: Sequence[float] | None = None,
    trim: float = 0.1,
    n_byzantine: int = 1,
) -> np.ndarray:
    """Aggregate flat client updates into one.

    Parameters
    ----------
    updates : sequence of 1-D arrays
        One update per client, all the same length.
    rule : {"mean", "median", "trimmed_mean", "krum"}
    weights : sequence of float, optional
        Per-client weights for ``mean`` (e.g. sample counts); equal by default.
    trim : float
        Fraction cut from each end per coordinate by ``trimmed_mean`` (0 <= trim < 0.5).
    n_byzantine : int
        Number of malicious clients Krum tolerates (needs n > 2f + 2).

    >>> aggregate([np.array([1.0]), np.array([2.0]), np.array([100.0])], rule="median")
    array([2.])
    """
    if rule not in AGGREGATORS:
        raise InvalidInput(f"rule must be one of {AGGREGATORS}, not {rule!r}.")
    stacked = _check_updates(updates)
    n = len(stacked)
    if rule == "mean":
        w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
        if w.shape != (n,) or np.any(w < 0) or w.sum() <= 0:
            raise InvalidInput(f"weights must be {n} non-negative numbers with a positive sum.")
        return (w[:, None] * stacked).sum(axis=0) / w.sum()
    if rule == "median":
        return np.median(stacked, axis=0)
    if rule == "trimmed_mean":
        if not 0 <= trim < 0.5:
            raise InvalidInput(f"trim must be in [0, 0.5), not {trim!r}.")
        from scipy.stats import trim_mean

        return trim_mean(stacked, trim, axis=0)
    if n <= 2 * n_byzantine + 2:
        raise InvalidInput(
            f"Krum with {n_byzantine} Byzantine clients needs more than {2 * n_byzantine + 2} clients, not {n}."
        )
    return stacked[int(np.argmin(krum_scores(stacked, n_byzantine)))].copy()
