"""A user's ONNX model as untrusted data: size limits, safe parsing, external data kept in its folder.

ONNX is a protobuf message: parsing it runs no code from the file. What can
still go wrong is what the file points at or how big it is, so before
anything is read whole:

- the file's size is checked against :func:`max_model_bytes`;
- external-data references (``location`` of a tensor stored beside the model)
  must be relative paths that resolve inside the model's own folder, with no
  ``..``, no absolute path and no symbolic link leading out; their declared
  lengths count towards the same limit;
- every tensor's element count is checked against :data:`MAX_TENSOR_ELEMENTS`.

Torch models are exported here too, once, with the TorchScript-based
("legacy") exporter at a static batch of one, so every technique reads the
same ONNX graph.

References
----------
ONNX IR specification, https://onnx.ai/onnx/repo-docs/IR.html (external data:
``ExternalDataInfo``; opsets). PyTorch documentation, ``torch.onnx.export``
(``dynamo=False``: the TorchScript-based exporter).
"""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ..errors import InvalidInput

OPSET = 17  # ezkl's front end (tract) is tested on opsets 9 to 18; CrypTen and our compiler read 17
MAX_TENSOR_ELEMENTS = 64 * 2**20  # one weight tensor: 64 Mi values (256 MB as float32)
ENV_MAX_MODEL_MB = "LABKIT_MAX_MODEL_MB"


def max_model_bytes() -> int:
    """Largest model file (with its external data) accepted: ``LABKIT_MAX_MODEL_MB``, default 256 MB."""
    raw = os.environ.get(ENV_MAX_MODEL_MB, "256")
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"{ENV_MAX_MODEL_MB}={raw!r} must be a number of megabytes.") from None
    return int(value * 2**20)


def _too_big(what: str, size: int, limit: int) -> InvalidInput:
    return InvalidInput(
        f"{what} is {size / 2**20:.1f} MB, over the {limit / 2**20:.0f} MB limit for a model; "
        f"raise {ENV_MAX_MODEL_MB} if you trust the file and have the memory."
    )


