"""Homomorphic encryption: SEAL (through TenSEAL) and OpenFHE behind one API.

``labkit.he.context(backend, scheme, ...)`` makes keys and returns an
:class:`~labkit.he.api.HEContext`; its ciphertexts support ``+ - *``,
rotation, sums, dot and matrix products. Parameters are checked against the
HE Standard tables before any key is made. A user's model (a
:class:`labkit.workload.Workload`) is compiled to CKKS by ``labkit.he.compiler``
(fitted polynomial activations, fused affine stages), planned by
``labkit.he.planner`` (ring dimension, modulus chain, cost, memory) and run in
either packing by ``labkit.he.packing``; ``labkit.he.assess`` holds the support
and assess doors. Inference labs live in ``labkit.he.inference`` (their models
go through the same compiler); the SEAL vs OpenFHE benchmark in
``labkit.he.benchmark`` (``labkit bench he``); the technique's descriptor in
``labkit.he.technique``.

Importing this package loads neither TenSEAL nor OpenFHE: they load when a
context is created.
"""

from __future__ import annotations

from ..lazy import lazy_exports

_LAZY = {
    "context": ("api", "context"),
    "HEContext": ("api", "HEContext"),
    "Ciphertext": ("api", "Ciphertext"),
    "PRESETS": ("params", "PRESETS"),
    "check_security": ("security", "check_security"),
    "security_level": ("security", "security_level"),
    "plan_depth": ("security", "plan_depth"),
    "polynomial_depth": ("security", "polynomial_depth"),
    "roundtrip": ("lab", "roundtrip"),
    "available": ("api", "available"),
}
_SUBMODULES = {
    "api",
    "params",
    "security",
    "linalg",
    "lab",
    "inference",
    "models",
    "benchmark",
    "technique",
    "compiler",
    "polynomials",
    "planner",
    "packing",
    "assess",
    "seal_backend",
    "openfhe_backend",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, _SUBMODULES)
