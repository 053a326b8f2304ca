"""A workload's model as a trainable torch module: what the privacy techniques train, attack and run.

HE, MPC and ZK read the ONNX graph as a :class:`~labkit.workload.graph.Program`
of numpy layers. Gradient inversion needs the gradients a federated client
would share, DP-SGD trains the architecture, and the TEE simulation runs the
model inside its enclave: all three need the same model as ``torch.nn``
modules. :func:`to_torch` rebuilds it layer by layer from the program, with
the workload's weights, so its outputs equal :meth:`Workload.logits`
(float32 rounding aside; a test holds them to 1e-4).

A batch normalisation arrives in the program as its inference form (a scale
and a shift per channel: the running statistics are already folded in); it
comes back as a ``BatchNorm`` module whose running mean is 0 and running
variance ``1 - eps``, so in eval mode it computes exactly that scale and
shift, and in training mode it normalises by batch statistics, as the
original layer would.

>>> from labkit.workload import examples
>>> w = examples.workload("digits_cnn")
>>> m = to_torch(w)
>>> import numpy as np, torch
>>> out = m(torch.as_tensor(w.X_test[:5])).detach().numpy()
>>> bool(np.allclose(out, w.logits(w.X_test[:5]), atol=1e-4))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import InvalidInput
from .graph import Program

# torch is imported at the top: this module is imported only by the techniques that need torch.


class Square(nn.Module):
    """``x * x``, the activation of CryptoNets-style models."""

    def forward(self, x):
        return x * x


class Reshape(nn.Module):
    """Reshape each sample to ``shape`` (the batch dimension kept)."""

    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


def to_torch(workload: Any, *, drop_final: bool = False) -> Any:
    """The workload's model as a ``torch.nn.Sequential`` holding its weights (float32, eval mode).

    Parameters
    ----------
    workload : Workload or Program
    drop_final : bool
        Leave out a final softmax (or the sigmoid of a one-output model): the module then
        returns logits, what a cross-entropy loss takes. Argmax is unchanged.

    Raises
    ------
    InvalidInput
        When the graph is not a feed-forward program, or a layer has no torch form here
        (1-D or 3-D convolutions, asymmetric padding on a max pool).
    """
    program = workload if isinstance(workload, Program) else workload.program
    if program is None:
        problems = "; ".join(map(str, getattr(workload, "problems", ())))
        raise InvalidInput(f"the model is not a feed-forward program the lab can rebuild in torch: {problems}")
    layers = list(program.layers)
    if drop_final and program.final is not None:
        layers = layers[:-1]
    modules = []
    for layer in layers:
        modules.extend(_modules(layer))
    model = torch.nn.Sequential(*modules)
    model.eval()
    return model


def input_tensor(workload: Any, X: np.ndarray) -> Any:
    """Samples as a float32 torch tensor in the model's input shape."""
    return torch.as_tensor(np.ascontiguousarray(np.asarray(X, dtype=np.float32)).reshape(-1, *workload.input_shape))


def _modules(layer: Any) -> list[Any]:
    p = layer.params
    if layer.kind == "linear":
        weight = np.asarray(p["weight"], dtype=np.float32)
        m = nn.Linear(weight.shape[1], weight.shape[0])
        _load(m, weight, p["bias"])
        return [m]
    if layer.kind == "conv":
        weight = np.asarray(p["weight"], dtype=np.float32)
        if weight.ndim != 4:
            raise InvalidInput(f"{layer.op} {layer.name!r}: only 2-D convolutions are rebuilt in torch here.")
        group = int(p.get("group", 1))
        pad, extra = _padding(p["pads"])
        m = nn.Conv2d(
            weight.shape[1] * group, weight.shape[0], tuple(weight.shape[2:]), stride=_pair(p["strides"]),
            padding=pad, dilation=_pair(p.get("dilations", (1, 1))), groups=group,
        )  # fmt: skip
        _load(m, weight, p["bias"])
        return [*extra, m]
    if layer.kind in ("avgpool", "maxpool"):
        if len(layer.in_shape) != 3:
            raise InvalidInput(f"{layer.op} {layer.name!r}: only 2-D pooling is rebuilt in torch here.")
        kernel, stride = _pair(p["kernel"]), _pair(p["strides"])
        pad, extra = _padding(p["pads"])
        if layer.kind == "maxpool":
            if extra:
                raise InvalidInput(f"MaxPool {layer.name!r}: asymmetric padding has no torch form here.")
            return [nn.MaxPool2d(kernel, stride=stride, padding=pad)]
        include = bool(p.get("count_include_pad", False))
        if extra and not include:
            raise InvalidInput(f"AveragePool {layer.name!r}: asymmetric padding without count_include_pad.")
        return [*extra, nn.AvgPool2d(kernel, stride=stride, padding=pad, count_include_pad=include)]
    if layer.kind == "batchnorm":
        scale = np.asarray(p["scale"], dtype=np.float32)
        cls = nn.BatchNorm2d if len(layer.in_shape) == 3 else nn.BatchNorm1d
        m = cls(scale.size)
        with torch.no_grad():
            m.weight.copy_(torch.as_tensor(scale))
            m.bias.copy_(torch.as_tensor(np.asarray(p["shift"], dtype=np.float32)))
            m.running_mean.zero_()
            m.running_var.fill_(1.0 - m.eps)
        return [m]
    if layer.kind == "reshape":
        out = tuple(layer.out_shape)
        return [nn.Flatten()] if len(out) == 1 else [Reshape(out)]
    if layer.kind == "activation":
        return [_activation(p["fn"])]
    raise InvalidInput(f"{layer.op} {layer.name!r}: the layer kind {layer.kind} has no torch form here.")


def _activation(fn: str) -> Any:
    table = {
        "relu": nn.ReLU,
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "gelu": nn.GELU,  # the exact (erf) form, as the intake reads it
        "softmax": lambda: nn.Softmax(dim=1),
    }
    if fn == "square":
        return Square()
    if fn not in table:
        raise InvalidInput(f"the activation {fn!r} has no torch form here.")
    return table[fn]()


def _load(module: Any, weight: np.ndarray, bias: Any) -> None:
    with torch.no_grad():
        module.weight.copy_(torch.as_tensor(weight))
        module.bias.copy_(torch.as_tensor(np.asarray(bias, dtype=np.float32)))


def _pair(values: Any) -> tuple[int, int]:
    v = [int(x) for x in np.atleast_1d(values)]
    return (v[0], v[0]) if len(v) == 1 else (v[0], v[1])


def _padding(pads: Any) -> tuple[tuple[int, int], list[Any]]:
    """ONNX pads (top, left, bottom, right) as torch's symmetric padding, or a ZeroPad2d before it."""
    top, left, bottom, right = (int(x) for x in pads)
    if (top, left) == (bottom, right):
        return (top, left), []
    return (0, 0), [nn.ZeroPad2d((left, right, top, bottom))]
