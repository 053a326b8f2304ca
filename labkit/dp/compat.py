"""A workload's architecture made trainable with DP-SGD, the way Opacus does it.

DP-SGD needs each example's own gradient. A layer that mixes examples of a
batch (BatchNorm normalises each one by its batch's statistics) has none, so
Opacus refuses it; :meth:`opacus.validators.ModuleValidator.fix` swaps it for
a per-example equivalent (BatchNorm -> GroupNorm, which normalises within one
example). :func:`dp_compatible` applies that fix to the user's architecture and
lists what it replaced, so the assess door can report the change and measure
what it alone costs in accuracy.

The architecture comes from :func:`labkit.workload.torchmodel.to_torch` (the
final softmax dropped: cross-entropy takes logits). A one-output binary model
gets a parameter-free :class:`TwoClass` head (logits ``[0, z]``: softmax of
them is ``sigmoid(z)``), so the lab's cross-entropy loops train it unchanged.

References
----------
Yousefpour et al., "Opacus: user-friendly differential privacy library in PyTorch", 2021 (arXiv:2109.12298).
Wu & He, "Group normalization", ECCV 2018.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..errors import InvalidInput
from ..workload.torchmodel import to_torch

BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
WHY = {
    "batchnorm": "BatchNorm normalises each example by its batch's statistics, so no example has a gradient "
    "of its own; GroupNorm normalises within one example (Opacus ModuleValidator.fix)",
    "flat": "BatchNorm over a flat feature vector: Opacus' default {opacus} would hold one value per group and "
    "normalise each feature by itself (it would output its bias alone), so the features form one group "
    "(a LayerNorm)",
}


class TwoClass(nn.Module):
    """One logit ``z`` as two-class logits ``[0, z]`` (softmax of them is ``sigmoid(z)``)."""

    def forward(self, x):
        x = x.reshape(x.shape[0], 1)
        return torch.cat([torch.zeros_like(x), x], dim=1)


def architecture(workload: Any) -> nn.Module:
    """The workload's model as torch modules returning logits (at least two per sample), weights as given."""
    model = to_torch(workload, drop_final=True)
    if workload.n_outputs == 1:
        model.append(TwoClass())
    return model


def trainable_parameters(model: nn.Module) -> int:
    """Values in the parameters that require a gradient."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def reinitialised(model: nn.Module, seed: int | None) -> nn.Module:
    """A copy of ``model`` with every layer's weights drawn afresh (torch's default init).

    ``seed``: drawn after ``torch.manual_seed(seed)``, leaving torch's global generator as it was;
    None draws from the global generator as it stands (the caller seeded it).
    """
    out = copy.deepcopy(model)
    if seed is None:
        _reset(out)
        return out
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        _reset(out)
    return out


def _reset(model: nn.Module) -> None:
    for module in model.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()


def _describe(module: nn.Module) -> str:
    if isinstance(module, nn.GroupNorm):
        groups = "1 group" if module.num_groups == 1 else f"{module.num_groups} groups"
        return f"GroupNorm({groups}, {module.num_channels} channels)"
    if isinstance(module, BATCHNORMS):
        return f"{type(module).__name__}({module.num_features} channels)"
    return type(module).__name__


@dataclass(frozen=True)
class Compatible:
    """The DP-compatible architecture and what Opacus' fix changed to get it.

    Attributes
    ----------
    model : torch module
        The fixed architecture (a copy; the original is untouched).
    changes : list of dict
        One per replaced module: ``module`` (its name in the torch model), ``node`` (the ONNX node it
        came from, when known), ``from`` and ``to`` (kinds with their sizes), ``why``.
    remaining : list of str
        What Opacus' validator still refuses after the fix (empty when DP-SGD can train it).
    """

    model: nn.Module
    changes: list[dict[str, str]] = field(default_factory=list)
    remaining: list[str] = field(default_factory=list)


def dp_compatible(model: nn.Module, *, workload: Any = None) -> Compatible:
    """Apply :meth:`opacus.validators.ModuleValidator.fix` and report each replaced module.

    Parameters
    ----------
    model : torch module
        The architecture (e.g. from :func:`architecture`).
    workload : Workload, optional
        When given, each replaced BatchNorm is named by its ONNX node, and one over a flat feature
        vector becomes ``GroupNorm(1, C)`` instead of Opacus' ``GroupNorm(C, C)`` (with one value per
        group, that would normalise every feature to zero).

    Examples
    --------
    >>> m = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    >>> c = dp_compatible(m)
    >>> [(x["module"], x["from"], x["to"]) for x in c.changes], c.remaining
    ([('1', 'BatchNorm1d(8 channels)', 'GroupNorm(8 groups, 8 channels)')], [])
    """
    from opacus.validators import ModuleValidator

    if not isinstance(model, nn.Module):
        raise InvalidInput(f"dp_compatible takes a torch module, not {type(model).__name__}.")
    fixed = ModuleValidator.fix(model).train()  # the validator checks a model about to be trained
    before = dict(model.named_modules())
    bn_layers = []
    if workload is not None and workload.program is not None:
        bn_layers = [layer for layer in workload.program.layers if layer.kind == "batchnorm"]
    bn_seen = 0
    changes = []
    for name, new in list(fixed.named_modules()):
        old = before.get(name)
        if old is None or type(old) is type(new):
            continue
        change = {"module": name, "node": "", "from": _describe(old), "to": _describe(new), "why": WHY["batchnorm"]}
        if isinstance(old, BATCHNORMS):
            layer = bn_layers[bn_seen] if bn_seen < len(bn_layers) else None
            bn_seen += 1
            change["node"] = layer.name if layer is not None else ""
            flat = layer is not None and len(layer.in_shape) == 1
            if flat and isinstance(new, nn.GroupNorm) and new.num_groups == new.num_channels > 1:
                one = nn.GroupNorm(1, new.num_channels, eps=new.eps, affine=new.affine)
                parent, _, attr = name.rpartition(".")
                setattr(fixed.get_submodule(parent), attr, one)
                change["to"] = _describe(one)
                change["why"] = WHY["flat"].format(opacus=_describe(new))
        changes.append(change)
    remaining = [str(e).split(". ")[0] for e in ModuleValidator.validate(fixed, strict=False)]
    return Compatible(fixed, changes, remaining)


__all__ = ["Compatible", "TwoClass", "architecture", "dp_compatible", "reinitialised", "trainable_parameters"]
