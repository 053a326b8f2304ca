"""The simulated hardware: root of trust, launch, key derivation, quotes and counters.

A :class:`Platform` stands for one TEE-capable CPU and its vendor:

- a vendor root CA and a platform certificate (``cryptography.x509``), whose key
  signs quotes, as Intel's PCK certificate chain does for SGX/TDX DCAP quotes;
- a platform secret from which keys are derived with HKDF: the report key
  (EREPORT), the seal keys (EGETKEY, by measurement or by signer and version)
  and the key that authenticates monotonic-counter answers;
- ``launch``: checks the image's signature (EINIT's SIGSTRUCT check) and
  records the measurement of the instance;
- ``quote``: checks the enclave's report MAC, then signs {measurement, signer,
  security version, debug, report data};
- monotonic counters, as a TPM NV counter or SGX's (retired) PSE counters.

Simulated: all of this is a Python object in the host process. On hardware the
secret is fused into the CPU and no host software can read it; here the lab
trusts the host-side code not to look. Everything else (signatures, certificate
chain, HKDF, AES-GCM) is real cryptography from pyca/cryptography.

References
----------
Intel, "Intel SGX ECDSA Quote Library API" (DCAP quote v3 layout, PCK certificate chain).
Costan, Devadas, "Intel SGX Explained", IACR ePrint 2016/086, sections 5.7-5.9 (keys, reports, attestation).
Matetic et al., "ROTE: Rollback Protection for Trusted Execution", USENIX Security 2017.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .. import validate
from ..errors import InvalidInput, TamperDetected, VerificationFailed
from . import primitives as P
from .image import EnclaveImage

QUOTE_VERSION = 1
ROOT_NAME = "Simulated TEE Vendor Root CA"
# The platform's TCB level (microcode and firmware security version) as a certificate extension, as
# Intel's PCK certificates carry the CPU SVN. A private OID under the UUID arc 2.25 (ITU-T X.667).
TCB_OID = x509.ObjectIdentifier("2.25.46980152794580905045428418765286941216")


@dataclass(frozen=True)
class Quote:
    """A signed attestation statement about one enclave instance."""

    measurement: str  # hex
    signer_id: str  # hex
    svn: int
    debug: bool
    report_data: str  # hex: SHA-256(nonce || enclave public key)
    enclave_public_key: str  # hex: the key the report data binds (sent alongside, as in practice)
    scheme: str
    platform_certificate: str  # PEM
    signature: str = ""  # hex
    version: int = QUOTE_VERSION

    def body(self) -> bytes:
        """The exact bytes the platform key signs (everything but the signature and certificate)."""
        d = asdict(self)
        for k in ("signature", "platform_certificate", "enclave_public_key"):
            d.pop(k)
        return json.dumps(d, sort_keys=True, separators=(",", ":")).encode()

    def to_bytes(self) -> bytes:
        """The whole quote as JSON bytes (what travels to the verifier)."""
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Quote:
        """Parse a quote; InvalidInput when the bytes are not one."""
        try:
            return cls(**json.loads(data))
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"not a quote: {exc}") from None


@dataclass
class LaunchRecord:
    """What the platform knows about one launched instance (never sent to the host in hardware)."""

    instance: int
    measurement: bytes
    signer_id: bytes
    svn: int
    debug: bool
    keys: dict = field(repr=False, default_factory=dict)


class Platform:
    """One simulated TEE platform with its vendor's certificate chain.

    Parameters
    ----------
    scheme : {"ecdsa-p256", "ml-dsa-65"}
        Signature scheme of the vendor root, the platform certificate and quotes.
        ECDSA P-256 is what SGX/TDX DCAP quotes use; ML-DSA-65 shows a post-quantum chain.
    name : str
        Common name of the platform certificate.
    tcb : int
        The platform's TCB level (microcode/firmware security version), stated in its certificate;
        vendors raise it after fixes such as those for transient-execution side channels.

    >>> plat = Platform()
    >>> plat.root_certificate.subject.rfc4514_string()
    'CN=Simulated TEE Vendor Root CA'
    """

    def __init__(
        self,
        *,
        scheme: str = "ecdsa-p256",
        name: str = "Simulated TEE Platform",
        tcb: int = 2,
        _vendor: tuple | None = None,
    ):
        validate.choice("scheme", scheme, P.SCHEMES)
        tcb = validate.integer("tcb", tcb, low=0, high=0xFFFF)
        self.scheme, self.tcb = scheme, tcb
        if _vendor is None:
            self._root_key = P.generate_signing_key(scheme)
            self.root_certificate = P.make_certificate(
                ROOT_NAME, self._root_key.public_key(), ROOT_NAME, self._root_key, ca=True, days=3650
            )
        else:
            self._root_key, self.root_certificate = _vendor
        self._attestation_key = P.generate_signing_key(scheme)
        tcb_ext = x509.UnrecognizedExtension(TCB_OID, tcb.to_bytes(2, "big"))
        self.certificate = P.make_certificate(
            name, self._attestation_key.public_key(), ROOT_NAME, self._root_key, ca=False, extensions=[tcb_ext]
        )
        self._secret = os.urandom(32)  # the fused platform secret (simulated)
        self._counters: dict[tuple[bytes, str], int] = {}
        self._instances: dict[int, LaunchRecord] = {}
        self._next_instance = 1

    def sibling(self, *, tcb: int, name: str = "Simulated TEE Platform (another machine)") -> Platform:
        """Another machine from the same vendor (same root CA), e.g. one with older microcode (lower TCB)."""
        return Platform(scheme=self.scheme, name=name, tcb=tcb, _vendor=(self._root_key, self.root_certificate))

    @property
    def certificate_pem(self) -> str:
        """The platform certificate in PEM (carried in every quote)."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    # -- key derivation (EGETKEY) ------------------------------------------------------------
    def _derive(self, *parts: bytes) -> bytes:
        return P.hkdf(self._secret, info=P.sha256(b"labkit-tee platform key", *parts))

    def seal_key(self, *, policy: str, measurement: bytes, signer_id: bytes, svn: int) -> bytes:
        """Seal key by measurement (MRENCLAVE policy) or by signer and version (MRSIGNER policy)."""
        if policy == "measurement":
            return self._derive(b"seal", b"measurement", measurement)
        if policy == "signer":
            return self._derive(b"seal", b"signer", signer_id, svn.to_bytes(4, "big"))
        raise InvalidInput(f"seal policy must be 'measurement' or 'signer', not {policy!r}.")

    # -- launch (EINIT) -----------------------------------------------------------------------
    def launch(self, image: EnclaveImage) -> LaunchRecord:
        """Check the image's signature, measure it, derive its keys; refuse a broken signature."""
        if not isinstance(image, EnclaveImage):
            raise InvalidInput(f"launch needs an EnclaveImage, not {type(image).__name__}.")
        try:
            signer_pub = serialization.load_der_public_key(image.signer_public)
        except ValueError:
            raise VerificationFailed("launch refused: the image carries no valid signer public key.") from None
        if not P.verify(signer_pub, image.signature, image.sigstruct_body()):
            raise VerificationFailed(
                "launch refused: the image's signature does not cover its code and config (SIGSTRUCT check "
                "failed). Modified code must be re-signed, which changes the signer identity."
            )
        m, s = image.measurement, image.signer_id
        keys = {
            "report_key": self._derive(b"report", m).hex(),
            "counter_key": self._derive(b"counter", s).hex(),  # counters are owned by the signer
            "seal_key_measurement": self.seal_key(
                policy="measurement", measurement=m, signer_id=s, svn=image.svn
            ).hex(),
            # Keys for this svn and every older one: newer builds can read older builds' data, not the reverse.
            "seal_keys_signer": {
                str(v): self.seal_key(policy="signer", measurement=m, signer_id=s, svn=v).hex()
                for v in range(max(0, image.svn - 7), image.svn + 1)
            },
        }
        record = LaunchRecord(self._next_instance, m, s, image.svn, image.debug, keys)
        self._instances[record.instance] = record
        self._next_instance += 1
        return record

    def terminate(self, instance: int) -> None:
        """Forget a launched instance: it can no longer be quoted."""
        self._instances.pop(instance, None)

    # -- quoting ------------------------------------------------------------------------------
    def quote(self, instance: int, report_data: bytes, report_mac: bytes, enclave_public_key: bytes) -> Quote:
        """Sign a quote for a live instance after checking its report MAC (the quoting enclave's job)."""
        record = self._instances.get(instance)
        if record is None:
            raise VerificationFailed(f"no live enclave instance {instance}: it was terminated or never launched.")
        if not P.mac_ok(bytes.fromhex(record.keys["report_key"]), report_data, report_mac):
            raise TamperDetected("the enclave report's MAC does not verify: report data was altered on the way.")
        q = Quote(
            measurement=record.measurement.hex(),
            signer_id=record.signer_id.hex(),
            svn=record.svn,
            debug=record.debug,
            report_data=report_data.hex(),
            enclave_public_key=enclave_public_key.hex(),
            scheme=self.scheme,
            platform_certificate=self.certificate_pem,
        )
        return Quote(**{**asdict(q), "signature": P.sign(self._attestation_key, q.body()).hex()})

    # -- monotonic counters -------------------------------------------------------------------
    def counter(self, owner: bytes, counter_id: str, nonce: bytes, *, increment: bool) -> tuple[int, bytes]:
        """Read (or increment, then read) a counter owned by signer ``owner``; the answer is MACed
        with the owner's counter key over the enclave's nonce, so the host cannot forge or replay it."""
        key = (owner, counter_id)
        if increment:
            self._counters[key] = self._counters.get(key, 0) + 1
        value = self._counters.get(key, 0)
        body = P.sha256(b"counter", counter_id.encode(), value.to_bytes(8, "big"), nonce)
        return value, P.mac(self._derive(b"counter", owner), body)

    def counter_value(self, owner: bytes, counter_id: str) -> int:
        """The counter's current value, for display (unauthenticated: enclaves use :meth:`counter`)."""
        return self._counters.get((owner, counter_id), 0)


def platform_tcb(cert: x509.Certificate) -> int:
    """The TCB level a platform certificate states (0 when absent)."""
    try:
        return int.from_bytes(cert.extensions.get_extension_for_oid(TCB_OID).value.value, "big")
    except x509.ExtensionNotFound:
        return 0


def load_certificate(pem: str) -> x509.Certificate:
    """A certificate from PEM; VerificationFailed when it is not valid PEM."""
    try:
        return x509.load_pem_x509_certificate(pem.encode())
    except ValueError as exc:
        raise VerificationFailed(f"platform certificate is not valid PEM: {exc}") from None
