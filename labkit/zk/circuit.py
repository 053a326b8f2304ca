"""From a torch module to a proving circuit and its keys, cached by content hash.

The pipeline: torch module -> ONNX (the TorchScript exporter,
``dynamo=False``) -> ezkl settings (visibility of input, parameters and
output) -> calibration (fixed-point scale and circuit size) -> compiled
circuit -> reference string -> setup (proving and verifying keys).

The proving key of even a small MLP is a hundred megabytes or more and setup
takes seconds, so everything lands in a folder under
``labkit.config.cache_dir("zk")`` named after a SHA-256 over the ONNX bytes,
the requested settings, the calibration sample and the reference string. A
second build of the same model finds the folder and skips every step.

References
----------
ezkl documentation (settings, calibration, visibility): https://docs.ezkl.xyz/
ONNX operator specification: https://onnx.ai/onnx/operators/
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import math
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import config
from ..errors import InvalidInput
from ..results import canonical_json
from . import backend, footprint
from .srs import ReferenceString, reference_string

VISIBILITIES = ("public", "private", "hashed")
TARGETS = ("resources", "accuracy")
FILES = {"onnx": "model.onnx", "settings": "settings.json", "compiled": "model.ezkl", "pk": "pk.key", "vk": "vk.key"}
_META = "meta.json"
MIN_SEARCH_LOGROWS, MAX_SEARCH_LOGROWS = 10, 20
# Range checks split values into `legs` digits of `base`, each looked up in a table of `base` rows.
# ezkl's default (16384, 2) spreads that table over several columns in a small circuit; (256, 4)
# needs one column and, measured here on the 64-32-10 MLP, ~4x less prover CPU and a 3x smaller key.
DECOMPOSITION = (256, 4)
# Parameters "public" means fixed constants of the circuit: the verifying key commits to them.
_EZKL_VISIBILITY = {"input": {}, "params": {"public": "fixed"}, "output": {}}


@dataclass(frozen=True)
class Visibility:
    """Who sees what: each of input, params and output is public, private or hashed.

    - public: the values are public inputs of the proof (for params: constants
      fixed in the circuit, so the verifying key pins the weights);
    - private: the prover keeps them; the proof says only that *some* values work;
    - hashed: a Poseidon hash of the values is public, the values stay private
      (a commitment the verifier can compare with a published one).
    """

    input: str = "public"
    params: str = "public"
    output: str = "public"

    def __post_init__(self):
        for part in ("input", "params", "output"):
            value = getattr(self, part)
            if value not in VISIBILITIES:
                raise InvalidInput(f"{part} visibility must be one of {', '.join(VISIBILITIES)}, not {value!r}.")

    @classmethod
    def of(cls, value: Visibility | dict[str, str] | None) -> Visibility:
        """A Visibility from a Visibility, a dict of some of its parts, or None (all public)."""
        if value is None:
            return cls()
        if isinstance(value, Visibility):
            return value
        if isinstance(value, dict):
            unknown = set(value) - {"input", "params", "output"}
            if unknown:
                raise InvalidInput(f"visibility keys are input, params and output; {sorted(unknown)} is not one.")
            return cls(**value)
        raise InvalidInput(f"visibility must be a dict like {{'input': 'private'}}, not {type(value).__name__}.")

    def ezkl(self, part: str) -> str:
        """The ezkl name of ``part``'s visibility (public parameters are ezkl's "fixed")."""
        value = getattr(self, part)
        return _EZKL_VISIBILITY[part].get(value, value)

    def as_dict(self) -> dict[str, str]:
        """The three choices as a plain dict."""
        return {"input": self.input, "params": self.params, "output": self.output}


def export_onnx(model: Any, sample: np.ndarray) -> bytes:
    """ONNX bytes of ``model`` at the shape of ``sample`` (batch of one).

    The workload intake's exporter (:func:`labkit.workload.onnxfile.export_torch`:
    TorchScript exporter, opset 17, static batch of one), so the zk lab's
    models and a user's model become ONNX along one code path.
    """
    from ..workload.onnxfile import export_torch

    shape = tuple(np.shape(sample))
    if len(shape) < 2 or shape[0] != 1:
        raise InvalidInput(f"the sample must be one input with a batch axis of 1, shape (1, ...), not {shape}.")
    return export_torch(model, shape[1:])


def static_batch(onnx_bytes: bytes) -> bytes:
    """The graph with a symbolic first (batch) dimension of its input and output fixed to 1.

    ezkl lays out a circuit for one shape; a model exported with a dynamic batch
    axis proves one sample at a time. Other dimensions are left as they are.
    """
    import onnx

    try:
        model = onnx.load_from_string(bytes(onnx_bytes))
    except Exception as exc:  # protobuf raises its own DecodeError
        raise InvalidInput(f"these bytes are not an ONNX model ({type(exc).__name__}).") from None
    weights = {t.name for t in model.graph.initializer}
    changed = False
    for value in [*(i for i in model.graph.input if i.name not in weights), *model.graph.output]:
        dims = value.type.tensor_type.shape.dim
        if dims and not dims[0].dim_value:
            dims[0].dim_value = 1  # clears dim_param (a oneof)
            changed = True
    return model.SerializeToString() if changed else bytes(onnx_bytes)


def onnx_shapes(onnx_bytes: bytes) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The static (input, output) shapes of a one-input, one-output ONNX graph, batch axis included."""
    import onnx

    try:
        graph = onnx.load_from_string(bytes(onnx_bytes)).graph
    except Exception as exc:  # protobuf raises its own DecodeError
        raise InvalidInput(f"these bytes are not an ONNX model ({type(exc).__name__}).") from None
    weights = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in weights]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise InvalidInput(
            f"the graph has {len(inputs)} inputs and {len(graph.output)} outputs; the zk pipeline proves one of each."
        )
    shapes = tuple(tuple(d.dim_value for d in v.type.tensor_type.shape.dim) for v in (inputs[0], graph.output[0]))
    if any(not shape or any(d <= 0 for d in shape) for shape in shapes):
        raise InvalidInput("the graph's shapes are not static; export it with fixed shapes (batch of one).")
    return shapes[0], shapes[1]


