"""The gradient-inversion doors of ``labkit assess``: how much of a user's data a shared gradient gives away.

A federated client computes the gradient of the mean cross-entropy of the
workload's model (its weights as given) on a batch of its own training
samples and sends it; an honest-but-curious server that knows the model and
the batch size inverts it (:mod:`labkit.inversion.exposure`). :func:`assess`
attacks batches of one and a realistic batch with iDLG and Inverting
Gradients, then finds the cheapest defense of the lab's catalogue that brings
both attacks below the lab's safe band
(:data:`labkit.inversion.technique.THRESHOLD_DB`, PSNR; for flat features
over the box the attack searches, see :mod:`labkit.inversion.exposure`) and
measures what it costs: accuracy after a short federated fine-tuning with and
without it (:mod:`labkit.inversion.protect`), and the time of the defended
client update against the plain one (interleaved, median and IQR).

Every number is measured in the run; nothing is modelled. The federated
round itself is simulated in this process (one client, one server), as in
the lab's notebook 03.

:func:`support` answers in about a second: the model must rebuild in torch
(:func:`labkit.workload.torchmodel.to_torch`), have trainable parameters, class
scores (two outputs or more) and a Linear layer (the classifier head the
labels are read from); the time estimate times a few attack iterations on the
model itself.

References
----------
Zhao, Mopuri & Bilen, "iDLG: Improved Deep Leakage from Gradients", arXiv:2001.02610, 2020.
Geiping et al., "Inverting Gradients", NeurIPS 2020.
Zhu, Liu & Han, "Deep Leakage from Gradients", NeurIPS 2019 (defenses).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import config, validate
from ..errors import InvalidInput
from ..results import Result
from ..workload import Problem, Support, Workload, default_budget_bytes
from ..workload.support import over_budget
from . import protect
from .attacks import DEFAULTS
from .exposure import TOLERANCE
from .readout import assess_metrics, findings
from .technique import THRESHOLD_DB

KEY = "inversion"


@dataclass(frozen=True)
class Plan:
    """The sizes of one run (default or fast mode)."""

    singles: int  # samples attacked one at a time (batch 1)
    batch: int  # the realistic batch
    search_samples: int  # batch-1 samples each defense setting is attacked on
    iterations: dict  # per attack
    rounds: int  # fine-tuning rounds that price a defense
    repeat: int  # timed pairs of the overhead
    max_seconds: float  # cap on one attack run

    @property
    def attack_runs(self) -> int:
        """Attack runs before the defense search (two attacks, batch 1 and the batch)."""
        return 2 * (self.singles + 1)


PLANS = {  # the attacks' own iteration counts (labkit.inversion.attacks.DEFAULTS): full, fast
    fast: Plan(
        singles=1 if fast else 3,
        batch=4 if fast else 8,
        search_samples=1 if fast else 2,
        iterations={k: DEFAULTS[k]["iterations"][int(fast)] for k in ("idlg", "ig")},
        rounds=protect.ROUNDS[int(fast)],
        repeat=15 if fast else 31,
        max_seconds=4.0 if fast else 20.0,
    )
    for fast in (False, True)
}
MIN_TRAIN = max(p.batch for p in PLANS.values())


def plan(fast: bool | None = None) -> Plan:
    """The run's sizes: :data:`PLANS` for the mode (default ``LABKIT_FAST``)."""
    return PLANS[config.fast() if fast is None else bool(fast)]


