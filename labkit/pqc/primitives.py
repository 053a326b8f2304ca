"""ML-KEM and ML-DSA against the classical primitives they replace: time and size of each operation.

Key establishment: ML-KEM-768/1024 keygen, encapsulate and decapsulate beside
X25519 (keygen, and one Diffie-Hellman exchange standing for both sides' work)
and RSA-2048 key transport (OAEP-wrap a 32-byte key, unwrap it). Signatures:
ML-DSA-44/65/87 sign and verify beside Ed25519, ECDSA P-256 and RSA-2048
(PSS). All from pyca/cryptography; sizes are of the encoded public key, the
ciphertext (or key share) and the signature.

References
----------
NIST FIPS 203, Module-Lattice-Based Key-Encapsulation Mechanism Standard, 2024 (table 3: sizes).
NIST FIPS 204, Module-Lattice-Based Digital Signature Standard, 2024 (table 2: sizes).
RFC 7748 (X25519); RFC 8017 (RSA OAEP and PSS); RFC 8032 (Ed25519).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .. import bench, config, validate
from ..errors import InvalidInput
from ..results import Result

KEMS = ("ML-KEM-768", "ML-KEM-1024", "X25519", "RSA-2048")
SIGNERS = ("ML-DSA-44", "ML-DSA-65", "ML-DSA-87", "Ed25519", "ECDSA-P256", "RSA-2048")
MESSAGE = b"PET Lab: a 32-byte handshake hash".ljust(32, b".")


def kem_ops(name: str) -> dict[str, Any]:
    """Callables for keygen / encapsulate / decapsulate of one scheme, and the sizes of what travels.

    Parameters
    ----------
    name : str
        One of :data:`KEMS`.

    Returns
    -------
    dict
        ``keygen``, ``encapsulate``, ``decapsulate`` (callables on a fresh key pair) and
        ``public_key_bytes``, ``ciphertext_bytes``, ``shared_secret_bytes``.

    References
    ----------
    NIST FIPS 203 (ML-KEM), 2024; RFC 7748 (X25519); RFC 8017 (RSA OAEP).
    """
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import mlkem, padding, rsa, x25519

    raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
    if name.startswith("ML-KEM"):
        cls = mlkem.MLKEM768PrivateKey if name == "ML-KEM-768" else mlkem.MLKEM1024PrivateKey
        sk = cls.generate()
        pk = sk.public_key()
        shared, ct = pk.encapsulate()
        assert sk.decapsulate(ct) == shared
        return {
            "keygen": cls.generate,
            "encapsulate": pk.encapsulate,
            "decapsulate": lambda: sk.decapsulate(ct),
            "public_key_bytes": len(pk.public_bytes_raw()),
            "ciphertext_bytes": len(ct),
            "shared_secret_bytes": len(shared),
        }
    if name == "X25519":
        sk = x25519.X25519PrivateKey.generate()
        peer = x25519.X25519PrivateKey.generate().public_key()

        def encapsulate():  # the other side: a fresh key pair and one exchange
            eph = x25519.X25519PrivateKey.generate()
            return eph.exchange(sk.public_key()), eph.public_key()

        return {
            "keygen": x25519.X25519PrivateKey.generate,
            "encapsulate": encapsulate,
            "decapsulate": lambda: sk.exchange(peer),
            "public_key_bytes": len(sk.public_key().public_bytes(*raw)),
            "ciphertext_bytes": 32,
            "shared_secret_bytes": 32,
        }
    if name == "RSA-2048":
        sk = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pk = sk.public_key()
        oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
        secret = os.urandom(32)
        ct = pk.encrypt(secret, oaep)
        der = pk.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return {
            "keygen": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "encapsulate": lambda: pk.encrypt(secret, oaep),
            "decapsulate": lambda: sk.decrypt(ct, oaep),
            "public_key_bytes": len(der),
            "ciphertext_bytes": len(ct),
            "shared_secret_bytes": 32,
        }
    raise InvalidInput(f"unknown key-establishment scheme {name!r}; choose from {', '.join(KEMS)}.")


def _verify_with(pk, *extra) -> Callable[[bytes, bytes], None]:
    """``pk.verify(sig, msg, *extra)``: ECDSA and RSA-PSS take their hash or padding after the message."""

    def verify(sig: bytes, msg: bytes) -> None:
        pk.verify(sig, msg, *extra)

    return verify


def signer_ops(name: str) -> dict[str, Any]:
    """Callables for keygen / sign / verify of one signature scheme, and its key and signature sizes.

    Parameters
    ----------
    name : str
        One of :data:`SIGNERS`.

    References
    ----------
    NIST FIPS 204 (ML-DSA), 2024; RFC 8032 (Ed25519); RFC 8017 (RSA PSS).
    """
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, padding, rsa

    if name.startswith("ML-DSA"):
        cls = {
            "ML-DSA-44": mldsa.MLDSA44PrivateKey,
            "ML-DSA-65": mldsa.MLDSA65PrivateKey,
            "ML-DSA-87": mldsa.MLDSA87PrivateKey,
        }[name]
        sk = cls.generate()
        sign, pk = (lambda: sk.sign(MESSAGE)), sk.public_key()
        pk_bytes = len(pk.public_bytes_raw())
        verify = pk.verify
    elif name == "Ed25519":
        cls = ed25519.Ed25519PrivateKey
        sk = cls.generate()
        sign, pk = (lambda: sk.sign(MESSAGE)), sk.public_key()
        pk_bytes = 32
        verify = pk.verify
    elif name == "ECDSA-P256":
        sk = ec.generate_private_key(ec.SECP256R1())
        cls = type("P256", (), {"generate": staticmethod(lambda: ec.generate_private_key(ec.SECP256R1()))})
        sign, pk = (lambda: sk.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))), sk.public_key()
        pk_bytes = 65
        verify = _verify_with(pk, ec.ECDSA(hashes.SHA256()))
    elif name == "RSA-2048":
        sk = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cls = type(
            "RSA",
            (),
            {"generate": staticmethod(lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))},
        )
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        sign, pk = (lambda: sk.sign(MESSAGE, pss, hashes.SHA256())), sk.public_key()
        pk_bytes = len(pk.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))
        verify = _verify_with(pk, pss, hashes.SHA256())
    else:
        raise InvalidInput(f"unknown signature scheme {name!r}; choose from {', '.join(SIGNERS)}.")
    sig = sign()
    verify(sig, MESSAGE)  # raises InvalidSignature if the library disagrees with itself
    return {
        "keygen": cls.generate,
        "sign": sign,
        "verify": lambda: verify(sig, MESSAGE),
        "public_key_bytes": pk_bytes,
        "signature_bytes": len(sig),
    }


def _time(
    ops: dict[str, Any], names: tuple[str, ...], repeat: int, *, slow_keygen: int | None
) -> dict[str, bench.Timing]:
    """Time each operation; ``slow_keygen``: at most that many key generations (RSA), None for no limit."""
    out = {}
    for op in names:
        fn: Callable[[], Any] = ops[op]
        n = min(repeat, slow_keygen) if (op == "keygen" and slow_keygen) else repeat
        out[op] = bench.measure(fn, name=op, repeat=n, warmup=0 if op == "keygen" and slow_keygen else 1)
    return out


def compare_kems(*, schemes: tuple[str, ...] = KEMS, repeat: int | None = None) -> Result:
    """Time keygen / encapsulate / decapsulate of each scheme and record the sizes on the wire.

    ``metrics`` keys are ``"<scheme>.<op>_s"`` (median seconds) and ``"<scheme>.<size>"`` (bytes).

    >>> r = compare_kems(schemes=("ML-KEM-768",), repeat=3)
    >>> int(r.metrics["ML-KEM-768.public_key_bytes"]), int(r.metrics["ML-KEM-768.ciphertext_bytes"])
    (1184, 1088)
    """
    return _compare(
        "kem_primitives",
        schemes,
        KEMS,
        kem_ops,
        ("keygen", "encapsulate", "decapsulate"),
        ("public_key_bytes", "ciphertext_bytes", "shared_secret_bytes"),
        repeat if repeat is not None else config.pick(200, 20),
        config.pick(10, 3),
    )


def compare_signatures(*, schemes: tuple[str, ...] = SIGNERS, repeat: int | None = None) -> Result:
    """Time keygen / sign / verify of each signature scheme and record key and signature sizes.

    >>> r = compare_signatures(schemes=("ML-DSA-65",), repeat=3)
    >>> int(r.metrics["ML-DSA-65.public_key_bytes"]), int(r.metrics["ML-DSA-65.signature_bytes"])
    (1952, 3309)
    """
    return _compare(
        "signature_primitives",
        schemes,
        SIGNERS,
        signer_ops,
        ("keygen", "sign", "verify"),
        ("public_key_bytes", "signature_bytes"),
        repeat if repeat is not None else config.pick(200, 20),
        config.pick(10, 3),
    )


def _compare(name, schemes, known, make_ops, op_names, size_keys, repeat, rsa_keygens) -> Result:
    """Time each scheme's operations (median seconds) and record its sizes on the wire (bytes).

    RSA key generation takes ~100 ms and varies a lot: ``rsa_keygens`` samples are enough to show it.
    """
    schemes = tuple(schemes)
    for s in schemes:
        validate.choice("scheme", s, known)
    repeat = validate.integer("repeat", repeat)
    metrics, timings = {}, {}
    for s in schemes:
        ops = make_ops(s)
        for op, t in _time(ops, op_names, repeat, slow_keygen=rsa_keygens if s.startswith("RSA") else None).items():
            metrics[f"{s}.{op}_s"] = t.median
            timings[f"{s}.{op}"] = t
        for k in size_keys:
            metrics[f"{s}.{k}"] = ops[k]
    return Result("pqc", name, params={"schemes": list(schemes), "repeat": repeat}, metrics=metrics, timings=timings)


def table(result: Result) -> list[dict[str, Any]]:
    """One row per scheme from :func:`compare_kems` or :func:`compare_signatures` (for a DataFrame)."""
    rows: dict[str, dict[str, Any]] = {}
    for key, value in result.metrics.items():
        scheme, field = key.split(".", 1)
        rows.setdefault(scheme, {"scheme": scheme})[field] = value
    return list(rows.values())
