"""Secure aggregation: the server learns the sum of the client updates and nothing else.

:class:`SecureAggregator` is the interface the federated simulation calls. A
backend receives each client's flat update, runs its protocol (CKKS encryption
and homomorphic addition in ``labkit.he``, additive secret sharing in
``labkit.mpc``), and hands the server only the sum. :class:`PlainSum` is the
reference backend used until those exist and in tests: it adds the vectors in
the clear, so it shows what the server may see without protecting it. Results
that use it are flagged "not for production".

A backend reports what it cost (``last_stats``: bytes, seconds) so the lab can
measure what secure aggregation adds against the plain mean.

References
----------
Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving Machine
Learning", CCS 2017.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import InvalidInput


class SecureAggregator:
    """Interface: ``sum(updates) -> np.ndarray``, the only thing the server gets.

    Subclasses implement :meth:`_sum` and set ``name``; ``simulated = True``
    marks a backend that protects nothing (the Result is then flagged).
    """

    name = "abstract"
    simulated = False

    def __init__(self) -> None:
        self.last_stats: dict[str, Any] = {}

    def sum(self, updates: Sequence[np.ndarray]) -> np.ndarray:
        """Validate the client vectors, run the protocol, return their sum (float64)."""
        if len(updates) == 0:
            raise InvalidInput("secure aggregation needs at least one client update.")
        vectors = [np.asarray(u, dtype=np.float64) for u in updates]
        lengths = {v.shape for v in vectors}
        if len(lengths) != 1 or vectors[0].ndim != 1:
            raise InvalidInput(f"client updates must be 1-D vectors of one length, got shapes {sorted(lengths)}.")
        if not all(np.all(np.isfinite(v)) for v in vectors):
            raise InvalidInput("a client update holds NaN or infinity; it cannot be aggregated.")
        start = time.perf_counter()
        total = np.asarray(self._sum(vectors), dtype=np.float64)
        self.last_stats = {"clients": len(vectors), "length": len(vectors[0]),
                           "seconds": time.perf_counter() - start, **self._stats(vectors)}  # fmt: skip
        if total.shape != vectors[0].shape:
            raise InvalidInput(f"backend {self.name!r} returned shape {total.shape}, expected {vectors[0].shape}.")
        return total

    def _sum(self, vectors: list[np.ndarray]) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def _stats(self, vectors: list[np.ndarray]) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class PlainSum(SecureAggregator):
    """Reference backend: the sum in the clear (what the server would see, unprotected).

    >>> PlainSum().sum([np.array([1.0, 2.0]), np.array([3.0, 4.0])])
    array([4., 6.])
    """

    name = "plain_sum"
    simulated = True

    def _sum(self, vectors: list[np.ndarray]) -> np.ndarray:
        return np.sum(vectors, axis=0)

    def _stats(self, vectors: list[np.ndarray]) -> dict[str, Any]:
        return {"bytes_to_server": sum(v.nbytes for v in vectors)}
