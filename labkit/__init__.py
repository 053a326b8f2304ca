"""labkit: the helper package behind PET Lab's notebooks.

Importing labkit is cheap: the cryptographic and ML backends (torch, TenSEAL,
OpenFHE, CrypTen, ezkl, Opacus) load only when a lab function needs them.
Submodules are reached as attributes (``labkit.bench``, ``labkit.datasets``...)
and imported on first use.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = {
    "bench",
    "config",
    "datasets",
    "doctor",
    "errors",
    "exercises",
    "results",
    "widgets",
    "he",
    "inversion",
    "fl",
    "zk",
    "mpc",
    "dp",
    "tee",
    "pqc",
    "report",
}


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES)