def onnx_ops(onnx_bytes: bytes) -> list[str]:
    """The ONNX operator types in a model, sorted."""
    import onnx

    return sorted({node.op_type for node in onnx.load_from_string(onnx_bytes).graph.node})


def _ezkl_error(exc: Exception, onnx_bytes: bytes, step: str) -> InvalidInput:
    text = str(exc)
    match = re.search(r"Unimplemented\((\w+)\)", text) or re.search(r'node #\d+ "/?(\w+)', text)
    if match:
        return InvalidInput(
            f"ezkl cannot build a circuit for the ONNX operator {match.group(1)} ({step}: {text}). "
            f"Replace that layer; the model uses {', '.join(onnx_ops(onnx_bytes))}."
        )
    return InvalidInput(f"ezkl failed at {step}: {text}")


@dataclass
class Circuit:
    """A compiled circuit with its keys, in one cache folder."""

    key: str
    folder: Path
    visibility: Visibility
    srs: ReferenceString
    built: bool  # True when this call ran the pipeline, False when it came from the cache
    timings: dict[str, float] = field(default_factory=dict)  # seconds per pipeline step run now

    def path(self, name: str) -> Path:
        """The path of one of :data:`FILES` ("onnx", "settings", "compiled", "pk", "vk") in the cache folder."""
        return self.folder / FILES[name]

    @property
    def settings(self) -> dict[str, Any]:
        """ezkl's settings of this circuit (run arguments, scales, rows)."""
        return json.loads(self.path("settings").read_text())

    @property
    def logrows(self) -> int:
        """The circuit size: it has ``2**logrows`` rows."""
        return int(self.settings["run_args"]["logrows"])

    @property
    def input_scale(self) -> int:
        """Fixed-point bits after the point of the input."""
        return int(self.settings["model_input_scales"][0])

    @property
    def output_scale(self) -> int:
        """Fixed-point bits after the point of the output."""
        return int(self.settings["model_output_scales"][0])

    @property
    def build_timings(self) -> dict[str, float]:
        """Seconds per pipeline step when this circuit was first built (kept in the cache)."""
        meta = self.folder / _META
        return dict(json.loads(meta.read_text()).get("timings", {})) if meta.exists() else dict(self.timings)

    @property
    def num_rows(self) -> int:
        """Rows the circuit uses (of ``2**logrows``)."""
        return int(self.settings["num_rows"])

    def sizes(self) -> dict[str, int]:
        """Bytes on disk: ONNX, compiled circuit, proving key, verifying key, reference string."""
        out = {name: self.path(name).stat().st_size for name in ("onnx", "compiled", "pk", "vk")}
        out["srs"] = self.srs.size
        return out


def _check_decomposition(decomposition: tuple[int, int]) -> tuple[int, int]:
    try:
        base, legs = (int(v) for v in decomposition)
    except (TypeError, ValueError):
        raise InvalidInput(f"decomposition must be (base, legs), not {decomposition!r}.") from None
    if not (2 <= base <= 2**16 and base & (base - 1) == 0) or not 1 <= legs <= 8 or base**legs < 2**24:
        raise InvalidInput(
            f"decomposition {decomposition!r}: base must be a power of two up to 65536 and "
            "base**legs at least 2**24 (the range of values the circuit can check)."
        )
    return base, legs