def read_model_file(path: str | os.PathLike) -> Any:
    """Parse an ``.onnx`` file (and its external data, inside its folder) into a ModelProto."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"model file {path} does not exist (or is not a file).")
    if path.suffix.lower() in (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin"):
        raise InvalidInput(
            f"{path.name}: PyTorch and pickle files can run code when loaded, so the lab does not open them. "
            "Export the model to ONNX (torch.onnx.export), or pass the torch module itself from Python: "
            "Workload.from_torch(model, X, y)."
        )
    if path.suffix.lower() != ".onnx":
        raise InvalidInput(f"{path.name}: give the model as an .onnx file (not {path.suffix or 'no extension'}).")
    size = path.stat().st_size
    limit = max_model_bytes()
    if size > limit:
        raise _too_big(path.name, size, limit)
    return parse_model(path.read_bytes(), folder=path.resolve().parent, what=path.name)


def parse_model(data: bytes, *, folder: Path | None = None, what: str = "the model") -> Any:
    """A ModelProto from ``data``; external data only from inside ``folder`` (refused without one)."""
    import onnx
    from google.protobuf.message import DecodeError

    if not isinstance(data, (bytes, bytearray)) or not data:
        raise InvalidInput(f"{what} is empty: give the bytes of an .onnx file.")
    limit = max_model_bytes()
    if len(data) > limit:
        raise _too_big(what, len(data), limit)
    try:
        model = onnx.load_model_from_string(bytes(data))  # parsing only: external data is never followed here
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise InvalidInput(
            f"{what} is not a valid ONNX file (truncated, or another format): {str(exc).splitlines()[0]}"
        ) from None
    if model.ir_version <= 0 or not model.graph.node or not model.graph.input:
        raise InvalidInput(f"{what} does not hold an ONNX model (no graph, no inputs or no IR version).")
    external = [t for t in _tensors(model) if t.data_location == onnx.TensorProto.EXTERNAL]
    if external:
        _load_external(model, external, folder, what, len(data))
    for tensor in _tensors(model):
        count = int(np.prod(tensor.dims, dtype=np.int64)) if tensor.dims else 1
        if count > MAX_TENSOR_ELEMENTS:
            raise InvalidInput(
                f"{what}: tensor {tensor.name!r} has {count:,} values, over the limit of {MAX_TENSOR_ELEMENTS:,}."
            )
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidInput(f"{what} is not a well-formed ONNX model: {first}") from None
    return model


def _tensors(model: Any) -> list:
    """Initializers and tensors held in node attributes (Constant values) of the main graph."""
    found = list(model.graph.initializer)
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                found.append(attr.t)
            found.extend(attr.tensors)
    return found


def _load_external(model: Any, tensors: list, folder: Path | None, what: str, used: int) -> None:
    """Check every external-data reference stays inside ``folder``, then read it."""
    from onnx.external_data_helper import load_external_data_for_tensor

    if folder is None:
        raise InvalidInput(
            f"{what} keeps its weights in external files, which only a model opened from a folder can read; "
            "save it as one file (onnx.save(model, path, save_as_external_data=False))."
        )
    root = folder.resolve()
    limit = max_model_bytes()
    for tensor in tensors:
        info = {entry.key: entry.value for entry in tensor.external_data}
        location = info.get("location", "")
        parts = PurePosixPath(location.replace("\\", "/")).parts
        if not location or PurePosixPath(location).is_absolute() or re.match(r"^[A-Za-z]:", location) or ".." in parts:
            raise InvalidInput(
                f"{what}: tensor {tensor.name!r} points at external data {location!r}; only a file inside the "
                "model's own folder (a relative path without '..') is accepted."
            )
        target = (root / location).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            raise InvalidInput(
                f"{what}: external data {location!r} of tensor {tensor.name!r} is not a file inside the model's folder."
            )
        used += int(info.get("length") or target.stat().st_size)
        if used > limit:
            raise _too_big(f"{what} with its external data", used, limit)
        try:
            load_external_data_for_tensor(tensor, str(root))
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"{what}: cannot read external data {location!r}: {exc}") from None
        tensor.data_location = 0  # the bytes are now inside the tensor
        del tensor.external_data[:]


def export_torch(model: Any, input_shape: tuple[int, ...]) -> bytes:
    """ONNX bytes of a torch module traced at a static batch of one (TorchScript exporter, opset 17)."""
    import torch

    if not isinstance(model, torch.nn.Module):
        raise InvalidInput(f"model must be a torch.nn.Module, not {type(model).__name__}.")
    was_training = model.training
    model.eval()
    sample = torch.zeros((1, *input_shape), dtype=torch.float32)
    buffer = io.BytesIO()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter is chosen on purpose
            # torch advises against folding with a training mode other than EVAL; the model is in eval mode
            # and PRESERVE only keeps BatchNormalization a node of its own, so folding is what we want
            warnings.filterwarnings("ignore", message="It is recommended that constant folding be turned off")
            torch.onnx.export(
                model,
                (sample,),
                buffer,
                input_names=["input"],
                output_names=["output"],
                opset_version=OPSET,
                do_constant_folding=True,
                # PRESERVE (the model is in eval mode): BatchNormalization stays a node of its own instead of
                # being fused into the convolution before it, so DP can see it and say what it replaces.
                training=torch.onnx.TrainingMode.PRESERVE,
                dynamo=False,
            )
    except Exception as exc:
        op = re.search(r"operator '([\w:.]+)'", str(exc))
        what = f"operator {op.group(1)}" if op else type(exc).__name__
        raise InvalidInput(
            f"the model cannot be exported to ONNX ({what}): {str(exc).splitlines()[0] if str(exc) else exc!r}. "
            f"Check that it accepts inputs of shape (batch, {', '.join(map(str, input_shape))}) and uses layers "
            "with an ONNX equivalent."
        ) from None
    finally:
        model.train(was_training)
    return buffer.getvalue()
