"""Where client-side defenses plug into a client's update.

A client computes its update through ``defense.client_gradients(model, X, y)``
at every local step. The default computes the plain mean-loss gradient;
a defense either transforms that gradient (override :meth:`transform`: noise,
clipping, pruning, quantization) or computes it differently (override
:meth:`client_gradients`: DP-SGD's per-sample clipping). Defenses live in
:mod:`labkit.inversion.defenses`; the capstone can add its own.

References
----------
Zhu, Liu & Han, "Deep Leakage from Gradients", NeurIPS 2019, section 5 (defenses).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def batch_gradients(model: Any, X: Any, y: Any) -> list[Any]:
    """Gradient of the mean cross-entropy over (X, y), one tensor per parameter (detached)."""
    import torch
    import torch.nn.functional as F

    params = [p for p in model.parameters() if p.requires_grad]
    loss = F.cross_entropy(model(X), y)
    return [g.detach() for g in torch.autograd.grad(loss, params)]


class GradientDefense:
    """Base class of client-side defenses: the identity (no defense).

    Attributes
    ----------
    name : str
        Short name, e.g. "gaussian_noise".
    strength : float
        The defense's main knob, for sweeps and plots (0 for none).
    """

    name = "none"
    strength = 0.0

    def params(self) -> dict[str, Any]:
        """Plain parameters for Results and the ResultStore."""
        return {"defense": self.name}

    def transform(self, grads: list[Any], *, generator: np.random.Generator) -> list[Any]:
        """Change a batch gradient before it leaves the client (identity here)."""
        return grads

    def client_gradients(self, model: Any, X: Any, y: Any, *, generator: np.random.Generator) -> list[Any]:
        """The gradient a client shares for one step on (X, y)."""
        return self.transform(batch_gradients(model, X, y), generator=generator)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items() if k != "defense")
        return f"{type(self).__name__}({args})"


class NoDefense(GradientDefense):
    """The client shares its exact gradient."""
