"""TEE simulation: measurement, remote attestation, key release, sealing, side channels.

Simulated, and said so: there is no SGX/TDX/SEV hardware here. The "CPU" is a
Python object (:class:`Platform`) holding a vendor certificate chain, a platform
secret and monotonic counters; the enclave is a separate OS process reached only
through one byte pipe. Every cryptographic operation is real (pyca/cryptography:
ECDSA P-256 or ML-DSA-65, x509, HKDF-SHA256, AES-256-GCM, X25519, ML-KEM-768).
What is not simulated faithfully: hardware memory encryption and isolation (the
host could read the child's memory with ptrace), the secrecy of the platform
secret, and microarchitectural behaviour; :mod:`labkit.tee.costs` models the
hardware's costs from published figures instead.

Entry points: ``Platform``, ``EnclaveImage``, ``Enclave``, ``Policy``,
``Verifier`` (``appraise(quote, nonce)`` -> ``Appraisal``), ``KeyService``,
``Client``, ``deploy``, and the lab functions in ``attacks``, ``sidechannel``,
``costs`` and ``benchmark``; the registry's descriptor is in ``technique``.
"""

from __future__ import annotations

from ..lazy import lazy_exports

_EXPORTS = {
    "Platform": "platform",
    "Quote": "platform",
    "EnclaveImage": "image",
    "Enclave": "enclave",
    "EnclaveError": "enclave",
    "RollbackDetected": "enclave",
    "Policy": "verifier",
    "Verifier": "verifier",
    "Appraisal": "verifier",
    "KeyService": "keyservice",
    "Client": "keyservice",
    "Release": "keyservice",
    "deploy": "lifecycle",
    "Deployment": "lifecycle",
    "KeyHolderEnclave": "aggregation",
}
_SUBMODULES = {
    "primitives",
    "image",
    "platform",
    "enclave",
    "verifier",
    "keyservice",
    "lifecycle",
    "model",
    "attacks",
    "sidechannel",
    "costs",
    "benchmark",
    "technique",
    "workload",
    "enclave_worker",
    "aggregation",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, _SUBMODULES)
