"""CrypTen, made importable on torch 2.x, and a one-second smoke test.

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
from typing import Any

from ..errors import BackendUnavailable, LabkitError

_LOCK = threading.RLock()
_MODULE: types.ModuleType | None = None
_MISSING = "torch.onnx._internal.registration"

BACKEND = "CrypTen"

# Inputs of the smoke test: party 0 holds A, party 1 holds B.
SMOKE_A = (1.5, 2.5)
SMOKE_B = (3.0, 4.0)
SMOKE_EXPECTED = sum(SMOKE_A) + sum(SMOKE_B)  # 11.0


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
            raise BackendUnavailable(BACKEND, "the crypten package is not installed (see the Makefile's crypten step)")
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


def _smoke_task(party: Any, private: Any) -> float:
    """Party side of :func:`smoke_add`: share own input, add, reveal the total."""
    a = party.share(private if party.rank == 0 else None, shape=(len(SMOKE_A),), src=0)
    b = party.share(private if party.rank == 1 else None, shape=(len(SMOKE_B),), src=1)
    return float((a + b).sum().get_plain_text().item())


def smoke_add(parties: int = 2, *, timeout: float = 30.0) -> float:
    """Add two secret-shared vectors with real CrypTen parties; return the decrypted total.

    Party 0 holds ``[1.5, 2.5]``, party 1 holds ``[3.0, 4.0]``; each shares its
    own vector, the parties add the shares and reveal the total, 11.0. Every
    party is a separate OS process talking to the others over TCP on
    127.0.0.1 (torch.distributed, gloo). Takes one to three seconds, most of
    it importing torch in each process.

    Parameters
    ----------
    parties : int
        Number of parties, 2 or 3 (the third holds no input).
    timeout : float
        Seconds before the parties are killed and :class:`~labkit.mpc.parties.PartyTimeout` is raised.

    Returns
    -------
    float
        The decrypted sum, 11.0 up to fixed-point precision (2**-16).

    Raises
    ------
    InvalidInput
        ``parties`` or ``timeout`` out of range.
    BackendUnavailable
        CrypTen is not installed (a failing import inside the parties surfaces as PartyFailed
        naming BackendUnavailable and its reason).
    LabkitError
        A party failed, the rendezvous failed, the parties disagree, or the timeout expired.
        No party process is left running in any case.

    References
    ----------
    Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine Learning", NeurIPS 2021.
    """
    from . import parties as _parties

    _parties.check_parties(parties, allowed=(2, 3))
    if version() is None:
        raise BackendUnavailable(BACKEND, "the crypten package is not installed (see the Makefile's crypten step)")
    run = _parties.run_parties(
        "labkit.mpc._crypten:_smoke_task",
        [list(SMOKE_A), list(SMOKE_B)] + [None] * (parties - 2),
        timeout=timeout,
        provider="TFP",  # an addition needs no Beaver triples, so no dealer process is started
    )
    totals = run.outputs
    if any(abs(t - totals[0]) > 1e-9 for t in totals):
        raise LabkitError(f"CrypTen parties revealed different sums: {totals}.")
    return totals[0]


__all__ = ["BACKEND", "SMOKE_EXPECTED", "load", "smoke_add", "version"]