def circuits_dir() -> Path:
    """Where built circuits and their keys are cached, one folder per content key."""
    return config.cache_dir("zk", "circuits")


def _data_json(path: Path, arrays: list[np.ndarray]) -> None:
    path.write_text(json.dumps({"input_data": [np.asarray(a, dtype=float).ravel().tolist() for a in arrays]}))


def content_key(onnx_bytes: bytes, request: dict[str, Any], calibration: np.ndarray, srs_id: str) -> str:
    """SHA-256 naming a circuit: model bytes, settings asked for, calibration data, reference string."""
    h = hashlib.sha256()
    for part in (
        onnx_bytes,
        canonical_json(request).encode(),
        np.ascontiguousarray(calibration, "<f8").tobytes(),
        srs_id.encode(),
        backend.version().encode(),
    ):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def build(
    onnx_bytes: bytes,
    calibration: np.ndarray,
    *,
    visibility: Visibility,
    scale: int | None = None,
    logrows: int | None = None,
    target: str = "resources",
    srs_path: str | os.PathLike | None = None,
    decomposition: tuple[int, int] = DECOMPOSITION,
    cache: bool = True,
    budget_bytes: int | None = None,
) -> Circuit:
    """Settings, calibration, compile, reference string and setup for one ONNX model (or the cached result).

    ``calibration`` holds one or more sample inputs (first axis = samples)
    used to pick the fixed-point scale and the circuit size. After calibration,
    before the reference string and the keys, a circuit whose prover would not
    fit in ``budget_bytes`` (None: the lab's default budget) is refused with
    the estimate (:func:`labkit.zk.footprint.check_budget`).
    """
    if target not in TARGETS:
        raise InvalidInput(f"target must be one of {', '.join(TARGETS)}, not {target!r}.")
    base, legs = _check_decomposition(decomposition)
    request = {
        "visibility": visibility.as_dict(),
        "scale": scale,
        "logrows": logrows,
        "target": target,
        "decomposition": [base, legs],
    }
    srs_id = "dev" if srs_path is None else hashlib.sha256(Path(srs_path).read_bytes()).hexdigest()
    key = content_key(onnx_bytes, request, calibration, srs_id)
    folder = circuits_dir() / key[:32]
    if cache and (folder / _META).exists():
        meta = json.loads((folder / _META).read_text())
        srs = reference_string(meta["logrows"], path=srs_path)
        return Circuit(key, folder, visibility, srs, built=False)
    work = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        timings = _run_pipeline(
            work, onnx_bytes, calibration, visibility, scale, logrows, target, srs_path, (base, legs), budget_bytes
        )
        settings = json.loads((work / FILES["settings"]).read_text())
        (work / _META).write_text(
            json.dumps(
                {
                    "key": key,
                    "request": request,
                    "logrows": settings["run_args"]["logrows"],
                    "ezkl": backend.version(),
                    "created": time.time(),
                    "timings": timings,
                }
            )
        )
        if not cache:
            # An uncached build gets a folder of its own: the cached circuit may be in use by live models.
            folder = folder.with_name(f"{folder.name}.uncached.{os.getpid()}.{time.time_ns()}")
            os.replace(work, folder)
        elif not (folder / _META).exists():  # another process may have finished it meanwhile
            try:
                os.replace(work, folder)
            except OSError:
                if not (folder / _META).exists():
                    raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    srs = reference_string(int(json.loads((folder / _META).read_text())["logrows"]), path=srs_path)
    return Circuit(key, folder, visibility, srs, built=True, timings=timings)


def _run_pipeline(
    work: Path,
    onnx_bytes: bytes,
    calibration: np.ndarray,
    visibility: Visibility,
    scale: int | None,
    logrows: int | None,
    target: str,
    srs_path,
    decomposition: tuple[int, int],
    budget_bytes: int | None,
) -> dict[str, float]:
    paths = {name: work / fname for name, fname in FILES.items()}
    timings = {
        "settings": settle(
            work,
            onnx_bytes,
            calibration,
            visibility=visibility,
            scale=scale,
            logrows=logrows,
            target=target,
            decomposition=decomposition,
        )
    }
    settings = json.loads(paths["settings"].read_text())
    footprint.check_budget(footprint.from_settings(settings), budget_bytes)

    start = time.perf_counter()
    try:
        backend.call("compile_circuit", paths["onnx"], paths["compiled"], paths["settings"])
    except RuntimeError as exc:
        raise _ezkl_error(exc, onnx_bytes, "compile") from None
    timings["compile"] = time.perf_counter() - start

    start = time.perf_counter()
    srs = reference_string(int(settings["run_args"]["logrows"]), path=srs_path)
    timings["srs"] = time.perf_counter() - start

    start = time.perf_counter()
    backend.call("setup", paths["compiled"], paths["vk"], paths["pk"], srs_path=srs.path)
    timings["setup"] = time.perf_counter() - start
    return timings