def _problems(workload: Workload) -> tuple[list[Problem], object]:
    """What stops the attack on this workload, and the prepared target when nothing does."""
    from .exposure import prepare

    if workload.n_outputs < 2:
        return [
            Problem(
                "(output)",
                "score",
                "the model outputs one score: the client's loss here is cross-entropy over "
                "class scores, the loss the attacks invert",
                "export the model with one output per class (2 for binary)",
            )
        ], None
    problems = []
    if len(workload.X_train) < MIN_TRAIN:
        problems.append(
            Problem(
                "(data)",
                "samples",
                f"the training split holds {len(workload.X_train)} samples; the realistic batch "
                f"needs at least {MIN_TRAIN}",
                f"give at least {MIN_TRAIN} training samples",
            )
        )
    if workload.program is None:
        return [*problems, *workload.problems], None
    try:
        target = prepare(workload)
    except InvalidInput as exc:
        return [
            *problems,
            Problem(
                "(whole model)",
                "torch",
                str(exc),
                "use Linear, Conv2d, pooling, BatchNorm and activation layers, which the lab rebuilds in torch",
            ),
        ], None
    import torch

    params = [p for p in target.model.parameters() if p.requires_grad]
    if not params:
        problems.append(
            Problem(
                "(whole model)",
                "parameters",
                "the model has no trainable parameters: a client shares no gradient, so there is nothing to invert",
                "add a trainable layer (e.g. a Linear classifier head)",
            )
        )
    elif not any(isinstance(m, torch.nn.Linear) for m in target.model.modules()):
        problems.append(
            Problem(
                "(whole model)",
                "head",
                "no Linear layer: the attacks read the batch's labels off the classifier head's gradient",
                "end the model with a torch.nn.Linear classifier head",
            )
        )
    return problems, target


def training_stage(workload: Workload) -> str:
    """The model's stage as the attack finds it: ``"as given (trained, test accuracy 0.953)"``."""
    acc = workload.accuracy()
    majority = float(np.bincount(workload.y_test).max() / len(workload.y_test))
    if acc <= majority + 0.05:
        return f"as given (test accuracy {acc:.3f}, near the {majority:.3f} of always answering the commonest class: untrained or failed)"
    return f"as given (trained, test accuracy {acc:.3f})"


def _attack_cost(workload: Workload, target, kind: str, batch: int) -> tuple[float, float]:
    """(fixed, per iteration) seconds of a ``kind`` run on the model at ``batch``: short runs after a warm-up.

    A run's time is ``fixed + iterations * per_iteration``; the two are read off runs of
    :data:`CALIBRATION_ITERATIONS` (a few and more) iterations.
    """
    from .attacks import attack
    from .exposure import client_gradients

    X, y = workload.X_train[:batch], workload.y_train[:batch]
    grads = client_gradients(target, X, y)
    tv = None if target.image else 0.0
    timed = []
    for n in (1, *CALIBRATION_ITERATIONS):
        out = attack(
            kind,
            model=target.attacker_model,
            gradients=grads,
            input_shape=target.attack_shape,
            batch_size=len(y),
            iterations=n,
            tv=tv,
            rng=0,
        )
        timed.append(out.result.metrics["seconds"])
    few, many = CALIBRATION_ITERATIONS
    per = max((timed[2] - timed[1]) / (many - few), timed[2] / many / 4)  # a floor against timer noise
    return max(0.0, timed[1] - few * per), per


CALIBRATION_ITERATIONS = (2, 10)
FIXED_SECONDS = 2.0  # torch import aside: the model rebuilt, the fine-tunings' data split, the overhead pairs
SEARCH_SHARE = 0.7  # share of the catalogue's settings a search runs (each defense stops at its first success)


def _seconds(p: Plan, cost: dict[str, float]) -> float:
    """The run's seconds from measured attack costs (``{kind}_{1|batch}`` per iteration, ``..._fixed`` per run)."""
    run = {
        (k, b): min(p.max_seconds, cost[f"{k}_{b}_fixed"] + p.iterations[k] * cost[f"{k}_{b}"])
        for k in p.iterations
        for b in ("1", "batch")
    }
    attacks = sum(p.singles * run[(k, "1")] + run[(k, "batch")] for k in p.iterations)
    search = SEARCH_SHARE * protect.sweep_length() * p.search_samples * max(run[(k, "1")] for k in p.iterations)
    confirm = p.search_samples * min(run[(k, "1")] for k in p.iterations)
    finetune = 6 * p.rounds * protect.FINETUNE["n_clients"] * protect.FINETUNE["local_steps"] * cost["step"]
    return FIXED_SECONDS + attacks + search + confirm + finetune


