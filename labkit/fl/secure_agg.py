"""Secure aggregation: the server learns the sum of the client updates and nothing else.

:class:`SecureAggregator` is the interface the federated simulation calls. A
backend receives each client's flat update, runs its protocol (CKKS encryption
and homomorphic addition in ``labkit.he``, additive secret sharing in
``labkit.mpc``), and hands the server only the sum. :class:`PlainSum` is the
reference backend used in tests: it adds the vectors in the clear, so it shows
what the server may see without protecting it. Results that use it are flagged
"not for production". :class:`CKKSSum` (labkit.he) and :class:`MPCSum`
(labkit.mpc) are the real backends.

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


def check_updates(updates: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The client updates as float64 vectors of one length, or InvalidInput saying what is wrong."""
    if len(updates) == 0:
        raise InvalidInput("secure aggregation needs at least one client update.")
    vectors = [np.asarray(u, dtype=np.float64) for u in updates]
    lengths = {v.shape for v in vectors}
    if len(lengths) != 1 or vectors[0].ndim != 1:
        raise InvalidInput(f"client updates must be 1-D vectors of one length, got shapes {sorted(lengths)}.")
    if not all(np.all(np.isfinite(v)) for v in vectors):
        raise InvalidInput("a client update holds NaN or infinity; it cannot be aggregated.")
    return vectors


class SecureAggregator:
    """Interface: ``sum(updates) -> np.ndarray``, the only thing the server gets.

    Subclasses implement :meth:`_sum` and set ``name``; ``simulated = True``
    marks a backend that protects nothing (the Result is then flagged).
    """

    name = "abstract"
    simulated = False
    timing_repeat: int | None = None  # how often a lab may time it (None: the lab's default)

    def __init__(self) -> None:
        self.last_stats: dict[str, Any] = {}

    def sum(self, updates: Sequence[np.ndarray]) -> np.ndarray:
        """Validate the client vectors, run the protocol, return their sum (float64)."""
        vectors = check_updates(updates)
        start = time.perf_counter()
        total = np.asarray(self._sum(vectors), dtype=np.float64)
        self.last_stats = {
            "clients": len(vectors),
            "length": len(vectors[0]),
            "seconds": time.perf_counter() - start,
            **self._stats(vectors),
        }
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


