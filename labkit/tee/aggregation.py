"""The key holder of secure aggregation as an attested enclave.

CKKS secure aggregation (:class:`labkit.fl.CKKSSum`) lets the server add
encrypted updates without reading them, but someone holds the secret key that
decrypts the sum, and whoever holds it could decrypt one client's update just
as well. :class:`KeyHolderEnclave` puts that key in an enclave and nowhere else
on the server's side:

1. the key owner (who made the CKKS keys) seals the secret key under a 256-bit
   "aggregation" key kept by a :class:`~labkit.tee.KeyService`; the host stores
   only that blob;
2. the enclave attests; the key service releases the aggregation key only to an
   instance running the audited workload (measurement, signer, version, TCB);
3. the enclave opens the blob and from then on decrypts, on request, only a
   sum the host says holds at least ``min_clients`` updates, and at most
   ``rounds`` sums in all: each decryption must come with a fresh increment of
   the platform's monotonic counter, so restarting the enclave does not
   reset the count.

What the enclave's policy cannot see: whether a ciphertext really is a sum of
that many honest clients. Against an honest-but-curious server (the capstone's
threat model) that is enough; against a malicious one the budget bounds how
many ciphertexts it can have decrypted, and client signatures on the
ciphertexts (Bonawitz et al. 2017) would close the gap.

References
----------
Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving Machine Learning", CCS 2017.
Birkholz et al., RFC 9334 (RATS architecture): key release after appraisal ("background check").
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import validate
from ..errors import InvalidInput, VerificationFailed
from . import primitives as P
from .enclave import Enclave
from .image import EnclaveImage
from .keyservice import KeyService, Release
from .platform import Platform
from .verifier import Policy, Verifier

HE_KEY_AAD = b"labkit-tee he key"
KEY_NAME = "aggregation"
COUNTER = "decryptions"  # the platform's monotonic counter that counts every decryption


def seal_he_key(ctx: Any, key: bytes) -> bytes:
    """The key owner's step: the CKKS context's parameters and secret key, sealed under ``key`` (AES-256-GCM)."""
    if getattr(ctx, "backend", None) != "seal" or getattr(ctx, "scheme", None) != "ckks":
        raise InvalidInput("the key-holder enclave decrypts SEAL CKKS sums: use labkit.he.context('seal', ...).")
    params = {
        "poly_modulus_degree": ctx.params.poly_modulus_degree,
        "coeff_mod_bit_sizes": list(ctx.params.coeff_mod_bit_sizes),
    }
    body = json.dumps({"params": params, "secret_key": ctx.impl.secret_key_bytes().hex()}).encode()
    return P.aead_seal(key, body, HE_KEY_AAD)


class KeyHolderEnclave:
    """An attested enclave holding the CKKS secret key; it decrypts only sums of enough clients.

    Parameters
    ----------
    ctx : labkit.he.HEContext
        The SEAL CKKS context the clients encrypt under (e.g. ``CKKSSum().ctx``).
    min_clients : int
        The fewest updates a sum must hold for the enclave to decrypt it (measured config).
    rounds : int
        Decryptions allowed in all, counted by the platform's monotonic counter (restarts do not reset it).
    scheme : {"ecdsa-p256", "ml-dsa-65"}
        Signature scheme of the simulated vendor chain and quotes.
    code : str, optional
        Run this workload instead of the audited one, signed by the same vendor (for the attack
        that deploys a key-leaking build: its measurement differs, so no key is released).

    Attributes
    ----------
    release : Release
        The key service's answer (with the appraisal), for inspection.
    timings : dict
        Seconds for launch, attestation + key release, and loading the key.
    """

    def __init__(
        self, ctx: Any, *, min_clients: int = 2, rounds: int = 1000, scheme: str = "ecdsa-p256", code: str | None = None
    ):
        min_clients = validate.integer("min_clients", min_clients)
        rounds = validate.integer("rounds", rounds)
        self.min_clients = min_clients
        self.platform = Platform(scheme=scheme)
        vendor = P.generate_signing_key(scheme)
        config = {"query_budget": rounds, "min_clients": min_clients}
        audited = EnclaveImage.build(vendor, config=config)
        image = audited if code is None else EnclaveImage.build(vendor, code=code, config=config)
        policy = Policy.for_image(
            audited, trusted_roots=[self.platform.root_certificate], min_platform_tcb=self.platform.tcb
        )
        self.key_service = KeyService(Verifier(policy))
        self.key_blob = seal_he_key(ctx, self.key_service.add_key(KEY_NAME))  # what the host stores
        self.slots = ctx.slots
        self.timings: dict[str, float] = {}
        start = time.perf_counter()
        self.enclave = Enclave(image, platform=self.platform)
        self.timings["launch"] = time.perf_counter() - start
        try:
            self.release = self._provision()
        except BaseException:
            self.close()
            raise

    def _provision(self) -> Release:
        start = time.perf_counter()
        nonce = self.key_service.challenge()
        release = self.key_service.release(KEY_NAME, self.enclave.quote(nonce), nonce)
        self.timings["attest"] = time.perf_counter() - start
        if not release.released:
            raise VerificationFailed(f"key service refused the aggregation key: {release.appraisal}")
        start = time.perf_counter()
        self.enclave.install_key(KEY_NAME, release.wrapped)
        self.enclave.call("load_he_key", blob=self.key_blob.hex(), **self.enclave.counter(COUNTER, increment=False))
        self.timings["load_key"] = time.perf_counter() - start
        return release

    def restart(self) -> None:
        """Restart the enclave (new instance, new keys), attest it again and reload the key."""
        self.enclave.restart()
        self.release = self._provision()

    def decrypt_sum(self, ciphertexts: Sequence[Any], *, clients: int, length: int) -> np.ndarray:
        """Have the enclave decrypt a sum of ``clients`` updates (CKKS chunks, in order); first ``length`` values.

        Raises :class:`labkit.tee.EnclaveError` when the enclave refuses (too few clients, budget spent).
        """
        cts = list(ciphertexts)
        if not cts:
            raise InvalidInput("give the summed ciphertexts (labkit.fl.CKKSSum.add_uploads or encrypted_sum).")
        length = validate.integer("length", length, low=1, high=len(cts) * self.slots)
        raw = [ct.ctx.impl.serialize(ct.raw).hex() for ct in cts]
        reply = self.enclave.call(
            "decrypt_aggregate",
            clients=int(clients),
            length=length,
            ciphertexts=raw,
            **self.enclave.counter(COUNTER, increment=True),
        )
        return np.frombuffer(bytes.fromhex(reply["values"]), dtype="<f8").copy()

    @property
    def decryptions(self) -> int:
        """Decryptions asked for so far, refused or not: the platform's counter, which each request increments."""
        return self.platform.counter_value(self.enclave.image.signer_id, COUNTER)

    def close(self) -> None:
        """Stop the enclave process (the key dies with it)."""
        self.enclave.close()

    def __enter__(self) -> KeyHolderEnclave:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
