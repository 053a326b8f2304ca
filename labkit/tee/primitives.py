"""Thin wrappers over pyca/cryptography used by the TEE simulation.

Nothing here implements a primitive: signatures are ECDSA P-256 or ML-DSA-65,
certificates come from ``cryptography.x509``, key wrapping is X25519 plus
ML-KEM-768 combined with HKDF-SHA256 and sealed with AES-256-GCM, all from
pyca/cryptography. What is ours is the glue: which bytes go where.

References
----------
NIST FIPS 203 (ML-KEM), FIPS 204 (ML-DSA), SP 800-56C (HKDF-style key derivation).
RFC 5869 (HKDF); RFC 7748 (X25519); NIST SP 800-38D (GCM).
Connolly, Schwabe, Westerbaan, "X-Wing: the hybrid KEM you've been looking for" (2024),
and draft-ietf-tls-ecdhe-mlkem: concatenate the ML-KEM and X25519 secrets.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec, mldsa, mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.x509.oid import NameOID

from ..errors import InvalidInput, TamperDetected

SCHEMES = ("ecdsa-p256", "ml-dsa-65")


def sha256(*parts: bytes) -> bytes:
    """SHA-256 over length-prefixed parts (unambiguous concatenation).

    >>> sha256(b"ab", b"c") != sha256(b"a", b"bc")
    True
    """
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.digest()


def hkdf(secret: bytes, info: bytes, length: int = 32, salt: bytes | None = None) -> bytes:
    """HKDF-SHA256 (RFC 5869) from pyca/cryptography."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(secret)


