"""Pre-flight for an ONNX graph: circuit size, key bytes and prover memory in seconds, before any setup.

:func:`estimate` runs the first steps of the pipeline (ezkl ``gen_settings``
and calibration, exactly as :func:`labkit.zk.circuit.build` runs them, so the
size it finds is the size a build gets) and reads the cost from the settings
with :func:`labkit.zk.footprint.from_settings`. Nothing is compiled, no
reference string is made, no key is generated. :func:`preflight` does the
same and refuses (:class:`~labkit.errors.InvalidInput`, with the estimate in
the message) what would not fit in a memory budget. :func:`measure_prover`
proves once in a child process (:mod:`labkit.zk.prover`) and reports the peak memory proving added, the
figure the estimate stands for.

References
----------
ezkl documentation (settings and calibration): https://docs.ezkl.xyz/.
The Halo2 book, https://zcash.github.io/halo2/.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import validate
from ..errors import InvalidInput
from . import footprint
from .circuit import DECOMPOSITION, FILES, TARGETS, Visibility, onnx_shapes, settle

DEFAULT_VISIBILITY = {"input": "private", "params": "public", "output": "public"}


@dataclass(frozen=True)
class Preflight:
    """The estimate for one graph: its :class:`~labkit.zk.footprint.Footprint`, its settings, the time taken."""

    footprint: footprint.Footprint
    settings: dict[str, Any]
    seconds: float

    def as_dict(self) -> dict[str, float]:
        """The footprint's numbers and the pre-flight's own time."""
        return {**self.footprint.as_dict(), "preflight_seconds": self.seconds}


def calibration_array(onnx_bytes: bytes, calibration: Any) -> np.ndarray:
    """``calibration`` as (samples, *input shape of the graph): one sample of that shape, or several."""
    shape = onnx_shapes(onnx_bytes)[0]
    arr = validate.finite_array("calibration", calibration)
    if arr.shape == shape:
        return arr[None]
    if arr.shape[1:] == shape and len(arr) >= 1:
        return arr
    if arr.shape[1:] == shape[1:] and shape[0] == 1:  # samples without the batch axis
        return arr[:, None]
    raise InvalidInput(f"calibration has shape {arr.shape}; the graph takes inputs of shape {shape}.")


def estimate(
    onnx_bytes: bytes,
    calibration: Any,
    *,
    visibility: Visibility | dict | None = None,
    scale: int | None = None,
    logrows: int | None = None,
    target: str = "resources",
    decomposition: tuple[int, int] = DECOMPOSITION,
) -> Preflight:
    """Settings and calibration for ``onnx_bytes``, and what its circuit would cost (no setup, no proof).

    Parameters
    ----------
    onnx_bytes : bytes
        The graph (static shapes, batch of one).
    calibration : array-like
        One input of the graph's shape, or several along a first axis.
    visibility, scale, logrows, target, decomposition
        As for :class:`labkit.zk.ZKModel` (default visibility: private input,
        public parameters, public output).

    Returns
    -------
    Preflight
        ``footprint`` holds logrows, pk/vk/srs bytes, prover memory and a rough proving time.
    """
    if not isinstance(onnx_bytes, (bytes, bytearray)):
        raise InvalidInput(f"onnx_bytes must be the bytes of an ONNX model, not {type(onnx_bytes).__name__}.")
    validate.choice("target", target, TARGETS)
    if scale is not None:
        scale = validate.integer("scale", scale, low=0, high=20)
    vis = Visibility.of(DEFAULT_VISIBILITY if visibility is None else visibility)
    calib = calibration_array(bytes(onnx_bytes), calibration)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="labkit-zk-preflight-") as tmp:
        work = Path(tmp)
        settle(
            work,
            bytes(onnx_bytes),
            calib,
            visibility=vis,
            scale=scale,
            logrows=logrows,
            target=target,
            decomposition=decomposition,
        )
        settings = json.loads((work / FILES["settings"]).read_text())
    return Preflight(footprint.from_settings(settings), settings, time.perf_counter() - start)


def preflight(onnx_bytes: bytes, calibration: Any, *, budget_bytes: int | None = None, **options: Any) -> Preflight:
    """:func:`estimate`, refused with InvalidInput (the estimate in the message) when the prover would not fit.

    ``budget_bytes`` None: :func:`labkit.workload.default_budget_bytes`. Other
    keyword arguments go to :func:`estimate`.
    """
    found = estimate(onnx_bytes, calibration, **options)
    footprint.check_budget(found.footprint, budget_bytes)
    return found


def measure_prover(zk: Any, x: Any) -> dict[str, float]:
    """Prove ``x`` once with ``zk`` (a ZKModel) in a child process: the memory proving added, and its time.

    Returns
    -------
    dict
        ``prover_ram_bytes`` (peak resident size while proving minus the size
        before: what :attr:`Footprint.prover_ram_bytes` estimates),
        ``peak_rss_bytes`` (the child's whole peak) and ``prove_seconds``.
        Linux only (reads ``/proc``); elsewhere the memory figures are 0.
    """
    proof = zk.prove(x, isolated=True)
    return {
        "prover_ram_bytes": proof.meta["prover_ram_bytes"],
        "peak_rss_bytes": proof.meta["peak_rss_bytes"],
        "prove_seconds": proof.seconds,
    }
