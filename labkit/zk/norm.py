"""A proof that a private federated update has norm within a public bound.

A federated-learning client sends an update vector ``u``. Poisoned updates are
often large; a server that caps ``||u||_2 <= B`` limits what one client can
do (Sun et al., 2019). With secure aggregation the server never sees ``u``,
so it cannot measure the norm itself. Here the client proves it instead: the
circuit computes ``excess = relu(sum(u**2) - B**2)`` in fixed point, with

- ``u`` private (optionally exposed only as a Poseidon hash, a commitment the
  aggregation step can be tied to),
- ``B`` a constant of the circuit, so the verifying key pins it (the server
  builds the circuit, so the bound is public),
- ``excess`` public: the server accepts when it is zero (up to the
  fixed-point tolerance) and the proof verifies.

A client with a large update can still make a valid proof, but it states a
positive excess; to state zero it would have to break the SNARK.

References
----------
Sun, Kairouz, Suresh, McMahan, "Can you really backdoor federated learning?",
arXiv:1911.07963 (2019): norm bounding as a defence.
Bonawitz et al., "Practical secure aggregation for privacy-preserving machine
learning", CCS 2017.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from .. import validate
from ..errors import InvalidInput
from .model import Proof, ZKModel, as_array


def norm_module(bound: float):
    """The torch module behind the proof: ``relu(sum(u**2) - bound**2)``."""
    import torch

    class NormBound(torch.nn.Module):
        """excess = relu(sum(u * u) - bound**2), one value per row."""

        def __init__(self, bound_squared: float):
            super().__init__()
            self.bound_squared = float(bound_squared)

        def forward(self, u):
            return torch.relu((u * u).sum(dim=-1, keepdim=True) - self.bound_squared)

    return NormBound(float(bound) * float(bound))


class UpdateNormProver:
    """Prove and check ``||u||_2 <= bound`` for private update vectors of length ``dim``.

    Parameters
    ----------
    dim : int
        Length of the update vector.
    bound : float
        The public L2 bound.
    max_abs : float
        Largest |u_i| the circuit is calibrated for (updates are rejected
        above it before any proving).
    commit : bool
        Expose a Poseidon hash of the update (default) or nothing at all.
    scale : int
        Fixed-point scale: keep ``2**-scale`` well below ``bound / sqrt(dim)``.
    srs_path, cache
        As for :class:`~labkit.zk.ZKModel`.
    """

    def __init__(
        self,
        *,
        dim: int,
        bound: float,
        max_abs: float = 1.0,
        commit: bool = True,
        scale: int | None = 8,
        srs_path: str | os.PathLike | None = None,
        cache: bool = True,
    ):
        self.dim = validate.integer("dim", dim, low=1, high=4096)
        self.bound, self.max_abs = validate.positive("bound", bound), validate.positive("max_abs", max_abs)
        edge = np.linspace(-self.max_abs, self.max_abs, dim)[None]  # calibration: the extremes the circuit must hold
        calibration = np.stack([edge, np.full((1, dim), self.max_abs), np.zeros((1, dim))])
        visibility = {"input": "hashed" if commit else "private", "params": "public", "output": "public"}
        self.zk = ZKModel(
            norm_module(self.bound),
            calibration[1],
            visibility=visibility,
            scale=scale,
            calibration=calibration,
            srs_path=srs_path,
            cache=cache,
        )

    @property
    def tolerance(self) -> float:
        """Largest stated excess still accepted: the fixed-point rounding of the squares.

        Rounding each ``u_i`` to the grid ``2**-scale`` moves ``sum(u**2)`` by at
        most about ``2**-scale * sum|u_i| <= 2**-scale * sqrt(dim) * bound`` near
        the bound, plus a grid step or two for the output itself.
        """
        return 2.0 ** (-self.zk.circuit.input_scale) * (2.0 + math.sqrt(self.dim) * self.bound)

    def _vector(self, update: Any) -> np.ndarray:
        u = as_array(update, "update").reshape(-1)
        if u.size != self.dim:
            raise InvalidInput(f"update has {u.size} values; this prover takes vectors of length {self.dim}.")
        if np.max(np.abs(u)) > self.max_abs:
            raise InvalidInput(
                f"update values reach {np.max(np.abs(u)):.3g}, above max_abs={self.max_abs}: "
                "build the prover with a larger max_abs."
            )
        return u[None]

    def prove(self, update: Any) -> Proof:
        """A proof stating the excess of ``||update||^2`` over ``bound^2`` (zero when within)."""
        return self.zk.prove(self._vector(update))

    def excess(self, proof: Proof) -> float:
        """The excess the proof states (decoded from its public output)."""
        return float(self.zk.claimed_output(proof)[0])

    def commitment(self, proof: Proof) -> str | None:
        """The Poseidon hash of the update the proof states (None without ``commit``)."""
        return self.zk.claimed_input_hash(proof)

    def verify(self, proof: Proof, *, commitment: str | None = None) -> bool:
        """Accept: the proof verifies, states an excess within tolerance (and the given commitment)."""
        if not self.zk.verify(proof):
            return False
        try:
            if commitment is not None and self.commitment(proof) != commitment:
                return False
            return self.excess(proof) <= self.tolerance
        except Exception:  # a malformed proof is an invalid proof
            return False

    def screen(self, proofs: list[Proof], *, commitments: list[str] | None = None) -> list[bool]:
        """Accept or reject each client's proof (a federated round's gate); never raises on a bad proof."""
        if commitments is not None and len(commitments) != len(proofs):
            raise InvalidInput(f"{len(proofs)} proofs but {len(commitments)} commitments; give one per proof.")
        wanted = commitments if commitments is not None else [None] * len(proofs)
        return [self.verify(p, commitment=c) if isinstance(p, Proof) else False for p, c in zip(proofs, wanted)]