def mac(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256."""
    h = hmac.HMAC(key, hashes.SHA256())
    h.update(data)
    return h.finalize()


def mac_ok(key: bytes, data: bytes, tag: bytes) -> bool:
    """True when ``tag`` is the HMAC-SHA256 of ``data`` under ``key`` (constant-time check)."""
    h = hmac.HMAC(key, hashes.SHA256())
    h.update(data)
    try:
        h.verify(tag)
        return True
    except InvalidSignature:
        return False


def aead_seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM with a fresh random 96-bit nonce; returns nonce || ciphertext || tag."""
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def aead_open(key: bytes, blob: bytes, aad: bytes, what: str = "ciphertext") -> bytes:
    """Inverse of :func:`aead_seal`; raises TamperDetected when the tag does not verify."""
    if len(blob) < 28:
        raise TamperDetected(f"{what} is too short to be AES-GCM output ({len(blob)} bytes).")
    try:
        return AESGCM(key).decrypt(blob[:12], blob[12:], aad)
    except InvalidTag:
        raise TamperDetected(f"{what} failed AES-GCM authentication: it was modified or is bound elsewhere.") from None


# -- signatures ----------------------------------------------------------------------------
def generate_signing_key(scheme: str = "ecdsa-p256"):
    """A fresh private key for ``scheme`` ("ecdsa-p256" or "ml-dsa-65")."""
    if scheme == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if scheme == "ml-dsa-65":
        return mldsa.MLDSA65PrivateKey.generate()
    raise InvalidInput(f"signature scheme {scheme!r} is not supported; use one of {SCHEMES}.")


def sign(private_key, data: bytes) -> bytes:
    """Sign ``data`` (ECDSA P-256 with SHA-256, or ML-DSA-65)."""
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        return private_key.sign(data, ec.ECDSA(hashes.SHA256()))
    return private_key.sign(data)


def verify(public_key, signature: bytes, data: bytes) -> bool:
    """True when ``signature`` verifies over ``data``."""
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        else:
            public_key.verify(signature, data)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def public_der(public_key) -> bytes:
    """A public key as DER SubjectPublicKeyInfo bytes."""
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _hash_for(private_key):
    return hashes.SHA256() if isinstance(private_key, ec.EllipticCurvePrivateKey) else None


def make_certificate(
    subject: str, public_key, issuer_name: str, issuer_key, *, ca: bool, days: int = 365, extensions=()
):
    """An X.509 certificate for ``public_key`` signed by ``issuer_key`` (cryptography.x509).

    ``extensions`` are extra non-critical ``x509.ExtensionType`` values (e.g. the platform TCB level).
    """
    now = _dt.datetime.now(_dt.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    for ext in extensions:
        builder = builder.add_extension(ext, critical=False)
    return builder.sign(issuer_key, _hash_for(issuer_key))


def certificate_signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``cert`` names ``issuer`` and its signature verifies under the issuer's key."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
        return True
    except (InvalidSignature, ValueError, TypeError):
        return False


def certificate_current(cert: x509.Certificate) -> bool:
    """True when now is within the certificate's validity period."""
    now = _dt.datetime.now(_dt.timezone.utc)
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


# -- hybrid key wrapping -----------------------------------------------------------------
@dataclass(frozen=True)
class HybridPublicKey:
    """An enclave's ephemeral receiving key: X25519 and ML-KEM-768 public halves."""

    x25519: bytes  # 32 bytes
    mlkem: bytes  # 1,184 bytes

    def to_bytes(self) -> bytes:
        """X25519 public (32 bytes) then ML-KEM-768 public (1,184 bytes)."""
        return self.x25519 + self.mlkem

    @classmethod
    def from_bytes(cls, data: bytes) -> HybridPublicKey:
        """Inverse of :meth:`to_bytes`."""
        if len(data) != 32 + 1184:
            raise InvalidInput(f"a hybrid public key is 1216 bytes, not {len(data)}.")
        return cls(data[:32], data[32:])


class HybridPrivateKey:
    """Ephemeral X25519 + ML-KEM-768 key pair; lives only inside one enclave instance."""

    def __init__(self):
        self._x = x25519.X25519PrivateKey.generate()
        self._k = mlkem.MLKEM768PrivateKey.generate()
        self.public = HybridPublicKey(self._x.public_key().public_bytes_raw(), self._k.public_key().public_bytes_raw())

    def unwrap(self, wrapped: bytes, label: bytes) -> bytes:
        """Recover what :func:`wrap` sealed to this key; TamperDetected on any mismatch."""
        if len(wrapped) < 32 + 1088 + 28:
            raise TamperDetected("wrapped key is truncated.")
        eph, ct = wrapped[:32], wrapped[32 : 32 + 1088]
        try:
            ss_kem = self._k.decapsulate(ct)
            ss_x = self._x.exchange(x25519.X25519PublicKey.from_public_bytes(eph))
        except ValueError:
            raise TamperDetected("wrapped key has a malformed key-exchange part.") from None
        key = _combine(ss_kem, ss_x, eph, ct, self.public, label)
        return aead_open(key, wrapped[32 + 1088 :], label, what="wrapped key")


def _combine(ss_kem: bytes, ss_x: bytes, eph: bytes, ct: bytes, recipient: HybridPublicKey, label: bytes) -> bytes:
    # ML-KEM secret first, as in X25519MLKEM768 and X-Wing; the transcript binds both ciphertexts
    # and the recipient's keys into the derived key.
    transcript = sha256(eph, ct, recipient.to_bytes(), label)
    return hkdf(ss_kem + ss_x, info=b"labkit-tee hybrid wrap v1" + transcript)


def wrap(recipient: HybridPublicKey, secret: bytes, label: bytes) -> bytes:
    """Seal ``secret`` to ``recipient``: X25519 + ML-KEM-768 -> HKDF-SHA256 -> AES-256-GCM.

    Output layout: X25519 ephemeral public (32) || ML-KEM ciphertext (1088) || GCM nonce+ct+tag.

    >>> sk = HybridPrivateKey()
    >>> sk.unwrap(wrap(sk.public, b"model key", b"demo"), b"demo")
    b'model key'
    """
    eph = x25519.X25519PrivateKey.generate()
    eph_pub = eph.public_key().public_bytes_raw()
    ss_x = eph.exchange(x25519.X25519PublicKey.from_public_bytes(recipient.x25519))
    ss_kem, ct = mlkem.MLKEM768PublicKey.from_public_bytes(recipient.mlkem).encapsulate()
    key = _combine(ss_kem, ss_x, eph_pub, ct, recipient, label)
    return eph_pub + ct + aead_seal(key, secret, label)
