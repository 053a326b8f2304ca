"""One ONNX node (or a short pattern of nodes) read into a :class:`~labkit.workload.layers.Layer`.

:func:`read_node` is called by :func:`labkit.workload.graph.read` with the
index of a node that consumes the current tensor; it returns how many nodes it
took, the layer (None for a removed node) and the new sample shape, or
records a problem and returns 0.

References
----------
ONNX operator specifications, https://onnx.ai/onnx/operators/ (Gemm, MatMul,
Conv, AveragePool, GlobalAveragePool, MaxPool, BatchNormalization, Flatten,
Reshape, Softmax, Gelu). PyTorch's ONNX exporter writes GELU as
``0.5 * x * (1 + erf(x / sqrt(2)))`` below opset 20.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .layers import Layer, pooled_size

SIMPLE_ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "Gelu": "gelu"}


def read_node(r: Any, i: int, current: str, shape: tuple[int, ...]):
    """Read node ``i`` (and the nodes of its pattern) of ``r.nodes``; see the module docstring."""
    node = r.nodes[i]
    op = node.op_type
    a = r.attrs(node)
    if op in ("Dropout", "Identity"):
        r.notes.append(f"{op} {node.name!r} removed (no effect at inference)")
        return 1, None, shape
    if op in SIMPLE_ACTIVATIONS:
        if op == "Gelu" and a.get("approximate", b"none") not in (b"none", "none"):
            r.problem(node, "the tanh approximation of GELU is not read", "Gelu")
            return 0, None, shape
        return 1, _act(node, op, SIMPLE_ACTIVATIONS[op], shape), shape
    gelu = _erf_gelu(r, i, current)
    if gelu:
        return gelu, _act(node, "Erf-GELU", "gelu", shape), shape
    if op == "Mul" and list(node.input) == [current, current]:
        return 1, _act(node, "Mul", "square", shape), shape
    if op == "Pow" and node.input[0] == current and _scalar(r.const(node.input[1])) == 2.0:
        return 1, _act(node, "Pow", "square", shape), shape
    if op in ("Softmax", "LogSoftmax"):
        if i != len(r.nodes) - 1:
            r.problem(node, f"{op} before the last layer is not supported (only as the output)", "Softmax")
            return 0, None, shape
        axis = a.get("axis", -1)
        if len(shape) != 1 and axis not in (-1, len(shape)):
            r.problem(node, f"{op} over axis {axis} of a {len(shape) + 1}-D tensor", "Softmax")
            return 0, None, shape
        return 1, _act(node, op, "softmax", shape), shape
    if op in ("Flatten", "Reshape"):
        return _reshape(r, node, shape)
    if op == "Gemm":
        return _gemm(r, node, current, shape, a)
    if op == "MatMul":
        return _matmul(r, i, current, shape)
    if op == "Conv":
        return _conv(r, node, shape, a)
    if op in ("AveragePool", "GlobalAveragePool", "MaxPool"):
        return _pool(r, node, shape, a)
    if op == "BatchNormalization":
        return _batchnorm(r, node, shape, a)
    if op == "Add" and r.layers and r.layers[-1].kind in ("linear", "conv"):
        return _bias(r, node, current, shape)
    reason = {"Add": "an addition that is not a bias after a linear layer (a skip connection?)"}.get(op)
    from .support import UNSUPPORTED_OPS

    r.problem(
        node,
        reason or UNSUPPORTED_OPS.get(op, f"the {op} operator is not part of the feed-forward subset the lab reads"),
    )
    return 0, None, shape


def _act(node: Any, op: str, fn: str, shape: tuple[int, ...]) -> Layer:
    return Layer("activation", node.name or op, op, shape, shape, {"fn": fn})


def _scalar(value: np.ndarray | None) -> float | None:
    if value is None or np.size(value) != 1:
        return None
    return float(np.asarray(value).reshape(()))


def _erf_gelu(r: Any, i: int, current: str) -> int:
    """Nodes taken by ``Div(x, sqrt 2) -> Erf -> Add 1 -> Mul x -> Mul 0.5`` at ``i`` (0 if not there)."""
    ops = [n.op_type for n in r.nodes[i : i + 5]]
    if ops != ["Div", "Erf", "Add", "Mul", "Mul"]:
        return 0
    div, erf, add, mul, half = r.nodes[i : i + 5]
    ok = (
        div.input[0] == current
        and abs((_scalar(r.const(div.input[1])) or 0) - math.sqrt(2)) < 1e-3
        and erf.input[0] == div.output[0]
        and add.input[0] == erf.output[0]
        and _scalar(r.const(add.input[1])) == 1.0
        and set(mul.input) == {current, add.output[0]}
        and half.input[0] == mul.output[0]
        and _scalar(r.const(half.input[1])) == 0.5
    )
    return 5 if ok else 0


def _reshape(r: Any, node: Any, shape: tuple[int, ...]):
    size = int(np.prod(shape))
    if node.op_type == "Flatten":
        if r.attrs(node).get("axis", 1) != 1:
            r.problem(node, "Flatten must keep the batch axis (axis=1)", "Reshape")
            return 0, None, shape
        target = (size,)
    else:
        spec = r.const(node.input[1])
        if spec is None:
            r.problem(node, "the target shape is computed at run time", "dynamic")
            return 0, None, shape
        dims = [int(d) for d in np.asarray(spec).ravel()]
        if not dims or dims[0] not in (1, -1, 0):
            r.problem(node, f"reshape to {dims} changes the batch dimension", "Reshape")
            return 0, None, shape
        rest = [shape[k - 1] if d == 0 and k > 0 else d for k, d in enumerate(dims)][1:]
        if rest.count(-1) == 1:
            known = int(np.prod([d for d in rest if d != -1])) or 1
            rest = [size // known if d == -1 else d for d in rest]
        if int(np.prod(rest)) != size:
            r.problem(node, f"reshape of {size} values to {dims}", "Reshape")
            return 0, None, shape
        target = tuple(rest) or (size,)
    return 1, Layer("reshape", node.name or node.op_type, node.op_type, shape, target), target


def _linear(node: Any, op: str, shape: tuple[int, ...], weight: np.ndarray, bias: np.ndarray):
    out = (weight.shape[0],)
    layer = Layer("linear", node.name or op, op, shape, out, {"weight": weight, "bias": bias})
    return layer, out


def _gemm(r: Any, node: Any, current: str, shape: tuple[int, ...], a: dict):
    b = r.const(node.input[1])
    if node.input[0] != current or b is None or a.get("transA", 0) or len(shape) != 1:
        r.problem(node, "Gemm must multiply the flat input by a constant weight matrix", "Gemm")
        return 0, None, shape
    w = np.asarray(b, dtype=np.float64)
    w = w if a.get("transB", 0) else w.T  # (out, in)
    w = w * a.get("alpha", 1.0)
    c = r.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    bias = (
        np.zeros(w.shape[0])
        if c is None
        else np.broadcast_to(np.asarray(c, dtype=np.float64).ravel() * a.get("beta", 1.0), (w.shape[0],)).copy()
    )
    if w.shape[1] != shape[0]:
        r.problem(node, f"Gemm expects {w.shape[1]} inputs but receives {shape[0]}", "Gemm")
        return 0, None, shape
    layer, out = _linear(node, "Gemm", shape, w, bias)
    return 1, layer, out


def _matmul(r: Any, i: int, current: str, shape: tuple[int, ...]):
    node = r.nodes[i]
    b = r.const(node.input[1])
    if node.input[0] != current or b is None or np.ndim(b) != 2 or len(shape) != 1 or b.shape[0] != shape[0]:
        r.problem(node, "MatMul must multiply the flat input by a constant 2-D weight matrix", "MatMul")
        return 0, None, shape
    w = np.asarray(b, dtype=np.float64).T
    bias, taken, op = np.zeros(w.shape[0]), 1, "MatMul"
    nxt = r.nodes[i + 1] if i + 1 < len(r.nodes) else None
    if nxt is not None and nxt.op_type == "Add" and node.output[0] in nxt.input:
        other = [n for n in nxt.input if n != node.output[0]]
        c = r.const(other[0]) if other else None
        if c is not None and np.size(c) in (1, w.shape[0]):
            bias, taken, op = (
                np.broadcast_to(np.asarray(c, dtype=np.float64).ravel(), (w.shape[0],)).copy(),
                2,
                "MatMul+Add",
            )
    layer, out = _linear(node, op, shape, w, bias)
    return taken, layer, out


def _bias(r: Any, node: Any, current: str, shape: tuple[int, ...]):
    other = [n for n in node.input if n != current]
    c = r.const(other[0]) if len(other) == 1 else None
    prev = r.layers[-1]
    channels = shape[0]
    if c is None or np.size(c) not in (1, channels) or (prev.kind == "conv" and np.size(c) not in (1, channels)):
        r.problem(node, "an addition that is not a constant bias per output", "Add")
        return 0, None, shape
    params = dict(
        prev.params, bias=np.asarray(prev.params["bias"], dtype=np.float64) + np.asarray(c, dtype=np.float64).ravel()
    )
    r.layers[-1] = Layer(prev.kind, prev.name, f"{prev.op}+Add", prev.in_shape, prev.out_shape, params)
    return 1, None, shape


def _pads(a: dict, in_hw: tuple[int, int], kernel: tuple[int, int], strides: tuple[int, int], dil=(1, 1)):
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto in ("NOTSET", "VALID"):
        pads = list(a.get("pads", [0, 0, 0, 0])) if auto == "NOTSET" else [0, 0, 0, 0]
        return (pads[0], pads[1], pads[2], pads[3])
    total = [
        max((math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0) for n, k, s, d in zip(in_hw, kernel, strides, dil)
    ]
    before = [t // 2 if auto == "SAME_UPPER" else t - t // 2 for t in total]
    return (before[0], before[1], total[0] - before[0], total[1] - before[1])


def _window_out(shape, kernel, strides, pads, dil=(1, 1)):
    return tuple(
        pooled_size(n, k, s, pads[j], pads[j + 2], d)
        for j, (n, k, s, d) in enumerate(zip(shape[1:], kernel, strides, dil))
    )


def _conv(r: Any, node: Any, shape: tuple[int, ...], a: dict):
    w = r.const(node.input[1])
    if w is None or np.ndim(w) != 4 or len(shape) != 3:
        r.problem(node, "only 2-D convolutions with constant weights on (C, H, W) inputs are read", "Conv")
        return 0, None, shape
    group = int(a.get("group", 1))
    m, cg, kh, kw = w.shape
    if cg * group != shape[0] or m % group:
        r.problem(node, f"Conv weights {w.shape} (group {group}) do not match {shape[0]} input channels", "Conv")
        return 0, None, shape
    strides = tuple(a.get("strides", [1, 1]))
    dil = tuple(a.get("dilations", [1, 1]))
    pads = _pads(a, shape[1:], (kh, kw), strides, dil)
    out = (m, *_window_out(shape, (kh, kw), strides, pads, dil))
    b = r.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    params = {
        "weight": np.asarray(w, dtype=np.float64),
        "bias": np.zeros(m) if b is None else np.asarray(b, dtype=np.float64),
        "kernel": (kh, kw),
        "strides": strides,
        "pads": pads,
        "dilations": dil,
        "group": group,
    }
    return 1, Layer("conv", node.name or "Conv", "Conv", shape, out, params), out


def _pool(r: Any, node: Any, shape: tuple[int, ...], a: dict):
    if len(shape) != 3:
        r.problem(node, f"{node.op_type} needs (C, H, W) inputs, not {shape}", node.op_type)
        return 0, None, shape
    if node.op_type == "GlobalAveragePool":
        kernel, strides, pads = tuple(shape[1:]), (1, 1), (0, 0, 0, 0)
    else:
        kernel = tuple(a["kernel_shape"])
        strides = tuple(a.get("strides", [1, 1]))
        if a.get("ceil_mode", 0) or tuple(a.get("dilations", [1, 1])) != (1, 1):
            r.problem(node, f"{node.op_type} with ceil_mode or dilations", node.op_type)
            return 0, None, shape
        pads = _pads(a, shape[1:], kernel, strides)
    out = (shape[0], *_window_out(shape, kernel, strides, pads))
    kind = "maxpool" if node.op_type == "MaxPool" else "avgpool"
    params = {
        "kernel": kernel,
        "strides": strides,
        "pads": pads,
        "count_include_pad": bool(a.get("count_include_pad", 0)),
    }
    return 1, Layer(kind, node.name or node.op_type, node.op_type, shape, out, params), out


def _batchnorm(r: Any, node: Any, shape: tuple[int, ...], a: dict):
    values = [r.const(n) for n in node.input[1:5]]
    if any(v is None for v in values) or np.size(values[0]) != shape[0]:
        r.problem(node, "BatchNormalization needs constant statistics, one per channel", "BatchNormalization")
        return 0, None, shape
    gamma, beta, mean, var = (np.asarray(v, dtype=np.float64) for v in values)
    scale = gamma / np.sqrt(var + a.get("epsilon", 1e-5))
    params = {"scale": scale, "shift": beta - mean * scale}
    return 1, Layer("batchnorm", node.name or "BatchNormalization", "BatchNormalization", shape, shape, params), shape
