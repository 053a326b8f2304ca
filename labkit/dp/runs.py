"""The training runs of the DP assess door: non-private, DP-compatible, the DP-SGD sweep, the audit of each.

:func:`run_all` does the work :func:`labkit.dp.assess.assess` describes, for
the parameters of :func:`labkit.dp.assess.plan`, and returns plain numbers.
It reuses the DP lab's loops (:mod:`labkit.dp.models`), accountant
(:mod:`labkit.dp.accounting`), audit (:mod:`labkit.dp.audit`) and reference
models (:mod:`labkit.dp.reference`). torch and Opacus are imported here.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import numpy as np
import torch

from .. import bench
from ..errors import InvalidInput
from . import accounting, audit, models, reference
from .compat import architecture, dp_compatible, reinitialised

MOMENTUM = 0.9
#: Rényi orders of the noise search: Opacus' integer orders and two fractional ones below 2.
SEARCH_ALPHAS = (1.5, 1.75, *range(2, 64))


def audit_split(workload: Any, seed: int) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((X, y) non-members, (X, y) public pool): the test split cut in two halves at random (seeded)."""
    order = np.random.default_rng(seed).permutation(len(workload.y_test))
    half = len(order) // 2
    public, nonmembers = order[:half], order[half:]
    X, y = workload.X_test, np.asarray(workload.y_test, dtype=np.int64)
    return (X[nonmembers], y[nonmembers]), (X[public], y[public])


class _Plain:
    """Non-private SGD on shuffled batches of the expected DP batch size."""

    def __init__(self, model, members, p: dict[str, Any]):
        self.model = model
        n = len(members)
        # a BatchNorm cannot train on a last batch of one sample
        self.loader = torch.utils.data.DataLoader(
            members, batch_size=p["batch_size"], shuffle=True, drop_last=n % p["batch_size"] == 1
        )
        self.opt = torch.optim.SGD(model.parameters(), lr=p["lr"], momentum=MOMENTUM)

    def epoch(self) -> None:
        models.train_epoch(self.model, self.loader, self.opt)


class _Private:
    """DP-SGD with Opacus at one target epsilon (Poisson batches, clipping, Gaussian noise, RDP accountant).

    The noise is searched over :data:`SEARCH_ALPHAS` (seconds instead of minutes on small data); the
    epsilon reported is Opacus' over its full default orders, so it is at most the target.
    """

    def __init__(self, model, members, p: dict[str, Any], target_epsilon: float):
        from opacus import PrivacyEngine

        self.model, self.target, self.p = model, float(target_epsilon), p
        loader = torch.utils.data.DataLoader(members, batch_size=p["batch_size"])
        try:
            sigma = accounting.noise_for_epsilon(
                target_epsilon=self.target,
                sample_rate=1.0 / len(loader),  # what Opacus' Poisson loader will use
                steps=p["epochs"] * len(loader),
                delta=p["delta"],
                accountant=p["accountant"],
                alphas=SEARCH_ALPHAS,
            )
        except ValueError as exc:  # Opacus' noise search gives up on budgets far too small
            raise InvalidInput(f"Opacus cannot reach epsilon {self.target:g} ({exc}); raise the target.") from exc
        self.engine = PrivacyEngine(accountant=p["accountant"], secure_mode=False)
        self.wrapped, self.opt, self.loader = self.engine.make_private(
            module=model,
            optimizer=torch.optim.SGD(model.parameters(), lr=p["lr"], momentum=MOMENTUM),
            data_loader=loader,
            noise_multiplier=sigma,
            max_grad_norm=p["max_grad_norm"],
        )
        self.steps = 0

    def epoch(self) -> None:
        self.steps += models.train_epoch(self.wrapped, self.loader, self.opt)

    def guarantee(self) -> dict[str, Any]:
        """What an independent accountant needs, and the epsilon Opacus' own and a fresh accountant give."""
        p = self.p
        sigma, q = float(self.opt.noise_multiplier), 1.0 / len(self.loader)
        return {
            "target_epsilon": self.target,
            "epsilon": float(self.engine.get_epsilon(p["delta"])),
            "epsilon_check": accounting.epsilon(
                noise_multiplier=sigma, sample_rate=q, steps=self.steps, delta=p["delta"], accountant=p["accountant"]
            ),
            "delta": p["delta"],
            "noise_multiplier": sigma,
            "sample_rate": q,
            "steps": self.steps,
            "max_grad_norm": p["max_grad_norm"],
            "accountant": p["accountant"],
        }


