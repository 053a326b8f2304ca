"""What a federated client's shared gradient exposes of a user's own samples: the attack on a workload.

The workload's model is rebuilt in torch (:func:`labkit.workload.torchmodel.to_torch`,
logits out) with its weights as given: a client shares the gradient of the
mean cross-entropy of that model on a batch of its training samples, and the
honest-but-curious server inverts it with the lab's attacks
(:func:`labkit.inversion.attack`). BatchNorm layers keep their inference
form (the running statistics the workload holds, a per-channel scale and
shift with the scale and shift trainable) in the client's update, so a batch
of one is well defined and the model computes what the workload computes.

The attacks search a box, ``[0, 1]`` per value, as they do for the lab's
images. A workload's inputs may live elsewhere (standardised pixels, features
in centimetres), so the attacker's model reads its box through an affine map
onto the training data's range (:class:`Rescaled`): ``[0, 1]`` for images
already in it, else ``[min, max]`` of the training data (over all pixels for
images, per feature for flat inputs). The map holds no parameters, so the
gradient the attacker matches is the client's very gradient. Scores are
computed in that box:

- images (inputs C x H x W with H, W >= 3): PSNR and SSIM of each true image
  against its matched reconstruction (:func:`labkit.inversion.metrics.score`);
- flat features: reconstructions matched to the true samples by PSNR over
  the box (the same Hungarian matching), then per feature the error in units
  of that feature's standard deviation on the training data: the share within
  :data:`TOLERANCE` of it (``feature_recovery``) and the mean
  (``mean_relative_error``). Guessing every feature's mean scores about 1.0
  on the second and, in the box, about the lab's 12 dB safe band on PSNR.

References
----------
Zhao, Mopuri & Bilen, "iDLG: Improved Deep Leakage from Gradients", arXiv:2001.02610, 2020.
Geiping et al., "Inverting Gradients", NeurIPS 2020.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidInput
from . import metrics
from .attacks import attack

#: A feature counts as recovered when the reconstruction is within this many of its training standard deviations.
TOLERANCE = 0.1
MIN_IMAGE_SIDE = 3  # SSIM needs images of at least 3 x 3 pixels; smaller inputs are scored as flat features


def is_image(input_shape: tuple[int, ...]) -> bool:
    """True for (C, H, W) inputs with H and W of at least 3 pixels (scored with PSNR and SSIM)."""
    return len(input_shape) == 3 and min(input_shape[1:]) >= MIN_IMAGE_SIDE


@dataclass
class Target:
    """The client's model and the attacker's view of it, for one workload.

    Attributes
    ----------
    model : torch.nn.Module
        The workload's model (logits), as a client computes its update with it.
    attacker_model : torch.nn.Module
        The same parameters behind :class:`Rescaled`: the attack's box ``[0, 1]`` onto the data's range.
    image : bool
        Images (PSNR, SSIM) or flat features (feature recovery).
    input_shape : tuple
        One sample as the model takes it.
    attack_shape : tuple
        One sample in the attack's box: (C, H, W), or (1, 1, F) for flat features.
    low, span : numpy arrays
        The box's origin and width, broadcastable to one sample.
    spread : numpy array or None
        Each feature's standard deviation on the training data (flat features).
    """

    model: Any
    attacker_model: Any
    image: bool
    input_shape: tuple[int, ...]
    attack_shape: tuple[int, int, int]
    low: np.ndarray
    span: np.ndarray
    spread: np.ndarray | None
    notes: list[str] = field(default_factory=list)
    outside_share: float = 0.0

    def to_box(self, X: np.ndarray) -> np.ndarray:
        """Samples in the attack's box, shape (n, *attack_shape)."""
        X = np.asarray(X, dtype=np.float64)
        X = X if self.image else X.reshape(len(X), -1)
        return ((X - self.low) / self.span).reshape(len(X), *self.attack_shape)


def _rescaled_class():
    import torch

    class Rescaled(torch.nn.Module):
        """``model(low + span * u)`` with ``u`` in the attack's box; no parameters of its own."""

        def __init__(self, model, low: np.ndarray, span: np.ndarray, input_shape: tuple[int, ...]):
            super().__init__()
            self.model = model
            self.input_shape = tuple(input_shape)
            self.register_buffer("low", torch.as_tensor(low, dtype=torch.float32))
            self.register_buffer("span", torch.as_tensor(span, dtype=torch.float32))

        def forward(self, u):
            flat = self.low.dim() == 1  # per-feature box (flat inputs); else one box for every pixel
            x = self.low + self.span * (u.reshape(u.shape[0], -1) if flat else u)
            return self.model(x.reshape(u.shape[0], *self.input_shape))

    return Rescaled


def _channel_affine_class():
    import torch

    class ChannelAffine(torch.nn.Module):
        """A BatchNorm layer's inference form, ``(x - mean) / sqrt(var + eps) * weight + bias``, in any mode.

        ``weight`` and ``bias`` stay trainable parameters (in the BatchNorm's order); the running
        statistics are fixed buffers, so a batch of one behaves like any other.
        """

        def __init__(self, bn):
            super().__init__()
            self.weight = torch.nn.Parameter(bn.weight.detach().clone())
            self.bias = torch.nn.Parameter(bn.bias.detach().clone())
            self.register_buffer("mean", bn.running_mean.detach().clone())
            self.register_buffer("inv_std", 1.0 / torch.sqrt(bn.running_var.detach() + bn.eps))

        def forward(self, x):
            shape = (1, -1) + (1,) * (x.dim() - 2)
            scale = (self.weight * self.inv_std).reshape(shape)
            return (x - self.mean.reshape(shape)) * scale + self.bias.reshape(shape)

    return ChannelAffine


