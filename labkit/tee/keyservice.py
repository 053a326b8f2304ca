"""Attested key release and the client's attested session.

A :class:`KeyService` holds model and data keys (the guide's "TEE-backed key
service") and hands one out only to an enclave whose quote its verifier
appraises as trusted, wrapped to the enclave instance's ephemeral hybrid key
(X25519 + ML-KEM-768 -> HKDF -> AES-256-GCM). The wrapped key is useless to the
host, and useless to any later instance: after a restart the enclave holds a new
key pair and must attest again. Every request is audited.

A :class:`Client` (the data owner) does the same before sending inputs: it
attests the enclave, wraps a fresh session key to it, then exchanges AES-GCM
frames with sequence numbers bound as associated data.

References
----------
Birkholz et al., RFC 9334 (RATS architecture): "background-check" model, relying party and verifier.
Barnes et al., RFC 9180 (HPKE): the pattern of sealing to a recipient's KEM public key.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidInput, VerificationFailed
from . import primitives as P
from .verifier import Appraisal, Verifier

MODEL_AAD = b"labkit-tee model"


def encrypt_model(npz: bytes, key: bytes) -> bytes:
    """The model owner encrypts the weights once; the host only ever stores this blob."""
    return P.aead_seal(key, npz, MODEL_AAD)


@dataclass(frozen=True)
class Release:
    """The key service's answer: whether it released, why, and the wrapped key if it did."""

    name: str
    released: bool
    appraisal: Appraisal
    wrapped: bytes | None = None


class KeyService:
    """Releases named keys to enclaves whose attestation passes (see ``lifecycle.deploy``)."""

    def __init__(self, verifier: Verifier, keys: dict[str, bytes] | None = None):
        if not isinstance(verifier, Verifier):
            raise InvalidInput(f"KeyService needs a Verifier, not {type(verifier).__name__}.")
        self.verifier = verifier
        self._keys: dict[str, bytes] = {}
        self.versions: dict[str, int] = {}
        self.audit: list[dict] = []
        for name, key in (keys or {}).items():
            self.add_key(name, key)

    def add_key(self, name: str, key: bytes | None = None) -> bytes:
        """Store a 256-bit key under ``name`` (a fresh random one if not given); returns it."""
        key = os.urandom(32) if key is None else key
        if not isinstance(key, bytes) or len(key) != 32:
            raise InvalidInput("keys must be 32 random bytes (AES-256).")
        self._keys[name] = key
        return key

    def peek(self, name: str) -> bytes:
        """The stored key itself, unwrapped: the lab's window, to check where a key went.

        A real key service has no such door (its keys leave only wrapped to an attested
        enclave); the lab uses it to test whether the host saw a key, and to hand the same
        key to a second key service in the "careless verifier" experiment.
        """
        if name not in self._keys:
            raise InvalidInput(f"no key named {name!r}; known: {sorted(self._keys)}.")
        return self._keys[name]

    def challenge(self) -> bytes:
        """A fresh nonce from the key service's verifier."""
        return self.verifier.challenge()

    def rotate(self, name: str) -> bytes:
        """Replace key ``name`` with a fresh one (the guide's scheduled rotation); returns the new key.

        Data under the old key must be re-encrypted by its owner; enclaves holding the old key keep
        it until they restart, and get the new one only through a fresh attestation.
        """
        if name not in self._keys:
            raise InvalidInput(f"no key named {name!r}; known: {sorted(self._keys)}.")
        self.versions[name] = self.versions.get(name, 1) + 1
        self.audit.append({"time": time.time(), "key": name, "event": "rotated", "version": self.versions[name]})
        return self.add_key(name)

    def release(self, name: str, quote, nonce: bytes) -> Release:
        """Appraise ``quote``; if trusted, wrap key ``name`` to the enclave key the quote binds."""
        if name not in self._keys:
            raise InvalidInput(f"no key named {name!r}; known: {sorted(self._keys)}.")
        appraisal = self.verifier.appraise(quote, nonce)
        wrapped = None
        if appraisal.passed:
            recipient = P.HybridPublicKey.from_bytes(bytes.fromhex(appraisal_quote_key(quote)))
            wrapped = P.wrap(recipient, self._keys[name], b"key:" + name.encode())
        self.audit.append(
            {
                "time": time.time(),
                "key": name,
                "event": "release",
                "version": self.versions.get(name, 1),
                "released": appraisal.passed,
                "reasons": list(appraisal.codes),
                "measurement": appraisal.claims.get("measurement"),
            }
        )
        return Release(name, appraisal.passed, appraisal, wrapped)


def appraisal_quote_key(quote) -> str:
    """The enclave public key (hex) a quote, or its bytes, carries."""
    from .platform import Quote

    return (Quote.from_bytes(quote) if isinstance(quote, (bytes, bytearray)) else quote).enclave_public_key


class Client:
    """A data owner who attests the enclave, then sends encrypted inputs through the host."""

    def __init__(self, verifier: Verifier):
        self.verifier = verifier
        self._session: bytes | None = None
        self._seq = 0
        self.appraisal: Appraisal | None = None

    def connect(self, enclave) -> Appraisal:
        """Attest ``enclave``; on success wrap a fresh session key to it. Raises if untrusted."""
        nonce = self.verifier.challenge()
        self.appraisal = self.verifier.appraise(enclave.quote(nonce), nonce)
        if not self.appraisal.passed:
            raise VerificationFailed(f"client will not send data: {self.appraisal}")
        self._session = os.urandom(32)
        enclave.open_session(P.wrap(enclave.public_key, self._session, b"session"))
        self._seq = 0
        return self.appraisal

    def infer(self, enclave, levels: np.ndarray) -> np.ndarray:
        """Encrypt ``levels`` (n x 64 uint8, 0..16), have the enclave classify them, decrypt labels."""
        if self._session is None:
            raise InvalidInput("connect() to the enclave first (attestation, then session key).")
        levels = np.asarray(levels)
        if levels.ndim != 2 or levels.shape[1] != 64 or levels.min(initial=0) < 0 or levels.max(initial=0) > 16:
            raise InvalidInput("levels must be an (n, 64) array of digit pixel levels 0..16.")
        self._seq += 1
        aad = self._seq.to_bytes(8, "big")
        ct = P.aead_seal(self._session, levels.astype(np.uint8).tobytes(), b"req" + aad)
        reply = enclave.call("infer", seq=self._seq, ciphertext=ct.hex())
        out = P.aead_open(self._session, bytes.fromhex(reply["ciphertext"]), b"resp" + aad, "enclave reply")
        return np.frombuffer(out, dtype=np.uint8).astype(np.int64)