def _memory_bytes(workload: Workload, batch: int) -> int:
    """Working memory of the run (a model-sized estimate: parameter copies, per-sample gradients, activations)."""
    params = workload.n_parameters()
    activations = sum(int(np.prod(layer.out_shape)) for layer in workload.program.layers)
    per_sample = protect.FINETUNE["batch_size"] * params  # DP-SGD's per-sample gradients
    values = 40 * params + per_sample + 12 * max(batch, protect.FINETUNE["batch_size"]) * activations
    return int(4 * values + 64 * 2**20)  # float32, plus autograd's and the optimiser's working buffers


def check_support(workload: Workload, *, budget_bytes: int | None = None) -> Support:
    """Can the attack run on this workload, and how long will :func:`assess` take? About a second.

    Returns
    -------
    Support
        ``problems`` when the model cannot be attacked (no torch form, no trainable parameters, one
        output score, no Linear head, under :data:`MIN_TRAIN` training samples); ``notes`` on what
        the attack assumes; ``estimate``: ``seconds`` and ``seconds_fast`` (from attack iterations
        timed on this model), ``memory_bytes``, ``parameters``, the measured attack costs (``cost_s_*``: per run and per iteration).
    """
    if not isinstance(workload, Workload):
        raise InvalidInput(f"support takes a labkit.workload.Workload, not {type(workload).__name__}.")
    budget = default_budget_bytes() if budget_bytes is None else validate.integer("budget_bytes", budget_bytes)
    problems, target = _problems(workload)
    if problems:
        return Support(KEY, tuple(problems))
    from ..fl.data import ClientData
    from ..fl.models import torch_threads
    from ..fl.simulation import client_update

    with torch_threads(1):
        cost = {}
        for kind in ("idlg", "ig"):
            for name, size in (("1", 1), ("batch", PLANS[False].batch)):
                cost[f"{kind}_{name}_fixed"], cost[f"{kind}_{name}"] = _attack_cost(workload, target, kind, size)
        client = ClientData(
            0, workload.X_train[: protect.FINETUNE["batch_size"]], workload.y_train[: protect.FINETUNE["batch_size"]]
        )
        start = time.perf_counter()
        client_update(target.model, client, local_steps=3)
        cost["step"] = (time.perf_counter() - start) / 3
    memory = _memory_bytes(workload, PLANS[False].batch)
    notes = [
        f"the model is attacked {training_stage(workload)}: converged models share smaller gradients",
        "the client shares the gradient of its mean cross-entropy on one batch (FedSGD, one local step); "
        "the server knows the model, the batch size and that gradient",
        "images are scored by PSNR and SSIM"
        if target.image
        else f"flat features are scored by the share within {TOLERANCE:g} training standard deviations of the truth",
        *target.notes,
    ]
    if any(type(m).__name__ == "ChannelAffine" for m in target.model.modules()):
        notes.append(
            "BatchNorm layers keep their running statistics in the client's update (a per-channel scale and "
            "shift, both trained); DP-SGD's per-sample gradients have no rule for that layer here"
        )
    estimate = {
        "seconds": _seconds(PLANS[False], cost),
        "seconds_fast": _seconds(PLANS[True], cost),
        "memory_bytes": memory,
        "parameters": workload.n_parameters(),
        **{f"cost_s_{k}": v for k, v in cost.items()},
    }
    late = over_budget(memory, budget, what="the gradient-inversion attack")
    return Support(KEY, (late,) if late else (), estimate, tuple(notes))


support = check_support  # the registry's door name (labkit.inversion.technique)


def _pick(workload: Workload, p: Plan, seed: int) -> tuple[list, tuple]:
    """The client's batches: ``p.singles`` samples alone and one batch of ``p.batch`` others (seeded)."""
    n = len(workload.X_train)
    order = np.random.default_rng(seed).permutation(n)
    singles = [(workload.X_train[i : i + 1], workload.y_train[i : i + 1]) for i in order[: p.singles]]
    rest = order[p.singles : p.singles + p.batch] if n >= p.singles + p.batch else order[: p.batch]
    return singles, (workload.X_train[rest], workload.y_train[rest])


