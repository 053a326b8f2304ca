"""Gradient inversion: rebuild a client's images from the gradient it shared.

Three attacks, as published, on torch:

- ``dlg``: Deep Leakage from Gradients. Dummy images *and* dummy soft labels
  are optimised with L-BFGS so that their gradient matches the shared one in
  Euclidean distance.
- ``idlg``: the same, with the labels first read off the classifier head's
  gradient (:mod:`labkit.inversion.labels`), so only the images are optimised.
- ``ig``: Inverting Gradients. Cosine distance between gradients plus a total
  variation prior, signed Adam steps with a step-wise learning-rate decay,
  pixels boxed to [0, 1], several random restarts keeping the one with the
  lowest loss (the attacker cannot see the true image).

The attacker is an honest-but-curious server: it knows the model, the loss,
the batch size and the gradient it received, and nothing else.

References
----------
Zhu, Liu & Han, "Deep Leakage from Gradients", NeurIPS 2019.
Zhao, Mopuri & Bilen, "iDLG: Improved Deep Leakage from Gradients", arXiv:2001.02610, 2020.
Geiping, Bauermeister, Dröge & Moeller, "Inverting Gradients - How easy is it
to break privacy in federated learning?", NeurIPS 2020.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import bench, config, validate
from ..errors import InvalidInput
from ..results import Outcome, Result
from . import metrics
from .labels import head_index, recover_labels

ATTACKS = ("dlg", "idlg", "ig")
DEFAULTS = {  # iterations (full, fast), learning rate, total-variation weight
    "dlg": {"iterations": (300, 60), "lr": 1.0, "tv": 0.0},
    "idlg": {"iterations": (300, 60), "lr": 1.0, "tv": 0.0},
    "ig": {"iterations": (1000, 200), "lr": 0.1, "tv": 1e-4},
}


def check_gradients(model: Any, gradients: Any) -> list[Any]:
    """Validate shared gradients against the model; return them as float32 tensors.

    Accepts a list of tensors/arrays in ``model.parameters()`` order or one flat
    vector of the right total length. Raises InvalidInput on any mismatch or NaN.
    """
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    total = sum(p.numel() for p in params)
    if hasattr(gradients, "shape") and len(gradients.shape) == 1:
        if gradients.shape[0] != total:
            raise InvalidInput(
                f"the flat gradient has {gradients.shape[0]} values but the model has {total} parameters: "
                "pass the update of this very model."
            )
        from ..fl.aggregation import unflatten

        gradients = unflatten(np.asarray(gradients, dtype=np.float64), params)
    if not isinstance(gradients, Sequence) or len(gradients) != len(params):
        n = len(gradients) if isinstance(gradients, Sequence) else type(gradients).__name__
        raise InvalidInput(
            f"expected {len(params)} gradient tensors (one per model parameter), got {n}: "
            "pass the update of this very model."
        )
    out = []
    for i, (g, p) in enumerate(zip(gradients, params)):
        t = torch.as_tensor(g.detach() if hasattr(g, "detach") else np.asarray(g), dtype=torch.float32)
        if tuple(t.shape) != tuple(p.shape):
            raise InvalidInput(
                f"gradient {i} has shape {tuple(t.shape)} but parameter {i} of the model has {tuple(p.shape)}: "
                "the gradients do not belong to this model."
            )
        if not torch.isfinite(t).all():
            raise InvalidInput(f"gradient {i} holds NaN or infinity.")
        out.append(t)
    return out


def _total_variation(x: Any) -> Any:
    """Mean absolute difference between neighbouring pixels, along each axis longer than one pixel."""
    out = x.new_zeros(())
    if x.shape[3] > 1:
        out = out + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().mean()
    if x.shape[2] > 1:
        out = out + (x[:, :, 1:, :] - x[:, :, :-1, :]).abs().mean()
    return out


def _loss(out, labels_or_logits, soft: bool):
    import torch
    import torch.nn.functional as F

    if soft:
        return torch.mean(torch.sum(-F.softmax(labels_or_logits, dim=-1) * F.log_softmax(out, dim=-1), dim=-1))
    return F.cross_entropy(out, labels_or_logits)


def _dummy_gradients(model, params, x, labels_or_logits, soft: bool, local_steps: int = 1, local_lr: float = 0.1):
    """The update the dummy batch would produce: its gradient, or for several local SGD steps
    the pseudo-gradient ``(w_0 - w_K) / lr`` of the simulated local path (differentiable)."""
    import torch

    if local_steps == 1:
        return torch.autograd.grad(_loss(model(x), labels_or_logits, soft), params, create_graph=True)
    from torch.func import functional_call

    names = [n for n, p in model.named_parameters() if p.requires_grad]
    w = list(params)
    for _ in range(local_steps):
        out = functional_call(model, dict(zip(names, w)), (x,))
        g = torch.autograd.grad(_loss(out, labels_or_logits, soft), w, create_graph=True)
        w = [wi - local_lr * gi for wi, gi in zip(w, g)]
    return [(p - wk) / local_lr for p, wk in zip(params, w)]


def _euclid(dummy, target):
    return sum(((d - t) ** 2).sum() for d, t in zip(dummy, target))


def _cosine(dummy, target, target_norm):
    dot = sum((d * t).sum() for d, t in zip(dummy, target))
    norm = sum((d * d).sum() for d in dummy).sqrt()
    return 1 - dot / (norm * target_norm + 1e-12)


@dataclass
class _Context:
    kind: str
    model: Any
    params: list
    target: list
    target_norm: Any
    fixed: Any
    tv: float
    local_steps: int = 1
    local_lr: float = 0.1

    def objective(self, x, logits):
        dummy = _dummy_gradients(
            self.model,
            self.params,
            x,
            self.fixed if logits is None else logits,
            logits is not None,
            self.local_steps,
            self.local_lr,
        )
        if self.kind == "ig":
            loss = _cosine(dummy, self.target, self.target_norm)
            return loss + self.tv * _total_variation(x) if self.tv else loss
        return _euclid(dummy, self.target)


def _optimise(ctx, x, logits, steps, iterations, lr, record_every, true_images, callback, t_start, max_seconds):
    """One restart: returns (final loss, history); ``x`` (and ``logits``) are updated in place."""
    import torch

    if ctx.kind == "ig":
        opt = torch.optim.Adam([x], lr=lr)
        milestones = [int(iterations * f) for f in (3 / 8, 5 / 8, 7 / 8)]
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=0.1)
    else:
        opt = torch.optim.LBFGS(
            [x] if logits is None else [x, logits], lr=lr, max_iter=1, history_size=100, line_search_fn="strong_wolfe"
        )

    def closure():
        opt.zero_grad()
        loss = ctx.objective(x, logits)
        loss.backward()
        return loss

    history, loss_value = [], float("nan")
    for it in steps:
        if ctx.kind == "ig":
            loss = closure()
            x.grad.sign_()
            opt.step()
            sched.step()
            with torch.no_grad():
                x.clamp_(0, 1)
        else:
            loss = opt.step(closure)
        loss_value = float(loss.detach())
        if not np.isfinite(loss_value):
            break
        last = it == iterations - 1 or (max_seconds is not None and time.perf_counter() - t_start > max_seconds)
        if it % record_every == 0 or last:
            rec = x.detach().clamp(0, 1).numpy().copy()
            p = metrics.score(true_images, rec)["psnr"] if true_images is not None else None
            history.append({"iteration": it + 1, "loss": loss_value, **({"psnr": p} if p is not None else {})})
            if callback is not None:
                callback(it + 1, rec, loss_value, p)
        if last:
            break
    if not np.isfinite(loss_value):
        loss_value = float("inf")  # diverged: this restart loses to any finite one
    return loss_value, history


def _restarts(
    ctx: _Context,
    *,
    restarts,
    iterations,
    batch_size,
    input_shape,
    n_classes,
    gen,
    lr,
    record_every,
    true_images,
    callback,
    t_start,
    max_seconds,
    progress,
):
    """Run the restarts; return (loss, reconstruction, labels, history) of the lowest-loss one."""
    import torch
    from tqdm.auto import tqdm

    best = None
    for restart in range(restarts):
        x = torch.rand((batch_size, *input_shape), generator=gen).requires_grad_(True)
        logits = torch.randn((batch_size, n_classes), generator=gen).requires_grad_(True) if ctx.fixed is None else None
        bar = tqdm(range(iterations), desc=f"{ctx.kind} restart {restart + 1}/{restarts}", disable=not progress)
        loss_value, history = _optimise(
            ctx, x, logits, bar, iterations, lr, record_every, true_images, callback, t_start, max_seconds
        )
        if best is None or loss_value < best[0]:
            found = ctx.fixed if logits is None else logits.detach().argmax(dim=1)
            best = (loss_value, x.detach().clamp(0, 1).nan_to_num(0.5).numpy().copy(), found, history)
        if max_seconds is not None and time.perf_counter() - t_start > max_seconds:
            break
    return best


def attack(
    kind: str,
    *,
    model: Any,
    gradients: Any,
    input_shape: tuple[int, int, int],
    batch_size: int = 1,
    iterations: int | None = None,
    restarts: int = 1,
    lr: float | None = None,
    tv: float | None = None,
    labels: Sequence[int] | None = None,
    local_steps: int = 1,
    local_lr: float = 0.1,
    true_images: np.ndarray | None = None,
    true_labels: Sequence[int] | None = None,
    rng: int | np.random.Generator | None = None,
    max_seconds: float | None = None,
    record_every: int | None = None,
    callback: Callable[[int, np.ndarray, float, float | None], None] | None = None,
    progress: bool = False,
) -> Outcome[np.ndarray]:
    """Reconstruct a batch of images from the gradient they produced.

    Parameters
    ----------
    kind : {"dlg", "idlg", "ig"}
    model : torch.nn.Module
        The model the gradient was computed on (the server knows it).
    gradients : list of tensors or flat vector
        The shared gradient of the mean cross-entropy over the batch.
    input_shape : (C, H, W)
    batch_size : int
        How many images made the gradient (the server knows it).
    iterations : int, optional
        Optimiser iterations (default per attack, smaller in fast mode).
    restarts : int
        Random restarts (``ig`` keeps the lowest loss; others too).
    lr, tv : float, optional
        Learning rate and total-variation weight (defaults per attack).
    labels : sequence of int, optional
        Labels known to the attacker; otherwise ``idlg``/``ig`` recover them
        from the gradient and ``dlg`` optimises them.
    local_steps, local_lr : int, float
        The update is a FedAvg pseudo-gradient ``(w_0 - w_K) / local_lr`` after
        ``local_steps`` full-batch SGD steps: the attack simulates those steps on
        the dummy batch (Geiping et al. 2020, section 6). 1 means a plain gradient.
    true_images, true_labels : optional
        Only for scoring (PSNR, SSIM, label accuracy); the attack never reads them.
    rng : int, numpy Generator or None
        Seeds the dummy initialisation (None: ``LABKIT_SEED``).
    max_seconds : float, optional
        Stop early after this much time.
    record_every : int, optional
        Record history and call ``callback`` (with the reconstruction so far) every this many iterations.
    callback : callable, optional
        ``callback(iteration, reconstruction, loss, psnr_or_None)``.

    Returns
    -------
    Outcome
        ``value``: the reconstruction, (B, C, H, W) in [0, 1]. ``result``: ``metrics`` ``loss``,
        ``seconds`` and, when scored, ``psnr``, ``psnr_mean``, ``ssim``, ``label_accuracy``;
        ``artifacts`` ``recovered_labels`` (the labels the attack settled on, sorted), ``history``
        (one dict per recorded iteration: ``iteration``, ``loss``, and ``psnr`` when scored) and,
        when scored, the per-image scores and the matching.

    Examples
    --------
    >>> import torch
    >>> from labkit.fl import make_model
    >>> from labkit.fl.hooks import batch_gradients
    >>> m = make_model("mlp", input_shape=(1, 8, 8), n_classes=10, hidden=16)
    >>> x = torch.rand(1, 1, 8, 8)
    >>> g = batch_gradients(m, x, torch.tensor([3]))
    >>> out = attack("idlg", model=m, gradients=g, input_shape=(1, 8, 8), iterations=30,
    ...              true_images=x.numpy(), true_labels=[3])
    >>> out.result.artifacts["recovered_labels"], out.result.metrics["psnr"] > 25
    ([3], True)
    """
    import torch

    validate.choice("attack kind", kind, ATTACKS)
    batch_size = validate.integer("batch_size", batch_size)
    local_steps = validate.integer("local_steps", local_steps)
    local_lr = validate.positive("local_lr", local_lr)
    restarts = validate.integer("restarts", restarts)
    if len(input_shape) != 3:
        raise InvalidInput(f"input_shape must be (channels, height, width), not {input_shape!r}.")
    target = check_gradients(model, gradients)
    d = DEFAULTS[kind]
    iterations = validate.integer("iterations", config.pick(*d["iterations"]) if iterations is None else iterations)
    lr = d["lr"] if lr is None else float(lr)
    tv = d["tv"] if tv is None else float(tv)
    record_every = record_every or max(1, iterations // 20)
    if true_images is not None:
        true_images = np.asarray(true_images, dtype=np.float64)
        if true_images.shape[1:] != tuple(input_shape):
            raise InvalidInput(
                f"true_images have shape {true_images.shape[1:]} but input_shape is {tuple(input_shape)}."
            )
    w_i, _ = head_index(model)
    n_classes = target[w_i].shape[0]

    if labels is not None:
        fixed = torch.as_tensor(np.asarray(labels), dtype=torch.long)
        if fixed.shape != (batch_size,) or fixed.min() < 0 or fixed.max() >= n_classes:
            raise InvalidInput(f"labels must be {batch_size} integers in [0, {n_classes}).")
    elif kind in ("idlg", "ig"):
        fixed = torch.as_tensor(recover_labels(model, target, batch_size=batch_size))
    else:
        fixed = None

    params = [p for p in model.parameters() if p.requires_grad]
    was_training = model.training
    model.eval()
    target_norm = torch.sqrt(sum((t * t).sum() for t in target))
    seed = config.seed_from(rng)
    gen = torch.Generator().manual_seed(seed)
    t_start = time.perf_counter()
    from ..fl.models import torch_threads

    try:
        with torch_threads(1):
            ctx = _Context(kind, model, params, target, target_norm, fixed, tv, local_steps, local_lr)
            best = _restarts(
                ctx,
                restarts=restarts,
                iterations=iterations,
                batch_size=batch_size,
                input_shape=input_shape,
                n_classes=n_classes,
                gen=gen,
                lr=lr,
                record_every=record_every,
                true_images=true_images,
                callback=callback,
                t_start=t_start,
                max_seconds=max_seconds,
                progress=progress,
            )
    finally:
        model.train(was_training)
    seconds = time.perf_counter() - t_start
    loss_value, rec, found, history = best
    found = np.sort(np.asarray(found.numpy(), dtype=np.int64))
    result = Result(
        technique="inversion",
        name=f"attack_{kind}",
        params={
            "kind": kind,
            "batch_size": int(batch_size),
            "iterations": iterations,
            "restarts": int(restarts),
            "lr": lr,
            "tv": tv,
            "seed": seed,
            "labels_given": labels is not None,
            "local_steps": int(local_steps),
            "local_lr": float(local_lr),
        },
        metrics={"loss": loss_value if np.isfinite(loss_value) else 1e30, "seconds": seconds},
        timings={"attack": bench.Timing("attack", (seconds,))},
        artifacts={"recovered_labels": found.tolist(), "history": history},
    )
    if true_images is not None:
        s = metrics.score(true_images, rec, true_labels, found if true_labels is not None else None)
        result.metrics.update({k: s[k] for k in ("psnr", "psnr_mean", "ssim", "label_accuracy") if k in s})
        result.artifacts.update({k: s[k] for k in ("psnr_per_image", "ssim_per_image", "matching")})
    return Outcome(rec, result)
