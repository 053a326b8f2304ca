"""Reference models for the calibrated membership attack: trained on public data, never on a target example.

The calibrated attack of :mod:`labkit.dp.audit` subtracts, from the target
model's loss on an example, the mean loss of a few reference models that never
saw it ("offline" difficulty calibration). :func:`mean_losses` trains those
models, with the target's architecture and non-private recipe, on the public
pool only, and returns their mean per-example loss on each group of examples
to be audited. Both the DP lab (:func:`labkit.dp.train_private`) and the
assess door (:mod:`labkit.dp.assess`) call it.

References
----------
Watson et al., "On the importance of difficulty calibration in membership inference attacks", ICLR 2022.
Carlini et al., "Membership inference attacks from first principles", IEEE S&P 2022 (offline calibration).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: A reference model trains on batches of at least this many examples, to bound its cost.
REFERENCE_MIN_BATCH = 64


def mean_losses(
    build: Callable[[], Any],
    X_public: np.ndarray,
    y_public: np.ndarray,
    groups: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    n_reference: int,
    seed: int,
    epochs: int,
    batch_size: int,
    lr: float,
) -> tuple[np.ndarray, ...]:
    """Mean per-example loss of ``n_reference`` non-private models trained on the public pool.

    Parameters
    ----------
    build : callable
        Returns a freshly initialised torch module (called after seeding torch with ``seed + 1 + i``).
    X_public, y_public : arrays
        The public pool: no audited example may be in it.
    groups : sequence of (X, y)
        The examples to score (e.g. members, then non-members).
    n_reference : int
        How many reference models.
    seed : int
        Model ``i`` is built and trained after ``torch.manual_seed(seed + 1 + i)``.
    epochs, batch_size, lr : the target's recipe
        SGD with momentum 0.9 (:func:`labkit.dp.models.train_plain`); batches of at least
        :data:`REFERENCE_MIN_BATCH`.

    Returns
    -------
    tuple of numpy arrays
        One read-only float64 array per group: the mean loss over the reference models.
    """
    import torch

    from . import models

    losses: list[list[np.ndarray]] = [[] for _ in groups]
    with torch.random.fork_rng(), models.single_thread():
        for i in range(n_reference):
            torch.manual_seed(seed + 1 + i)
            ref = build()
            models.train_plain(
                ref, X_public, y_public, epochs=epochs, batch_size=max(batch_size, REFERENCE_MIN_BATCH), lr=lr
            )
            for out, (X, y) in zip(losses, groups):
                out.append(models.per_example_loss(ref, X, y))
    means = tuple(np.mean(group, axis=0) for group in losses)
    for a in means:
        a.setflags(write=False)
    return means
