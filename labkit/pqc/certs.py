"""A local certificate authority for the TLS lab: classical and ML-DSA chains.

Each certificate type ("ecdsa-p256", "ed25519", "rsa-2048", "rsa-3072",
"ml-dsa-44", "ml-dsa-65", "ml-dsa-87") gets its own root CA of the same
algorithm, so a post-quantum leaf is vouched for by a post-quantum signature
end to end. Keys and certificates are written as PEM (keys as PKCS#8) to a
private temporary folder, because OpenSSL loads ML-DSA keys from files while
pyOpenSSL's ``use_privatekey(key_object)`` rejects them.

Everything is made by pyca/cryptography's x509 builder; the lab never builds
a certificate or a signature by hand.

References
----------
RFC 5280, Internet X.509 Public Key Infrastructure Certificate and CRL Profile.
NIST FIPS 204, Module-Lattice-Based Digital Signature Standard (ML-DSA), 2024.
IETF draft-ietf-lamps-dilithium-certificates, ML-DSA in X.509 certificates.
"""

from __future__ import annotations

import atexit
import datetime as dt
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInput

#: Certificate types the lab can issue, with the TLS 1.3 signature scheme name OpenSSL uses.
CERT_TYPES = {
    "ecdsa-p256": "ecdsa_secp256r1_sha256",
    "ed25519": "ed25519",
    "rsa-2048": "rsa_pss_rsae_sha256",
    "rsa-3072": "rsa_pss_rsae_sha256",
    "ml-dsa-44": "mldsa44",
    "ml-dsa-65": "mldsa65",
    "ml-dsa-87": "mldsa87",
}

DEFAULT_HOSTNAME = "server.petlab.test"
_lock = threading.Lock()
_workdir: Path | None = None
_cache: dict[tuple, Chain] = {}


@dataclass(frozen=True)
class Chain:
    """One issued identity: a leaf certificate, its key and the root that signed it (PEM files)."""

    cert_type: str
    hostname: str
    cert_file: str
    key_file: str
    ca_file: str
    cert_der_size: int  # bytes of the leaf certificate in DER (what travels in TLS)
    ca_der_size: int
    not_after: str  # ISO date of the leaf's expiry


def check_cert_type(cert_type: str) -> str:
    """Normalise a certificate type name or raise InvalidInput listing the valid ones."""
    if not isinstance(cert_type, str):
        raise InvalidInput(f"cert must be a string such as 'ecdsa-p256', not {type(cert_type).__name__}.")
    key = cert_type.strip().lower().replace("_", "-")
    key = {
        "mldsa44": "ml-dsa-44",
        "mldsa65": "ml-dsa-65",
        "mldsa87": "ml-dsa-87",
        "rsa2048": "rsa-2048",
        "rsa3072": "rsa-3072",
        "ecdsa": "ecdsa-p256",
        "p256": "ecdsa-p256",
    }.get(key.replace("-", ""), key)
    if key not in CERT_TYPES:
        raise InvalidInput(f"unknown certificate type {cert_type!r}; choose one of {', '.join(CERT_TYPES)}.")
    return key


def _new_key(cert_type: str):
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, rsa

    if cert_type == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if cert_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if cert_type.startswith("rsa-"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(cert_type[4:]))
    return {
        "ml-dsa-44": mldsa.MLDSA44PrivateKey,
        "ml-dsa-65": mldsa.MLDSA65PrivateKey,
        "ml-dsa-87": mldsa.MLDSA87PrivateKey,
    }[cert_type].generate()


def _hash_for(cert_type: str):
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256() if cert_type in ("ecdsa-p256", "rsa-2048", "rsa-3072") else None


def _dir() -> Path:
    global _workdir
    if _workdir is None:
        _workdir = Path(tempfile.mkdtemp(prefix="labkit-pqc-"))
        atexit.register(shutil.rmtree, _workdir, True)
    return _workdir


def _build(cert_type: str, hostname: str, *, expired: bool, client: bool, tag: str) -> Chain:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = _new_key(cert_type)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"PET Lab local CA ({cert_type}, {tag})")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, _hash_for(cert_type))
    )
    key = _new_key(cert_type)
    if expired:
        start, end = now - dt.timedelta(days=10), now - dt.timedelta(days=1)
    else:
        start, end = now - dt.timedelta(hours=1), now + dt.timedelta(days=7)
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .sign(ca_key, _hash_for(cert_type))
    )
    folder = _dir() / f"{cert_type}-{tag}"
    folder.mkdir(mode=0o700, exist_ok=True)
    pem = serialization.Encoding.PEM
    (folder / "cert.pem").write_bytes(cert.public_bytes(pem))
    (folder / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    key_path = folder / "key.pem"
    key_path.touch(mode=0o600)
    key_path.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    der = serialization.Encoding.DER
    return Chain(
        cert_type=cert_type,
        hostname=hostname,
        cert_file=str(folder / "cert.pem"),
        key_file=str(key_path),
        ca_file=str(folder / "ca.pem"),
        cert_der_size=len(cert.public_bytes(der)),
        ca_der_size=len(ca_cert.public_bytes(der)),
        not_after=end.date().isoformat(),
    )


def issue(
    cert_type: str = "ecdsa-p256",
    *,
    hostname: str = DEFAULT_HOSTNAME,
    expired: bool = False,
    client: bool = False,
    fresh: bool = False,
) -> Chain:
    """Issue (or reuse) a leaf certificate of ``cert_type`` from a local root CA of the same type.

    Parameters
    ----------
    cert_type : str
        One of :data:`CERT_TYPES`.
    hostname : str
        The DNS name in the leaf's subjectAltName (and common name).
    expired : bool
        Issue a leaf whose validity ended yesterday (for the refusal tests).
    client : bool
        Mark the leaf for client authentication (mutual TLS) instead of server authentication.
    fresh : bool
        Always make a new CA and leaf (the default reuses one per process and arguments).

    Returns
    -------
    Chain
        File paths of the leaf, its key and the root, plus DER sizes.

    >>> chain = issue("ecdsa-p256")
    >>> chain.cert_type, chain.cert_der_size < 1000
    ('ecdsa-p256', True)
    """
    cert_type = check_cert_type(cert_type)
    if not isinstance(hostname, str) or not hostname or any(c.isspace() for c in hostname):
        raise InvalidInput(f"hostname must be a DNS name without spaces, not {hostname!r}.")
    key = (cert_type, hostname, bool(expired), bool(client))
    with _lock:
        if not fresh and key in _cache:
            return _cache[key]
        tag = f"{'client' if client else 'server'}{'-expired' if expired else ''}-{len(_cache)}"
        if fresh:
            tag += f"-fresh{next(_fresh_counter)}"
        chain = _build(cert_type, hostname, expired=expired, client=client, tag=tag)
        if not fresh:
            _cache[key] = chain
        return chain


def _counter():
    n = 0
    while True:
        n += 1
        yield n


_fresh_counter = _counter()
