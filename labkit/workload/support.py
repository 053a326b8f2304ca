"""The support check's vocabulary: a problem (node, op, why, what to change) and a technique's answer.

Every inference technique answers :class:`Support` for a workload before any
cryptography runs: supported or not, each :class:`Problem`, the rewrites it
applies by itself (``notes``), and a cost and memory estimate. What would not
fit in the memory budget (:func:`default_budget_bytes`) is a problem too.

>>> p = Problem("lstm1", "LSTM", "recurrent layers loop over time", rewrite_for("LSTM"))
>>> p.as_dict()["suggestion"].startswith("unroll")
True
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput

ENV_BUDGET = "LABKIT_MEMORY_BUDGET_MB"
BUDGET_FRACTION = 0.5  # of the memory available now: room for the notebook, the browser, the parties

# Ops no technique of the lab runs, with the reason (the support table's "why").
UNSUPPORTED_OPS = {
    "LSTM": "recurrent layers loop over time steps with data-dependent state",
    "GRU": "recurrent layers loop over time steps with data-dependent state",
    "RNN": "recurrent layers loop over time steps with data-dependent state",
    "Loop": "data-dependent control flow (a loop) cannot be laid out as a fixed circuit",
    "If": "data-dependent control flow (a branch) cannot be laid out as a fixed circuit",
    "Scan": "data-dependent control flow (a scan) cannot be laid out as a fixed circuit",
    "TopK": "sorting and selecting the k largest values is not a fixed arithmetic circuit",
    "NonMaxSuppression": "sorting and selecting boxes is not a fixed arithmetic circuit",
    "Where": "data-dependent selection",
    "Gather": "indexing with computed positions (embeddings, lookups)",
}

# What to change, by op (or by the kind of problem).
REWRITES = {
    "LSTM": "unroll it into fixed-length dense layers, or use a 1-D convolution over the sequence",
    "GRU": "unroll it into fixed-length dense layers, or use a 1-D convolution over the sequence",
    "RNN": "unroll it into fixed-length dense layers, or use a 1-D convolution over the sequence",
    "Loop": "unroll the loop for a fixed count when exporting",
    "If": "export one branch (the one inference takes)",
    "Scan": "unroll the scan for a fixed length when exporting",
    "TopK": "return the scores and take the top k after decryption (on the client)",
    "NonMaxSuppression": "return the raw boxes and scores and post-process on the client",
    "Where": "replace the selection by arithmetic (a * mask + b * (1 - mask))",
    "Gather": "replace lookups by a one-hot input times a weight matrix (a Linear layer)",
    "MaxPool": "use AvgPool (a linear map) instead of MaxPool",
    "relu": "replaced by a polynomial fitted on the training data's pre-activation range (degree set by the user)",
    "dynamic": "export with a fixed input shape: torch.onnx.export with a sample of the real size, no dynamic_axes",
    "branch": "use a plain chain of layers (no skip connections or multiple outputs)",
    "Softmax": "drop the softmax (argmax is unchanged) or keep it only as the last layer",
    "Reshape": "flatten once, keeping the batch dimension: torch.flatten(x, 1)",
    "Gemm": "use torch.nn.Linear on flattened features",
    "MatMul": "use torch.nn.Linear on flattened features",
    "Conv": "use torch.nn.Conv2d on (C, H, W) inputs",
    "BatchNormalization": "use BatchNorm in eval mode (running statistics)",
    "Add": "remove skip connections; keep biases inside Linear/Conv layers",
    "Gelu": "use the exact GELU (approximate='none')",
    "depth": "use fewer or lower-degree activations, or merge linear layers",
    "memory": "use a smaller model or batch, or raise LABKIT_MEMORY_BUDGET_MB if the machine has the memory",
}


def rewrite_for(key: str) -> str:
    """The suggested change for an op or a kind of problem (a generic one when unknown)."""
    return REWRITES.get(key, "replace it with layers from the supported set (Linear, Conv2d, pooling, activations)")


@dataclass(frozen=True)
class Problem:
    """Why a technique cannot run a node, and what would make it work."""

    node: str
    op: str
    reason: str
    suggestion: str

    def as_dict(self) -> dict[str, str]:
        """The four fields as a plain dict (the ``unsupported`` artifact's rows)."""
        return {"node": self.node, "op": self.op, "reason": self.reason, "suggestion": self.suggestion}

    def __str__(self) -> str:
        return f"{self.op} {self.node!r}: {self.reason}; {self.suggestion}"


@dataclass(frozen=True)
class Support:
    """A technique's answer for one workload, before any cryptography.

    Attributes
    ----------
    technique : str
        The registry key.
    problems : tuple of Problem
        Empty when supported.
    estimate : dict
        Cost and memory figures (e.g. ring dimension, depth, key bytes; logrows, proving key
        bytes, prover RAM; ``memory_bytes`` always), each a number.
    notes : tuple of str
        Rewrites the technique applies by itself (a ReLU fitted by a polynomial, a softmax dropped).
    """

    technique: str
    problems: tuple[Problem, ...] = ()
    estimate: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def supported(self) -> bool:
        """True when no problem stands in the way."""
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON and the Result's artifacts."""
        return {
            "technique": self.technique,
            "supported": self.supported,
            "problems": [p.as_dict() for p in self.problems],
            "estimate": dict(self.estimate),
            "notes": list(self.notes),
        }


def default_budget_bytes() -> int:
    """The memory a technique may plan to use: ``LABKIT_MEMORY_BUDGET_MB``, else half the RAM available now."""
    raw = os.environ.get(ENV_BUDGET)
    if raw:
        try:
            value = float(raw)
        except ValueError:
            raise InvalidInput(f"{ENV_BUDGET}={raw!r} must be a number of megabytes.") from None
        if value <= 0:
            raise InvalidInput(f"{ENV_BUDGET} must be positive, not {raw}.")
        return int(value * 2**20)
    import psutil

    return int(psutil.virtual_memory().available * BUDGET_FRACTION)


def over_budget(estimate_bytes: float, budget_bytes: int, *, what: str) -> Problem | None:
    """A ``memory`` problem when ``estimate_bytes`` exceeds the budget (None when it fits)."""
    if estimate_bytes <= budget_bytes:
        return None
    return Problem(
        "(whole model)",
        "memory",
        f"{what} would need about {estimate_bytes / 2**20:,.0f} MB, over the budget of {budget_bytes / 2**20:,.0f} MB",
        rewrite_for("memory"),
    )
