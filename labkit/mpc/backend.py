"""CrypTen, made importable on torch 2.x.

CrypTen 0.4.1 (the last release, 2022) imports
``torch.onnx._internal.registration`` at import time, for its ONNX converter
(``crypten.nn.from_pytorch``). That module is gone from torch 2.x, so a plain
``import crypten`` fails. :func:`load` registers a small stand-in module
before the import; the stand-in only feeds the ONNX converter, which does
not work with the torch 2.x exporter anyway. Everything else (cryptensors,
``crypten.nn`` layers, the torch.distributed communicator and its
statistics) is CrypTen's own code, unchanged.

This file is the only place in labkit that imports crypten: every other
module calls :func:`load`.

References
----------
Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine
Learning", NeurIPS 2021 (arXiv:2109.00984).
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
from importlib import metadata

from ..errors import BackendUnavailable

_LOCK = threading.RLock()
_MODULE: types.ModuleType | None = None
_MISSING = "torch.onnx._internal.registration"

BACKEND = "CrypTen"
NOT_INSTALLED = "the crypten package is not installed (see the Makefile's crypten step)"


def version() -> str | None:
    """CrypTen's installed version (from package metadata; imports nothing)."""
    try:
        return metadata.version("crypten")
    except metadata.PackageNotFoundError:
        return None


def _register_stand_in() -> bool:
    """Register a stand-in for the registry module torch 2.x removed; True if one was needed."""
    if _MISSING in sys.modules:
        return False
    try:
        importlib.import_module(_MISSING)
        return False
    except ImportError:
        pass
    stand_in = types.ModuleType(_MISSING)
    stand_in.__doc__ = "labkit stand-in: CrypTen's ONNX converter imports this name; torch 2.x removed it."
    stand_in.registry = None  # CrypTen only touches it inside from_pytorch, unsupported here
    sys.modules[_MISSING] = stand_in
    return True


def load() -> types.ModuleType:
    """Import CrypTen with the torch 2.x shim applied and return the module.

    Idempotent and thread safe (a lock guards the first import); each process
    applies the shim to its own ``sys.modules``, so it is process safe too.

    Raises
    ------
    BackendUnavailable
        CrypTen or torch is not installed, or the import fails for another reason.

    >>> crypten = load()
    >>> crypten.__version__
    '0.4.1'
    """
    global _MODULE
    if _MODULE is not None:
        return _MODULE
    with _LOCK:
        if _MODULE is not None:
            return _MODULE
        if version() is None:
            raise BackendUnavailable(BACKEND, NOT_INSTALLED)
        try:
            import torch.onnx  # noqa: F401  (the shim's parent package must exist first)
        except ImportError as exc:
            raise BackendUnavailable(BACKEND, f"torch does not import: {exc}") from exc
        _register_stand_in()
        try:
            module = importlib.import_module("crypten")
        except Exception as exc:  # any import-time failure means the backend is unusable
            raise BackendUnavailable(BACKEND, f"import crypten failed: {type(exc).__name__}: {exc}") from exc
        _MODULE = module
        return module


__all__ = ["BACKEND", "load", "version"]
