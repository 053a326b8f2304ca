"""Client-side defenses against gradient inversion, each with one strength knob.

Each is a :class:`labkit.fl.GradientDefense`: it changes what a client shares,
at every local step, both in the attack scenario and in federated training (so
its utility cost is measured on the same code path).

==================  ==========================================  ====================
name                what the client shares                       strength knob
==================  ==========================================  ====================
``gaussian_noise``  gradient + N(0, sigma^2) per coordinate       sigma
``clipping``        gradient scaled to L2 norm <= C               1 / C
``dp_sgd``          Opacus DP-SGD: per-sample clip C, sum, add    noise multiplier
                    N(0, (z C)^2), divide by batch size
``pruning``         the largest-magnitude (1 - p) of each tensor  p (fraction zeroed)
``quantization``    each tensor rounded to 2^b - 1 uniform        16 - b
                    levels in [-max|g|, max|g|]; 1 bit: sign
                    times mean |g| (signSGD)
==================  ==========================================  ====================

Larger batches and more local steps are protocol settings, not transforms:
see :func:`labkit.inversion.run_scenario`. Clipping alone only rescales a
batch-1 gradient, which gradient matching (cosine distance especially) shrugs off.

References
----------
Zhu, Liu & Han, "Deep Leakage from Gradients", NeurIPS 2019, section 5 (noise, pruning).
Abadi et al., "Deep Learning with Differential Privacy", CCS 2016 (DP-SGD).
Bernstein et al., "signSGD: Compressed Optimisation for Non-Convex Problems", ICML 2018.
Yousefpour et al., "Opacus: User-Friendly Differential Privacy Library in PyTorch", 2021.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np

from .. import validate
from ..errors import InvalidInput
from ..fl.hooks import GradientDefense, NoDefense


def _torch_generator(generator: np.random.Generator):
    import torch

    return torch.Generator().manual_seed(int(generator.integers(2**62)))


class GaussianNoise(GradientDefense):
    """Add i.i.d. Gaussian noise of standard deviation ``sigma`` to every coordinate."""

    name = "gaussian_noise"

    def __init__(self, sigma: float):
        self.sigma = validate.positive("sigma", sigma)
        self.strength = self.sigma

    def params(self):
        return {"defense": self.name, "sigma": self.sigma}

    def transform(self, grads, *, generator):
        import torch

        tg = _torch_generator(generator)
        return [g + self.sigma * torch.randn(g.shape, generator=tg) for g in grads]


class Clipping(GradientDefense):
    """Scale the whole gradient down to L2 norm ``max_norm`` when it is longer."""

    name = "clipping"

    def __init__(self, max_norm: float):
        self.max_norm = validate.positive("max_norm", max_norm)
        self.strength = 1.0 / self.max_norm

    def params(self):
        return {"defense": self.name, "max_norm": self.max_norm}

    def transform(self, grads, *, generator):
        import torch

        norm = torch.sqrt(sum((g * g).sum() for g in grads))
        factor = min(1.0, self.max_norm / (float(norm) + 1e-12))
        return [g * factor for g in grads]


class Pruning(GradientDefense):
    """Zero the smallest-magnitude fraction ``prune`` of each gradient tensor (top-k sparsification)."""

    name = "pruning"

    def __init__(self, prune: float):
        self.prune = validate.fraction("prune", prune)
        self.strength = self.prune

    def params(self):
        return {"defense": self.name, "prune": self.prune}

    def transform(self, grads, *, generator):
        import torch

        out = []
        for g in grads:
            flat = g.abs().flatten()
            keep = max(1, round(flat.numel() * (1 - self.prune)))
            threshold = torch.topk(flat, keep).values.min()
            out.append(torch.where(g.abs() >= threshold, g, torch.zeros_like(g)))
        return out


class Quantization(GradientDefense):
    """Round each tensor to ``2**bits - 1`` uniform levels spanning [-max|g|, max|g|] (1 bit: signSGD)."""

    name = "quantization"

    def __init__(self, bits: int):
        self.bits = validate.integer("bits", bits, low=1, high=16)
        self.strength = 16 - self.bits

    def params(self):
        return {"defense": self.name, "bits": self.bits}

    def transform(self, grads, *, generator):
        import torch

        out = []
        for g in grads:
            scale = g.abs().max()
            if scale == 0:
                out.append(g)
            elif self.bits == 1:  # signSGD: one bit per coordinate, scaled by the mean magnitude
                out.append(torch.sign(g) * g.abs().mean())
            else:
                half = 2 ** (self.bits - 1) - 1  # integer levels -half..half
                out.append(torch.round(g / scale * half) / half * scale)
        return out


class DPSGD(GradientDefense):
    """DP-SGD through Opacus: per-sample gradients clipped to ``max_grad_norm``, summed, noised, averaged.

    The noise has standard deviation ``noise_multiplier * max_grad_norm`` on the
    sum (Opacus's ``DPOptimizer.pre_step``). :meth:`epsilon` converts a training
    run into a privacy budget with Opacus's RDP accountant.
    """

    name = "dp_sgd"

    def __init__(self, noise_multiplier: float, max_grad_norm: float = 1.0):
        self.noise_multiplier = validate.non_negative("noise_multiplier", noise_multiplier)
        self.max_grad_norm = validate.positive("max_grad_norm", max_grad_norm)
        self.strength = self.noise_multiplier

    def params(self):
        return {"defense": self.name, "noise_multiplier": self.noise_multiplier, "max_grad_norm": self.max_grad_norm}

    def client_gradients(self, model, X, y, *, generator):
        import torch
        import torch.nn.functional as F
        from opacus import GradSampleModule
        from opacus.optimizers import DPOptimizer

        gsm = GradSampleModule(copy.deepcopy(model))
        params = [p for p in gsm.parameters() if p.requires_grad]
        opt = DPOptimizer(
            torch.optim.SGD(params, lr=0.0),
            noise_multiplier=self.noise_multiplier,
            max_grad_norm=self.max_grad_norm,
            expected_batch_size=len(y),
            generator=_torch_generator(generator),
        )
        opt.zero_grad()
        with warnings.catch_warnings():  # Opacus's hooks warn when the input needs no gradient
            warnings.simplefilter("ignore", UserWarning)
            F.cross_entropy(gsm(X), y).backward()
        opt.pre_step()
        grads = [p.grad.detach().clone() for p in params]
        gsm._close()
        return grads

    def epsilon(self, *, steps: int, sample_rate: float, delta: float = 1e-5) -> float:
        """Privacy budget after ``steps`` noisy steps at Poisson ``sample_rate``.

        Computed by the DP lab's accountant, :func:`labkit.dp.accounting.epsilon` (Opacus's RDP
        accountant); infinite without noise.
        """
        from ..dp import accounting

        if self.noise_multiplier == 0:
            return float("inf")
        with warnings.catch_warnings():  # at tiny noise Opacus warns that its alpha grid is too coarse: eps is huge
            warnings.simplefilter("ignore", UserWarning)
            return accounting.epsilon(
                noise_multiplier=self.noise_multiplier,
                sample_rate=sample_rate,
                steps=int(steps),
                delta=delta,
                accountant="rdp",
            )


DEFENSES = {
    # name: (factory from strength, the parameter's name, sweep values (strong last), "higher is stronger")
    "none": (lambda s: NoDefense(), None, [], True),
    "gaussian_noise": (GaussianNoise, "sigma", [1e-3, 1e-2, 1e-1, 0.3, 1.0], True),
    "clipping": (Clipping, "max_norm", [1.0, 0.1, 0.01, 0.001], False),
    "dp_sgd": (lambda z: DPSGD(z, 1.0), "noise_multiplier", [0.01, 0.03, 0.1, 0.3, 1.0], True),
    "pruning": (Pruning, "prune", [0.2, 0.5, 0.8, 0.9, 0.99], True),
    "quantization": (Quantization, "bits", [8, 4, 2, 1], False),
}


def make_defense(name: str, value: float | None = None) -> GradientDefense:
    """Build a defense by name and the value of its knob (see the table above).

    >>> make_defense("pruning", 0.9)
    Pruning(prune=0.9)
    >>> make_defense("none")
    NoDefense()
    """
    if name not in DEFENSES:
        raise InvalidInput(f"defense must be one of {sorted(DEFENSES)}, not {name!r}.")
    factory, knob, _, _ = DEFENSES[name]
    if knob is not None and value is None:
        raise InvalidInput(f"defense {name!r} needs a value for {knob}.")
    return factory(value)


class Stack(GradientDefense):
    """Several defenses at once: the first computes the gradient (DP-SGD may), the rest transform it in turn.

    >>> Stack([make_defense("pruning", 0.5), make_defense("gaussian_noise", 0.01)]).name
    'pruning+gaussian_noise'
    """

    def __init__(self, defenses: list[GradientDefense]):
        self.defenses = [d for d in defenses if not isinstance(d, NoDefense)]
        if any(isinstance(d, DPSGD) for d in self.defenses[1:]):
            raise InvalidInput("put dp_sgd first in a Stack: it computes the gradient from per-sample ones.")
        self.name = "+".join(d.name for d in self.defenses) or "none"
        self.strength = float(sum(d.strength for d in self.defenses))

    def params(self):
        out: dict[str, Any] = {"defense": self.name}
        for d in self.defenses:
            out.update({f"{d.name}.{k}": v for k, v in d.params().items() if k != "defense"})
        return out

    def client_gradients(self, model, X, y, *, generator):
        if not self.defenses:
            return NoDefense().client_gradients(model, X, y, generator=generator)
        grads = self.defenses[0].client_gradients(model, X, y, generator=generator)
        for d in self.defenses[1:]:
            grads = d.transform(grads, generator=generator)
        return grads