def assess(
    workload: Workload,
    *,
    support: Support | None = None,
    progress: bool = False,
    fast: bool | None = None,
    rng: int | np.random.Generator | None = None,
    defenses: Sequence[str] | None = None,
) -> Result:
    """Attack the gradients a client would share of the workload's own samples; find and price the cheapest defense.

    Parameters
    ----------
    workload : Workload
    support : Support, optional
        This technique's answer from :func:`check_support` (asked here when omitted).
    progress : bool
        A progress bar over the attack runs.
    fast : bool, optional
        Fewer samples, a smaller batch, fewer iterations and fine-tuning rounds (default: ``LABKIT_FAST``).
    rng : int, numpy Generator or None
        Seeds the samples picked, the attacks, the defenses' noise and the fine-tuning (None: ``LABKIT_SEED``).
    defenses : list of str, optional
        Search only these defenses of :data:`labkit.inversion.defenses.DEFENSES` (default: all of them).

    Returns
    -------
    Result
        ``inversion/assess``. Metrics (batch 1 is the median over the samples attacked alone, the
        stronger attack by PSNR): ``psnr_batch1``, ``psnr_batch`` (the realistic batch), per attack
        ``psnr_batch1_idlg`` ..., ``label_recovery`` (batch 1) and ``label_recovery_batch``; images
        ``ssim_batch1``, ``ssim_batch``; flat features ``feature_recovery``, ``mean_relative_error``
        (and ``_batch``); with the chosen defense, the attacker's best of the two attacks:
        ``psnr_defended`` (per attack ``psnr_defended_idlg``, ``psnr_defended_ig``),
        ``label_recovery_defended`` (and ``ssim_``/``feature_recovery_defended``), ``defense_stops``
        (1 when both are below the safe band); ``accuracy_given`` (the model as
        given), ``accuracy_plain`` and ``accuracy_private`` (after the same federated fine-tuning without
        and with the defense), ``accuracy_cost``; ``overhead`` (defended client update against the plain
        one, interleaved, median with ``overhead_low``/``overhead_high``). ``artifacts``: ``provenance``,
        ``findings``, ``reproduce``, ``defense``, every defense setting tried, ``notes``.
    """
    from tqdm.auto import tqdm

    from .. import bench
    from ..fl.data import ClientData
    from ..fl.models import torch_threads
    from ..fl.simulation import client_update
    from .defenses import DEFENSES, make_defense
    from .exposure import client_gradients, invert, median_scores, prepare

    if not isinstance(workload, Workload):
        raise InvalidInput(f"assess takes a labkit.workload.Workload, not {type(workload).__name__}.")
    fast = config.fast() if fast is None else bool(fast)
    p = plan(fast)
    seed = config.seed_from(rng)
    protect.catalogue(defenses)  # an unknown name is refused before any work
    found = support if support is not None else check_support(workload)
    if not found.supported:
        from ..assessment import unsupported_result

        return unsupported_result(workload, found)
    target = prepare(workload)
    singles, batch = _pick(workload, p, seed)
    bar = tqdm(
        total=p.attack_runs + protect.sweep_length(defenses) * p.search_samples,
        desc=f"inversion: {workload.name}",
        unit="attack",
        disable=not progress,
    )
    start = time.perf_counter()
    scores: dict[str, dict[str, float]] = {}
    try:
        with torch_threads(1):
            for kind in ("idlg", "ig"):
                rows = []
                for i, (X, y) in enumerate(singles):
                    g = client_gradients(target, X, y, seed=seed + i)
                    rows.append(
                        invert(
                            target,
                            kind,
                            X,
                            y,
                            gradients=g,
                            iterations=p.iterations[kind],
                            seed=seed + i,
                            max_seconds=p.max_seconds,
                        )
                    )
                    bar.update(1)
                scores[f"{kind}_1"] = median_scores(rows)
                X, y = batch
                g = client_gradients(target, X, y, seed=seed)
                scores[f"{kind}_batch"] = invert(
                    target, kind, X, y, gradients=g, iterations=p.iterations[kind], seed=seed, max_seconds=p.max_seconds
                )
                bar.update(1)
            strong = max(("idlg", "ig"), key=lambda k: scores[f"{k}_1"]["psnr"])
            attack_s = time.perf_counter() - start
            trials, skipped = protect.search(
                target,
                singles[: p.search_samples],
                attack_kind=strong,
                iterations=p.iterations[strong],
                seed=seed,
                max_seconds=p.max_seconds,
                tick=bar.update,
                defenses=defenses,
            )
            search_s = time.perf_counter() - start - attack_s
            found_trials = protect.candidates(trials)
            priced = found_trials or ([min(trials, key=lambda t: t.scores["psnr"])] if trials else [])
            plain_acc, accs = protect.price(target, workload, priced, rounds=p.rounds, seed=seed)
            other = "ig" if strong == "idlg" else "idlg"
            update_s = {
                protect.key(t): protect.update_seconds(
                    target, batch, make_defense(t.defense, t.value), seed=seed, repeat=p.repeat
                )
                for t in priced
            }
            ranked = protect.rank(priced, accs, update_s, n_test=len(workload.y_test))
            chosen = protect.cheapest(
                ranked,
                target=target,
                samples=singles[: p.search_samples],
                other_kind=other,
                iterations=p.iterations[other],
                seed=seed,
                max_seconds=p.max_seconds,
                tick=bar.update,
            )
            defense = make_defense(chosen.defense, chosen.value) if chosen is not None else None
            client = ClientData(0, *batch)
            ov = None
            if defense is not None:
                ov = bench.overhead(
                    lambda: client_update(target.model, client, defense=defense, rng=seed),
                    lambda: client_update(target.model, client, rng=seed),
                    repeat=p.repeat,
                    warmup=2,
                    names=(f"client update with {protect.key(chosen)}", "plain client update"),
                )
    finally:
        bar.close()
    total_s = time.perf_counter() - start
    metrics = assess_metrics(target, scores, strong, chosen, accs, plain_acc, workload, p.batch)
    result = Result(
        technique=KEY,
        name="assess",
        params={
            "training_stage": training_stage(workload),
            "attacks": ["idlg", "ig"],
            "iterations": dict(p.iterations),
            "batch_size": p.batch,
            "samples_batch1": p.singles,
            "search_attack": strong,
            "search_samples": p.search_samples,
            "safe_band_db": THRESHOLD_DB,
            "tolerance_sd": TOLERANCE,
            "finetune": {**protect.FINETUNE, "rounds": p.rounds, "accuracy": f"mean of the last {protect.LAST_ROUNDS}"},
            "max_seconds_per_attack": p.max_seconds,
            "seed": seed,
            "fast": fast,
            "defenses": [name for name, _ in protect.catalogue(defenses)],
        },
        metrics=metrics,
        timings={
            "attacks": bench.Timing("attacks", (attack_s,)),
            "defense_search": bench.Timing("defense_search", (search_s,)),
            "total": bench.Timing("total", (total_s,)),
        },
        artifacts={
            "defense": None
            if chosen is None
            else {
                "name": chosen.defense,
                "knob": DEFENSES[chosen.defense][1],
                "value": chosen.value,
                "stops": chosen.stops,
                "accuracy_private": accs[protect.key(chosen)],
            },
            "candidates": {k: v for k, v in accs.items()},
            "candidate_update_s": update_s,
            "ranking": [protect.key(t) for t in ranked],
            "accuracy_tie_band": protect.tie_band(max(accs.values()), len(workload.y_test)) if accs else None,
            "trials": [t.as_dict() for t in trials],
            "skipped_defenses": skipped,
            "attacks": {k: v for k, v in scores.items()},
            "notes": list(found.notes),
            "reproduce": f"labkit.assess(workload, techniques=['{KEY}']{', fast=True' if fast else ''})",
        },
    )
    if ov is not None:
        result.add_overhead("overhead", ov)
    result.artifacts["provenance"] = {k: "measured" for k in result.metrics}
    result.artifacts["findings"] = findings(result)
    return result
