"""An ONNX graph read as a feed-forward program: the one description HE, MPC and ZK start from.

:func:`read` walks the nodes in order and turns each into a :class:`Layer`
(Gemm, MatMul + Add, Conv, BatchNormalization, AveragePool,
GlobalAveragePool, MaxPool, Flatten/Reshape, the activations ReLU, Sigmoid,
Tanh, GELU (the ``Gelu`` op or the Erf pattern the exporter writes), x*x and
x^2, and a final Softmax). Dropout and Identity are removed. What it cannot
read becomes a :class:`~labkit.workload.support.Problem` naming the node, its
op, why, and what to change; the program is then None and each technique's
support check reports those problems as its own.

:meth:`Program.folded` merges a BatchNormalization into the convolution or
linear layer before it (inference-time BN is an affine map per channel).

References
----------
ONNX operator specifications, https://onnx.ai/onnx/operators/.
Ioffe & Szegedy, "Batch Normalization", ICML 2015.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .layers import Layer, pooled_size
from .support import Problem, rewrite_for

REMOVED = ("Dropout", "Identity")


@dataclass(frozen=True, eq=False)
class Program:
    """The layers of a feed-forward model, in order, with the shapes of one sample."""

    layers: tuple[Layer, ...]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    notes: tuple[str, ...] = ()

    @property
    def n_outputs(self) -> int:
        """Values the model outputs per sample."""
        return int(np.prod(self.output_shape))

    @property
    def final(self) -> str | None:
        """The output activation when the model ends in softmax or sigmoid (None otherwise)."""
        last = self.layers[-1] if self.layers else None
        if last is not None and last.kind == "activation" and last.params["fn"] in ("softmax", "sigmoid"):
            return last.params["fn"]
        return None

    def n_parameters(self) -> int:
        """Weights and biases in all layers."""
        return sum(layer.n_parameters() for layer in self.layers)

    def forward(self, x: np.ndarray, *, upto: int | None = None) -> np.ndarray:
        """The model on a batch (float64); ``upto`` stops before layer number ``upto``."""
        out = np.asarray(x, dtype=np.float64).reshape(-1, *self.input_shape)
        for layer in self.layers[:upto]:
            out = layer.forward(out)
        return out

    def folded(self) -> Program:
        """The same program with each BatchNormalization merged into the conv/linear layer before it."""
        out: list[Layer] = []
        notes = list(self.notes)
        for layer in self.layers:
            prev = out[-1] if out else None
            if layer.kind == "batchnorm" and prev is not None and prev.kind in ("conv", "linear"):
                scale = np.asarray(layer.params["scale"], dtype=np.float64)
                shift = np.asarray(layer.params["shift"], dtype=np.float64)
                weight = np.asarray(prev.params["weight"], dtype=np.float64)
                shaped = scale.reshape(-1, *([1] * (weight.ndim - 1)))
                params = dict(prev.params, weight=weight * shaped, bias=prev.params["bias"] * scale + shift)
                out[-1] = replace(prev, op=f"{prev.op}+BatchNormalization", params=params, cache={})
                notes.append(f"BatchNormalization {layer.name!r} folded into {prev.op} {prev.name!r}")
                continue
            out.append(layer)
        return Program(tuple(out), self.input_shape, self.output_shape, tuple(notes))

    def summary(self) -> list[dict[str, Any]]:
        """One row per layer: kind, node, op, shapes, parameters (no values)."""
        return [
            {
                "kind": layer.kind if layer.kind != "activation" else layer.params["fn"],
                "node": layer.name,
                "op": layer.op,
                "in": list(layer.in_shape),
                "out": list(layer.out_shape),
                "parameters": layer.n_parameters(),
            }
            for layer in self.layers
        ]


def input_shape_of(model: Any) -> tuple[tuple[int, ...] | None, list[Problem]]:
    """One sample's shape from the graph's (single) input; problems for dynamic or missing dimensions."""
    inits = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs) or "none"
        return None, [
            Problem(
                "(graph)",
                "inputs",
                f"the model takes {len(inputs)} inputs ({names}), not one",
                "export a model with one input tensor",
            )
        ]
    dims = inputs[0].type.tensor_type.shape.dim
    shape, problems = [], []
    for i, d in enumerate(dims):
        if d.HasField("dim_value") and d.dim_value > 0:
            shape.append(int(d.dim_value))
        elif i == 0:
            shape.append(1)  # a symbolic batch dimension is fine: we run one sample at a time
        else:
            problems.append(
                Problem(
                    inputs[0].name, "input", f"dimension {i} is dynamic ({d.dim_param or '?'})", rewrite_for("dynamic")
                )
            )
    if not dims:
        problems.append(Problem(inputs[0].name, "input", "the input has no declared shape", rewrite_for("dynamic")))
    return (tuple(shape[1:]) if not problems else None), problems


class _Reader:
    """Walks the nodes of a chain, keeping the current tensor's name and shape."""

    def __init__(self, model: Any):
        from onnx import numpy_helper

        self.model = model
        self.consts = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        # Constant nodes depend on nothing: take their values first, so patterns read as contiguous nodes
        self.nodes = []
        for node in model.graph.node:
            if node.op_type == "Constant" and len(node.attribute) == 1 and node.attribute[0].name == "value":
                self.consts[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
            else:
                self.nodes.append(node)
        self.layers: list[Layer] = []
        self.notes: list[str] = []
        self.problems: list[Problem] = []

    def const(self, name: str) -> np.ndarray | None:
        return self.consts.get(name)

    def attrs(self, node: Any) -> dict[str, Any]:
        from onnx import helper

        return {a.name: helper.get_attribute_value(a) for a in node.attribute}

    def problem(self, node: Any, reason: str, key: str | None = None) -> None:
        self.problems.append(Problem(node.name or node.op_type, node.op_type, reason, rewrite_for(key or node.op_type)))


def read(model: Any) -> tuple[Program | None, list[Problem]]:
    """The model as a :class:`Program`, or None with the problems that stop it (see the module docstring)."""
    shape, problems = input_shape_of(model)
    if shape is None:
        return None, problems
    r = _Reader(model)
    inits = {t.name for t in model.graph.initializer}
    current = next(i.name for i in model.graph.input if i.name not in inits)
    i = 0
    while i < len(r.nodes):
        node = r.nodes[i]
        if node.op_type == "Constant":
            from onnx import numpy_helper

            value = next(iter(r.attrs(node).values()))  # value_float, value_ints...
            r.consts[node.output[0]] = numpy_helper.to_array(value) if hasattr(value, "dims") else np.asarray(value)
            i += 1
            continue
        if current not in node.input:
            if all(name in r.consts or not name for name in node.input) and _fold_constant(r, node):
                i += 1
                continue
            r.problem(
                node, "it branches off the main chain (only one path from input to output is supported)", "branch"
            )
            i += 1
            continue
        from .ops import read_node

        taken, layer, shape = read_node(r, i, current, shape)
        if taken == 0:  # a problem was recorded: keep listing the ops after it, without shapes
            _list_rest(r, i + 1)
            break
        if layer is not None:
            r.layers.append(layer)
        current = r.nodes[i + taken - 1].output[0]
        i += taken
    outputs = [o.name for o in model.graph.output]
    if not r.problems and outputs != [current]:
        r.problems.append(
            Problem(
                "(graph)",
                "outputs",
                f"the graph's outputs {outputs} are not the end of the chain ({current})",
                rewrite_for("branch"),
            )
        )
    if r.problems:
        return None, r.problems
    if not r.layers:
        return None, [Problem("(graph)", "empty", "the model computes nothing (no layer)", "export the trained model")]
    return Program(tuple(r.layers), tuple(shape_in(r.layers)), tuple(r.layers[-1].out_shape), tuple(r.notes)), []


def shape_in(layers: list[Layer]) -> tuple[int, ...]:
    """The first layer's input shape."""
    return layers[0].in_shape


def _fold_constant(r: _Reader, node: Any) -> bool:
    """Evaluate a node whose inputs are all constants (shape arithmetic); False if it cannot."""
    try:
        from onnx.reference import ReferenceEvaluator

        feeds = {name: r.consts[name] for name in node.input if name}
        outs = ReferenceEvaluator(node).run(None, feeds)
    except Exception:  # an op the reference cannot evaluate alone: treat as unsupported
        return False
    for name, value in zip(node.output, outs):
        r.consts[name] = np.asarray(value)
    return True


def _list_rest(r: _Reader, start: int) -> None:
    """After a problem, name every later node whose op no technique can run."""
    from .support import UNSUPPORTED_OPS

    for node in r.nodes[start:]:
        if node.op_type in UNSUPPORTED_OPS:
            r.problem(node, UNSUPPORTED_OPS[node.op_type])


__all__ = ["REMOVED", "Program", "input_shape_of", "pooled_size", "read"]
