"""What gets measured: an enclave image (code + configuration), its signer and version.

The measurement plays the role of SGX's MRENCLAVE (or TDX's MRTD): a SHA-256
over exactly the bytes that will run and the configuration they run with. The
signer identity plays MRSIGNER: the SHA-256 of the public key that signed the
image. The security version (ISVSVN) is the TCB level the vendor bumps after a
fix, so verifiers can refuse older, vulnerable builds.

Simulated: real MRENCLAVE is an incremental SHA-256 over the EADD/EEXTEND log of
enclave pages (Intel SDM vol. 3D ch. 38; Costan & Devadas 2016, sec. 5.6). Here it
is one SHA-256 over the workload's Python source and canonical JSON config, which
keeps the property a learner needs: change one byte of code or config and the
measurement changes.

References
----------
Costan, Devadas, "Intel SGX Explained", IACR ePrint 2016/086, sections 5.6 and 5.7.
Intel SGX Developer Reference, "Enclave Signature Structure (SIGSTRUCT)".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from .. import validate
from ..errors import InvalidInput
from . import primitives as P

DEFAULT_CONFIG = {"oblivious": False, "query_budget": 1000, "debug": False, "min_clients": 2}
"""query_budget: inference queries (or aggregate decryptions) before the enclave refuses; min_clients: the
fewest client updates a sum must hold for the key-holder enclave to decrypt it (labkit.tee.aggregation)."""


def workload_source() -> str:
    """The source text of the default enclave workload (``labkit/tee/workload.py``)."""
    return (Path(__file__).with_name("workload.py")).read_text()


def canonical_config(config: dict) -> bytes:
    """The config as canonical JSON bytes (sorted keys, no spaces): what the measurement covers."""
    return json.dumps(config, sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class EnclaveImage:
    """An enclave build: code, configuration, security version and the signer's signature.

    Build one with :meth:`build`; ``measurement`` and ``signer_id`` are computed
    from the content, never stored, so a modified image cannot keep an old value.
    """

    code: str
    config: dict = field(default_factory=lambda: dict(DEFAULT_CONFIG))
    svn: int = 1
    signer_public: bytes = b""  # DER SubjectPublicKeyInfo of the signing key
    signature: bytes = b""  # signer's signature over (measurement, svn): the SIGSTRUCT role

    @property
    def measurement(self) -> bytes:
        """SHA-256 over the code and canonical config (the MRENCLAVE role)."""
        return P.sha256(b"labkit-tee code", self.code.encode(), b"config", canonical_config(self.config))

    @property
    def signer_id(self) -> bytes:
        """SHA-256 of the signer's public key (the MRSIGNER role)."""
        return P.sha256(b"labkit-tee signer", self.signer_public)

    @property
    def debug(self) -> bool:
        """Whether this is a debug build (its memory is readable by the host)."""
        return bool(self.config.get("debug", False))

    def sigstruct_body(self) -> bytes:
        """The bytes the signer signs: the measurement and the security version (the SIGSTRUCT role)."""
        return P.sha256(b"labkit-tee sigstruct", self.measurement, self.svn.to_bytes(4, "big"))

    @classmethod
    def build(cls, signer_key, *, code: str | None = None, config: dict | None = None, svn: int = 1) -> EnclaveImage:
        """Measure ``code`` + ``config`` and sign the measurement with ``signer_key``.

        Parameters
        ----------
        signer_key : private key
            The enclave author's key (``primitives.generate_signing_key()``).
        code : str, optional
            Workload source; defaults to :func:`workload_source`.
        config : dict, optional
            Keys of ``DEFAULT_CONFIG`` to override.
        svn : int
            Security version (TCB level), 0-65535.
        """
        svn = validate.integer("svn", svn, low=0, high=0xFFFF)
        merged = dict(DEFAULT_CONFIG)
        unknown = set(config or {}) - set(DEFAULT_CONFIG)
        if unknown:
            raise InvalidInput(f"unknown enclave config keys {sorted(unknown)}; known: {sorted(DEFAULT_CONFIG)}.")
        merged.update(config or {})
        validate.integer("config query_budget (queries before the enclave refuses)", merged["query_budget"])
        validate.integer("config min_clients (fewest updates in a decrypted sum)", merged["min_clients"])
        image = cls(
            code=code if code is not None else workload_source(),
            config=merged,
            svn=svn,
            signer_public=P.public_der(signer_key.public_key()),
        )
        return replace(image, signature=P.sign(signer_key, image.sigstruct_body()))

    def tampered(self, new_code: str) -> EnclaveImage:
        """The same image with different code but the old signature (what an attacker gets for free)."""
        return replace(self, code=new_code)