class CKKSSum(SecureAggregator):
    """Secure aggregation by CKKS homomorphic encryption (through :mod:`labkit.he`).

    Every client encrypts its update, in chunks of ``slots`` values, under one
    CKKS public key; the server adds the ciphertexts without being able to read
    them; only the total is decrypted. This is the practitioner guide's "apply
    HE to the aggregation step". It is a single-key simulation: one context holds
    the secret key, standing in for the key holder (in production a threshold or
    multi-key scheme, so that no single party can decrypt one client's update, or an attested enclave:
    :class:`labkit.tee.aggregation.KeyHolderEnclave`).
    ``last_stats`` reports ciphertext bytes sent to the server and the largest
    CKKS error is bounded by the scheme's precision (about 1e-6 here).

    Parameters
    ----------
    backend : {"seal", "openfhe"}
    preset : str
        A :data:`labkit.he.params.PRESETS` name (default ``ckks-8192``: N = 8192,
        4096 slots, 128-bit security by the HE Standard tables).

    References
    ----------
    Cheon, Kim, Kim & Song, "Homomorphic Encryption for Arithmetic of
    Approximate Numbers", ASIACRYPT 2017 (CKKS).
    """

    name = "ckks_sum"

    def __init__(self, backend: str = "seal", preset: str = "ckks-8192"):
        super().__init__()
        from .. import he

        self.ctx = he.context(backend, preset=preset)
        self.name = f"ckks_sum[{backend}]"

    @property
    def insecure(self) -> bool:
        """True when the CKKS parameters are below the 128-bit security level (a teaching preset)."""
        return self.ctx.insecure

    def _sum(self, vectors: list[np.ndarray]) -> np.ndarray:
        return np.concatenate([ct.decrypt() for ct in self._encrypted_sum(vectors)])

    def encrypted_sum(self, updates: Sequence[np.ndarray]) -> list[Any]:
        """What the server computes: each client's update encrypted (chunks of ``slots`` values), then the
        ciphertexts added chunk by chunk. Returns the summed ciphertexts, still encrypted (for a key holder
        outside the server, e.g. :class:`labkit.tee.aggregation.KeyHolderEnclave`)."""
        return self._encrypted_sum(check_updates(updates))

    def _encrypted_sum(self, vectors: list[np.ndarray]) -> list[Any]:
        bound = self.ctx.params.max_abs_value
        if max(float(np.max(np.abs(v))) for v in vectors) * len(vectors) >= bound:
            raise InvalidInput(
                f"updates up to {max(float(np.max(np.abs(v))) for v in vectors):.3g} summed over {len(vectors)} "
                f"clients could pass this CKKS context's bound {bound:g}: scale the updates down (e.g. by 1/n)."
            )
        totals, sent = None, 0
        for v in vectors:
            cts = self._encrypt_chunks(v)
            sent += sum(ct.size_bytes for ct in cts)
            totals = cts if totals is None else [a + b for a, b in zip(totals, cts)]
        self._sent = sent
        self.last_stats = {"clients": len(vectors), "length": len(vectors[0]), **self._stats(vectors)}
        return totals

    def _encrypt_chunks(self, v: np.ndarray) -> list[Any]:
        slots = self.ctx.slots
        return [self.ctx.encrypt(v[i : i + slots]) for i in range(0, len(v), slots)]

    # -- the protocol's two sides as separate steps (the capstone sends the bytes over its transport) --------
    def encrypt_update(self, update: np.ndarray, *, max_clients: int = 64) -> bytes:
        """Client side: ``update`` encrypted (chunks of ``slots`` values) and serialized for the upload.

        Refuses values whose sum over ``max_clients`` clients could pass the CKKS bound (the client
        cannot see the others' updates; the server cannot see any).
        """
        (v,) = check_updates([update])
        bound = self.ctx.params.max_abs_value
        if float(np.max(np.abs(v))) * max_clients >= bound:
            raise InvalidInput(
                f"update values up to {float(np.max(np.abs(v))):.3g} summed over up to {max_clients} "
                f"clients could pass this CKKS context's bound {bound:g}: scale the update down."
            )
        blobs = [ct.serialize() for ct in self._encrypt_chunks(v)]
        return b"".join(len(b).to_bytes(8, "big") + b for b in blobs)

    def add_uploads(self, uploads: Sequence[bytes]) -> list[Any]:
        """Server side: the uploads (from :meth:`encrypt_update`) read back and added; still encrypted.

        Raises TamperDetected when an upload's bytes were changed (each ciphertext carries an HMAC).
        """
        if len(uploads) == 0:
            raise InvalidInput("secure aggregation needs at least one client upload.")
        totals = None
        for data in uploads:
            cts, at = [], 0
            while at < len(data):
                n = int.from_bytes(data[at : at + 8], "big")
                cts.append(self.ctx.deserialize(data[at + 8 : at + 8 + n]))
                at += 8 + n
            if totals is not None and len(cts) != len(totals):
                raise InvalidInput(f"an upload holds {len(cts)} ciphertexts where the others hold {len(totals)}.")
            totals = cts if totals is None else [a + b for a, b in zip(totals, cts)]
        self.last_stats = {"clients": len(uploads), "bytes_to_server": sum(len(u) for u in uploads)}
        return totals

    def _stats(self, vectors: list[np.ndarray]) -> dict[str, Any]:
        return {"bytes_to_server": self._sent, "ciphertexts_per_client": -(-len(vectors[0]) // self.ctx.slots)}

    def __repr__(self) -> str:
        return f"CKKSSum({self.ctx!r})"


class MPCSum(SecureAggregator):
    """Secure aggregation by additive secret sharing among CrypTen parties (through :mod:`labkit.mpc`).

    Each update is split into one random share per aggregation server; the
    servers add their shares and reveal only the total (see
    :func:`labkit.mpc.aggregation.secure_sum`). Private as long as one server
    does not collude. Launches the party processes on every call (seconds).
    """

    name = "mpc_sum"
    timing_repeat = 1  # each call launches the parties: time it once

    def __init__(self, parties: int = 2):
        super().__init__()
        self.parties = parties
        self.last_result = None

    def _sum(self, vectors: list[np.ndarray]) -> np.ndarray:
        from ..mpc.aggregation import secure_sum

        out = secure_sum(vectors, parties=self.parties, repeat=0)
        self.last_result = out.result
        return out.value

    def _stats(self, vectors: list[np.ndarray]) -> dict[str, Any]:
        m = self.last_result.metrics if self.last_result is not None else {}
        return {k: v for k, v in m.items() if "bytes" in k or k == "rounds"}
