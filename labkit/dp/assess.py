"""The DP doors of ``labkit assess``: the user's architecture trained with DP-SGD on the user's data, and audited.

:func:`support` answers in seconds: the architecture rebuilt in torch
(:func:`labkit.dp.compat.architecture`), what Opacus' ``ModuleValidator.fix``
replaces (BatchNorm -> GroupNorm...), whether there is anything to train, and
whether the data is large enough for a sweep and an audit; an estimate of time
and memory (:mod:`labkit.dp.cost`).

:func:`assess` trains the architecture **from scratch** (weights re-initialised,
seeded), never from the given weights: those were trained on the data being
protected, so fine-tuning them with DP-SGD would protect nothing. In one run,
with the same epochs, batch and optimiser (SGD, momentum 0.9) everywhere:

1. the original architecture without privacy (``accuracy_plain``);
2. the DP-compatible architecture without privacy, so ``accuracy_cost_of_fix``
   is what the fix alone costs (the same model as 1 when nothing was replaced);
3. DP-SGD (Opacus, Poisson sampling, clip norm 1, RDP accountant) at each
   target epsilon of a short sweep, at a fixed ``delta`` (a power of ten at most
   ``1/(10 n)``, :func:`labkit.dp.accounting.default_delta`). The target point
   (epsilon 3, the sweep's middle) runs its epochs interleaved with run 2, which
   gives the per-epoch ``overhead``;
4. the DP lab's membership-inference audit (:func:`labkit.dp.audit.run`) of the
   non-private model (1) and of every DP model: members are the training split,
   non-members a seeded half of the test split, and the other half trains the
   calibrated attack's reference models (:func:`labkit.dp.reference.mean_losses`).

Every sweep point carries noise multiplier, sample rate, steps, delta and the
accountant, and an ``epsilon_check`` from a fresh Opacus accountant, so anyone
can recompute its epsilon.

References
----------
Abadi et al., "Deep learning with differential privacy", CCS 2016.
Yousefpour et al., "Opacus: user-friendly differential privacy library in PyTorch", 2021 (arXiv:2109.12298).
Mironov, Talwar, Zhang, "Rényi differential privacy of the sampled Gaussian mechanism", 2019.
Yeom et al., "Privacy risk in machine learning: analyzing the connection to overfitting", CSF 2018.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .. import config, validate
from ..errors import InvalidInput
from ..results import NOT_FOR_PRODUCTION, Result
from ..workload import Problem, Support, Workload, default_budget_bytes
from ..workload.support import over_budget
from . import accounting, cost
from .recipe import (
    ACCOUNTANT,
    EPOCHS,
    EPSILONS,
    LR,
    MAX_BATCH,
    MAX_GRAD_NORM,
    MIN_AUDIT,
    MIN_TRAIN,
    N_REFERENCE,
    TARGET_EPSILON,
)

KEY = "dp"


def _problems(workload: Workload, arch: Any, compat: Any) -> list[Problem]:
    from .compat import trainable_parameters

    out = []
    if trainable_parameters(arch) == 0:
        out.append(
            Problem(
                "(whole model)",
                "parameters",
                "the model has no trainable parameters: DP-SGD trains weights, and there are none",
                "add a layer with weights (Linear, Conv2d) to the model",
            )
        )
    for what in compat.remaining:
        out.append(Problem("(whole model)", "opacus", f"Opacus cannot train it: {what}", "replace that layer"))
    n_train, n_test = len(workload.y_train), len(workload.y_test)
    if n_train < MIN_TRAIN:
        out.append(
            Problem(
                "(data)",
                "training split",
                f"{n_train} training samples; the DP sweep needs at least {MIN_TRAIN} (with fewer, every Poisson batch "
                "is a large share of the data and the noise for epsilon 1 drowns the gradient)",
                f"give at least {MIN_TRAIN} training samples",
            )
        )
    if n_test // 2 < MIN_AUDIT or n_train < MIN_AUDIT:
        out.append(
            Problem(
                "(data)",
                "test split",
                f"{n_test} test samples; the membership audit needs at least {MIN_AUDIT} members and {MIN_AUDIT} "
                f"non-members, and its non-members are half the test split (the other half trains the attacker's "
                f"reference models), so the test split needs at least {2 * MIN_AUDIT} samples",
                f"give at least {2 * MIN_AUDIT} test samples (X_test, y_test)",
            )
        )
    return out


def _notes(workload: Workload, compat: Any) -> tuple[str, ...]:
    notes = []
    for c in compat.changes:
        node = f" (node {c['node']!r})" if c["node"] else ""
        notes.append(f"module {c['module']}{node}: {c['from']} -> {c['to']}: {c['why']}; its accuracy cost is measured")
    notes.append(
        "trained from scratch (weights re-initialised, seeded): DP-SGD from the given weights would not protect "
        "the data they were already trained on"
    )
    final = workload.program.final if workload.program is not None else None
    if final:
        notes.append(f"the final {final} is left out in training (cross-entropy takes logits); argmax is unchanged")
    return tuple(notes)


def check(workload: Workload, *, budget_bytes: int | None = None) -> Support:
    """Can DP-SGD train this workload's architecture on its data, and at what cost? Nothing is trained.

    Returns
    -------
    Support
        ``problems``: no trainable parameters, a layer Opacus refuses even after its fix, too few
        training samples (< :data:`MIN_TRAIN`) or test samples (< 2 x :data:`MIN_AUDIT`), memory over
        the budget. ``notes``: the modules Opacus' fix replaces, and that training starts from scratch.
        ``estimate``: ``seconds``, ``seconds_fast``, ``memory_bytes`` and the run's settings.
    """
    if not isinstance(workload, Workload):
        raise InvalidInput(f"support takes a labkit.workload.Workload, not {type(workload).__name__}.")
    budget = default_budget_bytes() if budget_bytes is None else validate.integer("budget_bytes", budget_bytes)
    if workload.program is None:
        return Support(KEY, tuple(workload.problems))
    from .compat import architecture, dp_compatible, trainable_parameters

    try:
        arch = architecture(workload)
    except InvalidInput as exc:
        return Support(KEY, (Problem("(whole model)", "torch", str(exc), "use Linear, Conv2d, pooling, activations"),))
    compat = dp_compatible(arch, workload=workload)
    problems = _problems(workload, arch, compat)
    n = len(workload.y_train)
    batch = batch_size(n)
    est = cost.estimate(
        workload, n_parameters=trainable_parameters(compat.model), batch=batch, replaced=bool(compat.changes)
    )
    est.update(
        {
            "n_parameters": trainable_parameters(arch),
            "modules_replaced": len(compat.changes),
            "batch": batch,
            "delta": accounting.default_delta(max(n, 1)),
        }
    )
    late = over_budget(est["memory_bytes"], budget, what=f"DP-SGD with per-example gradients on batches of {batch}")
    if late:
        problems.append(late)
    return Support(KEY, tuple(problems), est, _notes(workload, compat))


support = check  # the registry's door name (labkit.dp.technique)


def batch_size(n_train: int) -> int:
    """The expected Poisson batch: :data:`MAX_BATCH`, at most a quarter of the training split (at least 1)."""
    return max(1, min(MAX_BATCH, n_train // 4))


def plan(
    workload: Workload,
    *,
    fast: bool,
    epsilons: tuple[float, ...] | None = None,
    epochs: int | None = None,
    rng: int | np.random.Generator | None = None,
) -> dict[str, Any]:
    """The run's parameters, validated before any training (InvalidInput says what to change)."""
    eps = EPSILONS[1 if fast else 0] if epsilons is None else epsilons
    eps = tuple(sorted({validate.positive("epsilon", e, high=100.0) for e in eps}))
    if not eps or eps[0] < 0.1:
        raise InvalidInput("epsilons must hold at least one target, each 0.1 or more (e.g. (1, 3, 8)).")
    target = TARGET_EPSILON if TARGET_EPSILON in eps else eps[len(eps) // 2]
    n = len(workload.y_train)
    return {
        "epsilons": list(eps),
        "target_epsilon": target,
        "delta": accounting.default_delta(n),
        "epochs": validate.integer("epochs", EPOCHS[1 if fast else 0] if epochs is None else epochs, low=1, high=500),
        "batch_size": batch_size(n),
        "max_grad_norm": MAX_GRAD_NORM,
        "lr": LR,
        "optimizer": "SGD, momentum 0.9",
        "accountant": ACCOUNTANT,
        "n_reference": N_REFERENCE[1 if fast else 0],
        "init": "from scratch (re-initialised, seeded)",
        "secure_mode": False,
        "seed": config.seed_from(rng),
        "fast": fast,
    }


def assess(
    workload: Workload,
    *,
    support: Support | None = None,
    progress: bool = False,
    fast: bool | None = None,
    epsilons: tuple[float, ...] | None = None,
    epochs: int | None = None,
    rng: int | np.random.Generator | None = None,
) -> Result:
    """Train the workload's architecture with and without DP-SGD on its data, sweep epsilon, audit each model.

    Parameters
    ----------
    workload : Workload
    support : Support, optional
        This technique's answer from :func:`support` (computed when omitted).
    progress : bool
        A progress bar over the training epochs of every run.
    fast : bool, optional
        Two sweep points and 8 epochs instead of three and 20 (default: ``LABKIT_FAST``).
    epsilons : tuple of float, optional
        Target epsilons of the sweep (default (1, 3, 8); fast (1, 3)).
    epochs : int, optional
        Epochs of every training run.
    rng : int, numpy Generator or None
        Seeds weights, batches, noise and the audit's split (None: ``LABKIT_SEED``).

    Returns
    -------
    Result
        ``technique="dp"``, ``name="assess"``. Metrics: ``accuracy_plain`` (the original architecture,
        non-private), ``accuracy_plain_fixed`` and ``accuracy_cost_of_fix``, ``accuracy_private``,
        ``epsilon``, ``epsilon_check``, ``delta``, ``noise_multiplier``, ``sample_rate``, ``steps`` (the
        target point), ``audit_auc_plain``/``audit_auc_private`` (with standard errors, calibrated AUCs and
        empirical epsilon lower bounds), ``overhead`` (DP-SGD epoch over a non-private epoch of the same
        architecture, median, IQR in ``overhead_low``/``overhead_high``). Artifacts: ``sweep`` (one row per
        point), ``changes``, ``provenance``, ``findings``, ``reproduce``.
    """
    from ..assessment import unsupported_result

    fast = config.fast() if fast is None else bool(fast)
    if not isinstance(workload, Workload):
        raise InvalidInput(f"assess takes a labkit.workload.Workload, not {type(workload).__name__}.")
    params = plan(workload, fast=fast, epsilons=epsilons, epochs=epochs, rng=rng)
    found = check(workload) if support is None else support
    if not found.supported:
        return unsupported_result(workload, found)
    from .runs import run_all

    start = time.perf_counter()
    out = run_all(workload, params, progress=progress)
    return _result(workload, found, params, out, time.perf_counter() - start)


def _result(workload: Workload, found: Support, params: dict[str, Any], out: dict[str, Any], seconds: float) -> Result:
    from .findings import findings, provenance

    target = next(p for p in out["sweep"] if p["target_epsilon"] == params["target_epsilon"])
    plain, fixed = out["plain"], out["plain_fixed"]
    metrics = {
        "supported": 1,
        "accuracy_plain": plain["accuracy"],
        "train_accuracy_plain": plain["train_accuracy"],
        "accuracy_plain_fixed": fixed["accuracy"],
        "accuracy_cost_of_fix": plain["accuracy"] - fixed["accuracy"],
        "accuracy_private": target["accuracy"],
        "train_accuracy_private": target["train_accuracy"],
        "accuracy_cost": fixed["accuracy"] - target["accuracy"],
        "epsilon": target["epsilon"],
        "epsilon_check": target["epsilon_check"],
        "target_epsilon": target["target_epsilon"],
        "delta": params["delta"],
        "noise_multiplier": target["noise_multiplier"],
        "sample_rate": target["sample_rate"],
        "steps": target["steps"],
        "modules_replaced": len(out["changes"]),
        "n_members": out["n_members"],
        "n_nonmembers": out["n_nonmembers"],
        "assess_seconds": seconds,
        "estimate_seconds": found.estimate.get("seconds_fast" if params["fast"] else "seconds", float("nan")),
        "estimate_memory_bytes": found.estimate.get("memory_bytes", float("nan")),
        "peak_rss_bytes": out["peak_rss_bytes"],
    }
    for label, audited in (("plain", plain["audit"]), ("private", target["audit"])):
        for k in ("attack_auc", "attack_auc_se", "attack_auc_calibrated", "empirical_epsilon"):
            metrics[k.replace("attack_auc", "audit_auc") + f"_{label}"] = audited[k]
    result = Result(KEY, "assess", params=params, metrics=metrics, timings=out["timings"])
    result.add_overhead("overhead", out["overhead"])
    result.artifacts.update(
        {
            "sweep": out["sweep"],
            "changes": out["changes"],
            "guarantee": f"({target['epsilon']:.3g}, {params['delta']:g})-DP by Opacus' RDP accountant "
            f"(noise multiplier {target['noise_multiplier']:.4g}, sample rate {target['sample_rate']:.4g}, "
            f"{target['steps']} steps)",
            "accountant": "opacus.accountants.RDPAccountant",
            "secure_mode": "off: pseudo-random, seeded noise and sampling (teaching; not for production)",
            "notes": list(found.notes),
            "support": found.as_dict(),
            "reproduce": "labkit.assess(workload, techniques=['dp']"
            + (", fast=True)" if params["fast"] else ")")
            + "  # CLI: labkit assess --model M --data D --techniques dp"
            + (" --fast" if params["fast"] else ""),
        }
    )
    result.artifacts["provenance"] = provenance(result.metrics)
    result.artifacts["findings"] = findings(result)
    result.flag(NOT_FOR_PRODUCTION)
    return result


__all__ = ["EPSILONS", "MIN_AUDIT", "MIN_TRAIN", "TARGET_EPSILON", "assess", "batch_size", "check", "plan", "support"]
