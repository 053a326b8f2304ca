"""One model, two forward passes: plain torch (the baseline) and CrypTen on secret shares.

A model is a list of layer dicts (:class:`labkit.mpc.models.PlainModel`);
the public part of each (kind and hyper-parameters, weight shapes) is what
every party builds the circuit from, the weights go to the model owner only.
:func:`torch_forward` runs the layers in plaintext and
:func:`build_crypten_model` builds the same layers as a
``crypten.nn.Sequential``; both share every constant (padding values, the
average-pooling correction), so the plaintext pass is the exact reference of
the private one up to CrypTen's fixed-point encoding and approximations.

Kinds (:data:`KINDS`): ``linear``; ``conv2d`` (stride, padding (top, left,
bottom, right), dilation, groups); ``avgpool`` and ``maxpool`` (kernel,
stride, padding; average pooling excluding padded taps is a public
per-position rescaling); ``affine`` (a per-channel scale and shift: a batch
normalisation that could not be folded); ``relu`` (exact, by secure
comparison); ``maxpool`` (a tree of secure comparisons); ``sigmoid``,
``tanh``, ``softmax`` (CrypTen's approximations: exp by repeated squaring,
reciprocal by Newton iterations); ``square``; ``gelu`` (the tanh form of
Hendrycks and Gimpel, since CrypTen has no erf-exact GELU: the plaintext
reference uses the same form); ``flatten`` and ``reshape``.

References
----------
Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine
Learning", NeurIPS 2021 (arXiv:2109.00984): comparisons, max, exp, reciprocal.
Hendrycks & Gimpel, "Gaussian Error Linear Units (GELUs)", arXiv:1606.08415 (the tanh form).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..errors import InvalidInput

ACTIVATIONS = ("relu", "sigmoid", "tanh", "softmax", "square", "gelu")
KINDS = ("linear", "conv2d", "avgpool", "maxpool", "affine", "flatten", "reshape", *ACTIVATIONS)
WEIGHTED = ("linear", "conv2d", "affine")
MAXPOOL_PAD = -1024.0  # padded taps of a max pool: below any activation the lab expects, small for fixed point
GELU_C = 0.7978845608028654  # sqrt(2 / pi)


def _pads(layer: dict[str, Any]) -> tuple[int, int, int, int]:
    """(top, left, bottom, right); an int means the same on every side."""
    p = layer.get("padding", 0)
    return (p, p, p, p) if isinstance(p, int) else tuple(int(v) for v in p)


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _torch_pad(pads: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    top, left, bottom, right = pads
    return (left, right, top, bottom)  # torch's order: last dimension first


def pool_correction(torch: Any, layer: dict[str, Any], in_shape: tuple[int, ...]) -> Any:
    """Public factor turning a padded average (padded taps counted) into one over the taps inside.

    Shape (out_h, out_w); None when every window lies inside the input or padded taps count.
    """
    pads = _pads(layer)
    if not any(pads) or layer.get("count_include_pad", False):
        return None
    kh, kw = _pair(layer["kernel"])
    ones = torch.nn.functional.pad(torch.ones(1, 1, *in_shape[-2:]), _torch_pad(pads))
    counts = torch.nn.functional.avg_pool2d(ones, (kh, kw), stride=_pair(layer["stride"]), divisor_override=1)
    return (kh * kw) / counts[0, 0]


def torch_forward(torch: Any, layers: list[dict[str, Any]], x: Any) -> Any:
    """Run plain layers on a torch tensor (numpy weights converted on the fly)."""
    F = torch.nn.functional
    for layer in layers:
        kind = layer["kind"]
        if kind == "linear":
            x = F.linear(x, torch.as_tensor(layer["weight"]), torch.as_tensor(layer["bias"]))
        elif kind == "conv2d":
            x = F.pad(x, _torch_pad(_pads(layer)))
            w, b = torch.as_tensor(layer["weight"]), torch.as_tensor(layer["bias"])
            x = F.conv2d(
                x, w, b, stride=_pair(layer.get("stride", 1)), dilation=_pair(layer.get("dilation", 1)),
                groups=int(layer.get("groups", 1)),
            )  # fmt: skip
        elif kind in ("avgpool", "maxpool"):
            fix = pool_correction(torch, layer, tuple(x.shape[1:])) if kind == "avgpool" else None
            value = MAXPOOL_PAD if kind == "maxpool" else 0.0
            x = F.pad(x, _torch_pad(_pads(layer)), value=value)
            pool = F.avg_pool2d if kind == "avgpool" else F.max_pool2d
            x = pool(x, _pair(layer["kernel"]), stride=_pair(layer["stride"]))
            x = x * fix if fix is not None else x
        elif kind == "affine":
            shape = (-1, *([1] * (x.dim() - 2)))
            x = x * torch.as_tensor(layer["weight"]).reshape(shape) + torch.as_tensor(layer["bias"]).reshape(shape)
        elif kind == "flatten":
            x = x.reshape(x.shape[0], -1)
        elif kind == "reshape":
            x = x.reshape(x.shape[0], *layer["shape"])
        elif kind in ACTIVATIONS:
            x = _torch_activation(torch, kind, x)
        else:
            raise InvalidInput(f"unknown layer kind {kind!r}; known: {', '.join(KINDS)}.")
    return x


def _torch_activation(torch: Any, kind: str, x: Any) -> Any:
    if kind == "relu":
        return torch.relu(x)
    if kind == "sigmoid":
        return torch.sigmoid(x)
    if kind == "tanh":
        return torch.tanh(x)
    if kind == "square":
        return x * x
    if kind == "gelu":
        return torch.nn.functional.gelu(x, approximate="tanh")
    flat = x.reshape(x.shape[0], -1)
    return torch.softmax(flat, dim=1).reshape(x.shape)


# -- the private side ---------------------------------------------------------------------------
def _crypten_activation(kind: str, x: Any) -> Any:
    if kind == "relu":
        return x.relu()
    if kind == "sigmoid":
        return x.sigmoid()
    if kind == "tanh":
        return x.tanh()
    if kind == "square":
        return x.square()
    if kind == "gelu":
        inner = (x + x.square().mul(x).mul(0.044715)).mul(GELU_C)
        return x.mul(inner.tanh().add(1.0)).mul(0.5)
    flat = x.reshape(x.size(0), -1)
    return flat.softmax(1).reshape(x.size())


@lru_cache(maxsize=2)
def module_types(crypten: Any, torch: Any) -> tuple[type, type]:
    """(Step, ChannelAffine): CrypTen modules for a parameter-free step and a per-channel affine map."""
    nn = crypten.nn

    class Step(nn.Module):
        """A parameter-free step: ``fn(x)`` on a CrypTensor."""

        def __init__(self, fn):
            super().__init__()
            self.fn = fn

        def forward(self, x):
            return self.fn(x)

    class ChannelAffine(nn.Module):
        """``x * weight + bias`` per channel; weight and bias are the model owner's."""

        def __init__(self, channels: int, spatial: int):
            super().__init__()
            self.view = (channels, *([1] * spatial))
            self.register_parameter("weight", torch.zeros(channels))
            self.register_parameter("bias", torch.zeros(channels))

        def forward(self, x):
            return x.mul(self.weight.reshape(self.view)).add(self.bias.reshape(self.view))

    return Step, ChannelAffine


