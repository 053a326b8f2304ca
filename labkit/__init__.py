"""labkit: the helper package behind PET Lab's notebooks.

Importing labkit is cheap: the cryptographic and ML backends (torch, TenSEAL,
OpenFHE, CrypTen, ezkl, Opacus) load only when a lab function needs them.
Submodules are reached as attributes (``labkit.bench``, ``labkit.datasets``...)
and imported on first use. ``labkit.assess(workload, ...)`` is
:func:`labkit.assessment.assess`: your model and data under each technique.
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
    "assessment",
    "workload",
}


def __getattr__(name: str):
    if name == "assess":  # the function, from its module (loaded like the submodules below)
        return importlib.import_module(f"{__name__}.assessment").assess
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES | {"assess"})
