"""The :class:`Workload`: a model (one ONNX graph) and its data, the one input of every ``assess`` door.

Three ways in, one path: :meth:`Workload.from_torch` exports the module once
(TorchScript exporter, static batch of one) and continues as
:meth:`Workload.from_onnx`; :meth:`Workload.load` reads files (``.onnx`` and
``.npz``/``.csv``) as untrusted data and continues the same way. The lab's own
demonstration models (:mod:`labkit.workload.examples`) come in through
:meth:`from_torch` too.

Everything is checked before any cryptography: the model parses and fits the
memory budget, the data is finite, its samples have the model's input shape,
its labels are among the model's outputs.

References
----------
ONNX IR specification, https://onnx.ai/onnx/repo-docs/IR.html.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import InvalidInput
from .data import check_features, check_labels, read_data_file, split
from .graph import Program, input_shape_of
from .graph import read as read_graph
from .onnxfile import export_torch, parse_model, read_model_file
from .support import Problem, default_budget_bytes


@dataclass(frozen=True, eq=False)
class Workload:
    """A model and its data, checked.

    Attributes
    ----------
    name : str
        Shown in reports and stored with every Result.
    onnx_bytes : bytes
        The model as one self-contained ONNX file (external data inlined).
    X_train, y_train, X_test, y_test : numpy arrays
        Samples as float32 in the model's input shape; labels as int64 class indices.
    source : str
        Where it came from ("torch", "onnx", "files: model.onnx + data.npz", "example").
    """

    name: str
    onnx_bytes: bytes = field(repr=False)
    X_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    X_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    source: str = "onnx"
    model_proto: Any = field(default=None, repr=False, compare=False)
    info: dict = field(default_factory=dict, repr=False, compare=False)

    # -- the ways in ---------------------------------------------------------------------------------
    @classmethod
    def from_torch(cls, model: Any, X, y, *, X_test=None, y_test=None, name: str | None = None) -> Workload:
        """A workload from a torch module (exported once to ONNX) and arrays of samples and labels."""
        import torch

        if not isinstance(model, torch.nn.Module):
            raise InvalidInput(f"model must be a torch.nn.Module, not {type(model).__name__}.")
        arr = np.asarray(X)
        if arr.ndim < 2 or len(arr) == 0:
            raise InvalidInput(f"X must hold samples along its first axis, not shape {arr.shape}.")
        onnx_bytes = export_torch(model, tuple(arr.shape[1:]))
        return cls.from_onnx(
            onnx_bytes, X, y, X_test=X_test, y_test=y_test, name=name or type(model).__name__, source="torch"
        )

    @classmethod
    def from_onnx(
        cls, model: bytes | Any, X, y, *, X_test=None, y_test=None, name: str | None = None, source: str = "onnx"
    ) -> Workload:
        """A workload from ONNX bytes (or a ModelProto already read) and arrays."""
        proto = parse_model(model) if isinstance(model, (bytes, bytearray)) else model
        shape, problems = input_shape_of(proto)
        if shape is None:
            raise InvalidInput("; ".join(str(p) for p in problems))
        n_out = _output_size(proto)
        _check_weights_fit(proto)
        n_classes = max(n_out, 2)
        X = check_features(X, what="X", input_shape=shape)
        y = check_labels(y, what="y", n=len(X), n_classes=n_classes)
        if (X_test is None) != (y_test is None):
            raise InvalidInput("give X_test and y_test together, or neither (the data is then split 75/25).")
        if X_test is None:
            (X, y), (X_test, y_test) = split(X, y)
        else:
            X_test = check_features(X_test, what="X_test", input_shape=shape)
            y_test = check_labels(y_test, what="y_test", n=len(X_test), n_classes=n_classes)
        raw = proto.SerializeToString()
        return cls(name or proto.graph.name or "model", raw, X, y, X_test, y_test, source, proto)

    @classmethod
    def load(
        cls,
        model_path: str | os.PathLike,
        data_path: str | os.PathLike,
        *,
        label: str | int | None = None,
        name: str | None = None,
    ) -> Workload:
        """A workload from files: an ``.onnx`` model and ``.npz`` or ``.csv`` data (see :mod:`.data`)."""
        proto = read_model_file(model_path)
        arrays = read_data_file(data_path, label=label)
        from pathlib import Path

        stem = name or Path(model_path).stem
        source = f"files: {Path(model_path).name} + {Path(data_path).name}"
        return cls.from_onnx(
            proto,
            arrays["X"],
            arrays["y"],
            X_test=arrays.get("X_test"),
            y_test=arrays.get("y_test"),
            name=stem,
            source=source,
        )

    # -- what it is ----------------------------------------------------------------------------------
    @property
    def proto(self) -> Any:
        """The ONNX ModelProto (parsed again from the bytes if needed)."""
        if self.model_proto is not None:
            return self.model_proto
        return parse_model(self.onnx_bytes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One sample's shape (no batch dimension)."""
        return tuple(self.X_test.shape[1:])

    @cached_property
    def n_outputs(self) -> int:
        """Values the model outputs per sample (1 for a binary model with one score)."""
        return _output_size(self.proto)

    @property
    def n_classes(self) -> int:
        """Classes the labels range over (2 for a one-output binary model)."""
        return max(self.n_outputs, 2)

    @cached_property
    def digest(self) -> str:
        """sha256 of the model bytes and the data (hex): two runs on the same workload share it."""
        h = hashlib.sha256(self.onnx_bytes)
        for arr in (self.X_train, self.y_train, self.X_test, self.y_test):
            h.update(str(arr.shape).encode())
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()

    @cached_property
    def read(self) -> tuple[Program | None, tuple[Problem, ...]]:
        """(program, problems): the graph read as a feed-forward program (see :mod:`.graph`)."""
        program, problems = read_graph(self.proto)
        return program, tuple(problems)

    @property
    def program(self) -> Program | None:
        """The feed-forward program, or None when the graph has ops outside it (see :attr:`problems`)."""
        return self.read[0]

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Why the graph is not a feed-forward program the lab reads (empty when it is)."""
        return self.read[1]

    def graph_ops(self) -> list[tuple[str, str]]:
        """(node name, op type) of every node, in order."""
        return [(n.name or n.op_type, n.op_type) for n in self.proto.graph.node]

    def n_parameters(self) -> int:
        """Values in the model's weight tensors."""
        return int(sum(np.prod(t.dims) for t in self.proto.graph.initializer))

    def tag(self) -> dict[str, str]:
        """The workload's name and digest prefix, for a Result's params."""
        return {"workload": self.name, "workload_digest": self.digest[:16]}

    # -- the original model in plaintext -------------------------------------------------------------
    def logits(self, X) -> np.ndarray:
        """The unmodified model's outputs (float64, shape (n, n_outputs)) on ``X``."""
        X = check_features(X, what="X", input_shape=self.input_shape)
        if self.program is not None:
            return self.program.forward(X).reshape(len(X), -1)
        return _reference_outputs(self.proto, X).reshape(len(X), -1)

    def predict(self, X) -> np.ndarray:
        """Class labels of the unmodified model."""
        return labels_from(self.logits(X), final=self.program.final if self.program else None)

    def accuracy(self) -> float:
        """Accuracy of the unmodified model on the test split."""
        return float(np.mean(self.predict(self.X_test) == self.y_test))

    def summary(self) -> dict[str, Any]:
        """What a report shows about the workload: shapes, sizes, layers, plaintext accuracy."""
        program = self.program
        return {
            "name": self.name,
            "source": self.source,
            "digest": self.digest[:16],
            "input_shape": list(self.input_shape),
            "outputs": self.n_outputs,
            "parameters": self.n_parameters(),
            "train_samples": len(self.X_train),
            "test_samples": len(self.X_test),
            "ops": sorted({op for _, op in self.graph_ops()}),
            "layers": program.summary() if program else [],
            "accuracy": self.accuracy(),
        }