def settle(
    work: Path,
    onnx_bytes: bytes,
    calibration: np.ndarray,
    *,
    visibility: Visibility,
    scale: int | None,
    logrows: int | None,
    target: str,
    decomposition: tuple[int, int],
) -> float:
    """Write the ONNX model and its calibrated settings into ``work``; returns the seconds taken.

    The first steps of :func:`build`, and all that :mod:`labkit.zk.preflight` runs:
    ``gen_settings`` with the visibility and decomposition asked for, then
    calibration of the scale and the circuit size.
    """
    ezkl = backend.ezkl()
    paths = {name: work / fname for name, fname in FILES.items()}
    paths["onnx"].write_bytes(onnx_bytes)
    _data_json(work / "calibration.json", list(calibration))
    start = time.perf_counter()
    run_args = ezkl.PyRunArgs()
    run_args.input_visibility = visibility.ezkl("input")
    run_args.param_visibility = visibility.ezkl("params")
    run_args.output_visibility = visibility.ezkl("output")
    if scale is not None:
        run_args.input_scale = run_args.param_scale = scale
    run_args.decomp_base, run_args.decomp_legs = decomposition
    try:
        backend.call("gen_settings", paths["onnx"], paths["settings"], py_run_args=run_args)
    except RuntimeError as exc:
        raise _ezkl_error(exc, onnx_bytes, "settings") from None
    _calibrate(work, paths, onnx_bytes, scale, logrows, target)
    return time.perf_counter() - start


@contextlib.contextmanager
def _quiet_ezkl_search():
    """Silence ezkl's search log for the block. Libraries that call ``logging.basicConfig`` at import
    (Opacus does) bind a root handler to the stderr of that moment, which ``redirect_stderr`` does
    not reach, so the ``ezkl`` logger is cut off from the root for the block as well."""
    logger = logging.getLogger("ezkl")
    sink = logging.NullHandler()
    propagate = logger.propagate
    logger.addHandler(sink)
    logger.propagate = False
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logger.removeHandler(sink)
        logger.propagate = propagate


def _calibrate(
    work: Path, paths: dict[str, Path], onnx_bytes: bytes, scale: int | None, logrows: int | None, target: str
) -> None:
    """Calibrate scale and size. ezkl's calibration fills the row budget it is given, so the
    smallest budget that works is searched for (from just under the uncalibrated row count)."""
    scales = [scale] if scale is not None else None
    if logrows is not None:
        budgets = [logrows]
    else:
        rows = int(json.loads(paths["settings"].read_text())["num_rows"])
        budgets = list(range(max(MIN_SEARCH_LOGROWS, math.ceil(math.log2(max(rows, 2))) - 1), MAX_SEARCH_LOGROWS + 1))
    last: Exception | None = None
    for budget in budgets:
        try:
            # ezkl reports each scale it rejects while searching ("forward pass failed ...") through Python's
            # logging (logger "ezkl.*") or, with no handler configured, on stderr: expected noise of the search,
            # kept out of notebooks; a calibration that fails still raises.
            with _quiet_ezkl_search():
                backend.call(
                    "calibrate_settings",
                    work / "calibration.json",
                    paths["onnx"],
                    paths["settings"],
                    target,
                    scales=scales,
                    max_logrows=budget,
                )
        except RuntimeError as exc:
            last = exc
            continue
        needed = int(json.loads(paths["settings"].read_text())["run_args"]["logrows"])
        if logrows is not None and needed > logrows:
            raise InvalidInput(f"this circuit needs 2**{needed} rows; raise logrows to at least {needed}.")
        return
    if logrows is not None:
        raise InvalidInput(f"the circuit does not fit in 2**{logrows} rows ({last}); raise logrows or lower scale.")
    raise _ezkl_error(last or RuntimeError("calibration failed"), onnx_bytes, "calibration")


def cache_info() -> dict[str, Any]:
    """What the zk cache holds: circuits, reference strings, bytes on disk."""
    root = config.cache_dir("zk")
    circuits = [p for p in circuits_dir().iterdir() if (p / _META).exists()]
    return {
        "folder": str(root),
        "circuits": len(circuits),
        "reference_strings": len(list(root.glob("srs/*.srs"))),
        "bytes": config.folder_usage(root)[1],
    }


def clear_cache(*, keep_reference_strings: bool = False) -> int:
    """Delete cached circuits and keys (and the development reference strings); returns bytes freed."""
    before = cache_info()["bytes"]
    for entry in config.cache_dir("zk").iterdir():
        if keep_reference_strings and entry.name == "srs":
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink()
    return before - cache_info()["bytes"]