def _scores(model, workload, members, nonmembers, refs, p) -> dict[str, Any]:
    X_m, y_m = members
    X_n, y_n = nonmembers
    audited = audit.run(
        member_loss=models.per_example_loss(model, X_m, y_m),
        nonmember_loss=models.per_example_loss(model, X_n, y_n),
        member_reference_loss=refs[0],
        nonmember_reference_loss=refs[1],
        delta=p["delta"],
        rng=p["seed"],
    )
    return {
        "accuracy": models.accuracy(model, workload.X_test, np.asarray(workload.y_test, dtype=np.int64)),
        "train_accuracy": models.accuracy(model, X_m, y_m),
        "audit": dict(audited.metrics),
        "best_attack": audited.artifacts["best_attack"],
    }


def run_all(workload: Any, p: dict[str, Any], *, progress: bool = False) -> dict[str, Any]:
    """Every run of the assessment for the parameters ``p``; plain numbers, the overhead and timings."""
    seed, epochs = p["seed"], p["epochs"]
    arch = architecture(workload)
    compat = dp_compatible(arch, workload=workload)
    original = reinitialised(arch, seed)
    fixed_init = reinitialised(compat.model, seed)
    members_xy = (workload.X_train, np.asarray(workload.y_train, dtype=np.int64))
    members = models.tensors(*members_xy)
    nonmembers, public = audit_split(workload, seed)
    changed = bool(compat.changes)
    others = [e for e in p["epsilons"] if e != p["target_epsilon"]]
    total = epochs * (1 + len(p["epsilons"]) + int(changed) + p["n_reference"])
    bar = _bar(progress, total, workload.name)
    timings = {}
    with torch.random.fork_rng(), models.single_thread(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Secure RNG turned off.*")
        warnings.filterwarnings("ignore", message=".*Full backward hook is firing.*")
        warnings.filterwarnings("ignore", message=".*Optimal order is the (largest|smallest) alpha.*")
        torch.manual_seed(seed)
        try:
            plain_fixed = _Plain(copy.deepcopy(fixed_init), members, p)
            runs = {p["target_epsilon"]: _Private(copy.deepcopy(fixed_init), members, p, p["target_epsilon"])}

            def dp_epoch() -> None:
                runs[p["target_epsilon"]].epoch()
                bar.update(1)

            def plain_epoch() -> None:
                plain_fixed.epoch()
                bar.update(1)

            ov = bench.overhead(dp_epoch, plain_epoch, repeat=epochs, warmup=0, names=("dp_epoch", "plain_epoch"))
            for eps in others:
                runs[eps] = _Private(copy.deepcopy(fixed_init), members, p, eps)
                for _ in range(epochs):
                    runs[eps].epoch()
                    bar.update(1)
            plain = plain_fixed
            if changed:
                plain = _Plain(original, members, p)
                for _ in range(epochs):
                    plain.epoch()
                    bar.update(1)
            with bench.stopwatch("audit") as audit_watch:
                refs = reference.mean_losses(
                    lambda: reinitialised(compat.model, None),
                    *public,
                    [members_xy, nonmembers],
                    n_reference=p["n_reference"],
                    seed=seed,
                    epochs=epochs,
                    batch_size=p["batch_size"],
                    lr=p["lr"],
                )
                bar.update(epochs * p["n_reference"])
                sweep = []
                for eps in p["epsilons"]:
                    point = runs[eps].guarantee()
                    point.update(_scores(runs[eps].model, workload, members_xy, nonmembers, refs, p))
                    sweep.append(point)
                plain_scores = _scores(plain.model, workload, members_xy, nonmembers, refs, p)
                fixed_scores = (
                    _scores(plain_fixed.model, workload, members_xy, nonmembers, refs, p) if changed else plain_scores
                )
        finally:
            bar.close()
    timings["audit"] = audit_watch.timing
    peaks = [t.peak_rss for t in (ov.candidate, audit_watch.timing) if t.peak_rss is not None]
    for point in sweep:
        point["audit_auc"] = point["audit"]["attack_auc"]
    return {
        "plain": plain_scores,
        "plain_fixed": fixed_scores,
        "sweep": sweep,
        "changes": compat.changes,
        "overhead": ov,
        "timings": timings,
        "n_members": len(members_xy[1]),
        "n_nonmembers": len(nonmembers[1]),
        "peak_rss_bytes": max(peaks, default=bench.rss_bytes()),
    }


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _bar(progress: bool, total: int, name: str) -> Any:
    if not progress:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"dp {name}", unit="epoch")