def labels_from(outputs: np.ndarray, *, final: str | None = None) -> np.ndarray:
    """Class labels from model outputs: argmax, or a threshold for one output (0.5 after a sigmoid, else 0)."""
    out = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)
    if out.shape[1] == 1:
        return (out[:, 0] > (0.5 if final == "sigmoid" else 0.0)).astype(np.int64)
    return np.argmax(out, axis=1).astype(np.int64)


def _output_size(proto: Any) -> int:
    outputs = proto.graph.output
    if len(outputs) != 1:
        raise InvalidInput(
            f"the model has {len(outputs)} outputs; classification models with one output are supported."
        )
    dims = outputs[0].type.tensor_type.shape.dim
    sizes = [d.dim_value for d in dims[1:]]
    if not dims or any(s <= 0 for s in sizes):
        raise InvalidInput("the model's output shape is not fixed; export it with a static shape (batch, classes).")
    return int(np.prod(sizes)) if sizes else 1


def _check_weights_fit(proto: Any) -> None:
    """A model whose weights alone (as float64, the way the lab computes) exceed the memory budget is refused."""
    values = sum(int(np.prod(t.dims)) for t in proto.graph.initializer)
    need, budget = values * 8 * 3, default_budget_bytes()  # weights, a working copy and the compiled form
    if need > budget:
        raise InvalidInput(
            f"the model holds {values:,} weights; working on them needs about {need / 2**20:,.0f} MB, over the memory "
            f"budget of {budget / 2**20:,.0f} MB. Use a smaller model, or raise LABKIT_MEMORY_BUDGET_MB."
        )


def _reference_outputs(proto: Any, X: np.ndarray) -> np.ndarray:
    """ONNX's reference evaluator, one sample at a time (for graphs outside the feed-forward subset)."""
    from onnx.reference import ReferenceEvaluator

    evaluator = ReferenceEvaluator(proto)
    inits = {t.name for t in proto.graph.initializer}
    name = next(i.name for i in proto.graph.input if i.name not in inits)
    return np.stack([np.asarray(evaluator.run(None, {name: x[None].astype(np.float32)})[0]).ravel() for x in X])
