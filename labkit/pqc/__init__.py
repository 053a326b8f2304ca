"""Post-quantum TLS: hybrid ML-KEM key exchange, ML-DSA certificates, costs on the wire.

Real TLS 1.3 handshakes between a lab server and client on 127.0.0.1, run by
the OpenSSL bundled in pyca/cryptography through pyOpenSSL; the primitives
(ML-KEM, ML-DSA) straight from pyca/cryptography. Importing this package is
cheap: OpenSSL loads when a function runs.

>>> import labkit.pqc
>>> callable(labkit.pqc.handshake)
True

References
----------
NIST FIPS 203 (ML-KEM) and FIPS 204 (ML-DSA), 2024.
RFC 8446, TLS 1.3; IETF draft-ietf-tls-ecdhe-mlkem.
"""

from __future__ import annotations

from ..lazy import lazy_exports

_EXPORTS = {
    "handshake": "handshakes",
    "Session": "handshakes",
    "available_groups": "handshakes",
    "available_cert_types": "handshakes",
    "HandshakeFailed": "tls",
    "CertificateRejected": "tls",
    "serve": "server",
    "refusals": "security",
    "issue": "certs",
    "CERT_TYPES": "certs",
    "GROUPS": "tls",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