def client_model(workload: Any) -> Any:
    """The workload's model as a client trains it: logits out, BatchNorm in its inference form (see the notes)."""
    import torch

    from ..workload.torchmodel import to_torch

    model = to_torch(workload, drop_final=True)
    affine = None
    for name, child in model.named_children():
        if isinstance(child, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)):
            affine = affine or _channel_affine_class()
            setattr(model, name, affine(child))
    return model.train()


def prepare(workload: Any) -> Target:
    """The client's model, the attacker's box and the notes on both (raises InvalidInput as :func:`to_torch` does)."""
    model = client_model(workload)
    shape = tuple(workload.input_shape)
    X = np.asarray(workload.X_train, dtype=np.float64)
    notes: list[str] = []
    if is_image(shape):
        lo, hi = float(X.min()), float(X.max())
        low, high = min(0.0, lo), max(1.0, hi)
        if (low, high) != (0.0, 1.0):
            notes.append(
                f"image values span [{lo:.3g}, {hi:.3g}], outside [0, 1]: the attack searches [{low:.3g}, {high:.3g}] "
                "and PSNR/SSIM are computed on values rescaled from it to [0, 1]"
            )
        low_arr = np.full((1,) * len(shape), low)
        span = np.full((1,) * len(shape), high - low)
        test = np.asarray(workload.X_test, dtype=np.float64)
        outside = float(np.mean((test < lo) | (test > hi)))
        attack_shape, spread = shape, None
    else:
        flat = X.reshape(len(X), -1)
        low_arr = flat.min(axis=0)
        span = flat.max(axis=0) - low_arr
        spread = flat.std(axis=0)
        if np.any(spread == 0):
            notes.append(
                f"{int(np.sum(spread == 0))} feature(s) are constant in the training data: errors on them "
                "are measured in absolute units"
            )
        spread = np.where(spread > 0, spread, 1.0)
        span = np.where(span > 0, span, 1.0)
        test = np.asarray(workload.X_test, dtype=np.float64).reshape(len(workload.X_test), -1)
        outside = float(np.mean((test < low_arr) | (test > low_arr + span)))
        attack_shape = (1, 1, flat.shape[1])
    if outside > 0:
        notes.append(
            f"{outside:.1%} of the test set's values lie outside the range the training data covers: the attack "
            "searches the training range only, so such values cannot be rebuilt exactly"
        )
    attacker = _rescaled_class()(model, low_arr, span, shape)
    return Target(model, attacker, is_image(shape), shape, attack_shape, low_arr, span, spread, notes, outside)


def client_gradients(target: Target, X: np.ndarray, y: np.ndarray, *, defense: Any = None, seed: int = 0) -> list:
    """What the client shares for one FedSGD step on (X, y): the defended (or plain) mean-loss gradient."""
    import torch

    from ..fl.hooks import NoDefense

    defense = defense or NoDefense()
    xt = torch.as_tensor(np.asarray(X, dtype=np.float32))
    yt = torch.as_tensor(np.asarray(y, dtype=np.int64))
    return defense.client_gradients(target.model, xt, yt, generator=np.random.default_rng(seed))


def invert(
    target: Target,
    kind: str,
    X: np.ndarray,
    y: np.ndarray,
    *,
    gradients: list,
    iterations: int,
    seed: int,
    max_seconds: float | None = None,
) -> dict[str, float]:
    """Run one attack on one shared gradient of the batch (X, y) and score it.

    Returns
    -------
    dict
        ``psnr`` (median over the batch, in the box), ``label_recovery`` and ``seconds``; images also
        ``ssim``; flat features also ``feature_recovery`` and ``mean_relative_error``; ``capped`` is 1
        when the attack stopped at ``max_seconds``.
    """
    true = target.to_box(X)
    tv = None if target.image else 0.0  # total variation is an image prior
    out = attack(
        kind,
        model=target.attacker_model,
        gradients=gradients,
        input_shape=target.attack_shape,
        batch_size=len(X),
        iterations=iterations,
        tv=tv,
        true_images=true if target.image else None,
        true_labels=y if target.image else None,
        rng=seed,
        max_seconds=max_seconds,
    )
    m, rec = out.result.metrics, out.value
    last = out.result.artifacts["history"][-1]["iteration"] if out.result.artifacts["history"] else iterations
    scores = {"seconds": m["seconds"], "capped": float(last < iterations)}
    found = out.result.artifacts["recovered_labels"]
    scores["label_recovery"] = metrics.label_accuracy(y, found)
    if target.image:
        scores.update(psnr=m["psnr"], ssim=m["ssim"])
        return scores
    pairs = metrics.match(true, rec)
    rows = np.stack([rec[j].ravel() for _, j, _ in pairs])
    errors = np.abs(rows - true.reshape(len(true), -1)) * target.span.ravel() / target.spread
    scores.update(
        psnr=float(np.median([p for _, _, p in pairs])),
        feature_recovery=float(np.mean(errors <= TOLERANCE)),
        mean_relative_error=float(np.mean(errors)),
    )
    return scores


def median_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    """Per-metric medians over several attacked batches (``seconds`` summed, ``capped`` counted)."""
    if not rows:
        raise InvalidInput("no attack scores to summarise.")
    out = {k: float(np.median([r[k] for r in rows])) for k in rows[0] if k not in ("seconds", "capped")}
    out["seconds"] = float(sum(r["seconds"] for r in rows))
    out["capped"] = float(sum(r["capped"] for r in rows))
    return out