def _pool_step(torch: Any, spec: dict[str, Any], in_shape: tuple[int, ...]):
    pads, kind = _torch_pad(_pads(spec)), spec["kind"]
    kernel, stride = _pair(spec["kernel"]), _pair(spec["stride"])
    fix = pool_correction(torch, spec, in_shape) if kind == "avgpool" else None

    def step(x):
        if any(pads):
            x = x.pad(pads, value=MAXPOOL_PAD if kind == "maxpool" else 0.0)
        if kind == "maxpool":
            return x.max_pool2d(kernel, stride=stride)
        y = x.avg_pool2d(kernel, stride=stride)
        return y.mul(fix) if fix is not None else y

    return step


def build_crypten_model(crypten: Any, torch: Any, arch: list[dict[str, Any]], weights: list[dict] | None):
    """A ``crypten.nn.Sequential`` with the architecture's layers; weights only where given (the owner).

    Every ``arch`` entry carries ``in_shape`` (one sample, no batch) when it
    comes from :func:`labkit.mpc.models.plain_model`; pooling needs it for the
    padded-average correction.
    """
    nn = crypten.nn
    Step, ChannelAffine = module_types(crypten, torch)
    modules = []
    for i, spec in enumerate(arch):
        kind = spec["kind"]
        if kind == "linear":
            out_f, in_f = spec["weight_shape"]
            module = nn.Linear(in_f, out_f)
        elif kind == "conv2d":
            out_c, in_c_g, kh, kw = spec["weight_shape"]
            groups = int(spec.get("groups", 1))
            module = nn.Conv2d(
                in_c_g * groups, out_c, (kh, kw), stride=_pair(spec.get("stride", 1)), padding=0,
                dilation=_pair(spec.get("dilation", 1)), groups=groups,
            )  # fmt: skip
            pads = _torch_pad(_pads(spec))
            if any(pads):
                modules.append(Step(lambda x, pads=pads: x.pad(pads, value=0.0)))
        elif kind in ("avgpool", "maxpool"):
            module = Step(_pool_step(torch, spec, tuple(spec.get("in_shape", ()))))
        elif kind == "affine":
            module = ChannelAffine(spec["weight_shape"][0], max(len(spec.get("in_shape", ())) - 1, 0))
        elif kind == "flatten":
            module = nn.Flatten()
        elif kind == "reshape":
            module = Step(lambda x, shape=tuple(spec["shape"]): x.reshape(x.size(0), *shape))
        elif kind in ACTIVATIONS:
            module = nn.ReLU() if kind == "relu" else Step(lambda x, kind=kind: _crypten_activation(kind, x))
        else:
            raise ValueError(f"unsupported layer kind {kind!r}")
        for name in ("weight", "bias"):
            if f"{name}_shape" in spec:
                shape = tuple(spec[f"{name}_shape"])
                value = torch.from_numpy(weights[i][name]) if weights is not None else torch.zeros(shape)
                module.set_parameter(name, value.reshape(shape))  # the others hold zeros: only the shape is used
        modules.append(module)
    return nn.Sequential(*modules)


__all__ = ["ACTIVATIONS", "KINDS", "MAXPOOL_PAD", "build_crypten_model", "pool_correction", "torch_forward"]
