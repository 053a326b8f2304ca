"""The mpc ``support`` and ``assess`` doors: a user's model run by CrypTen parties on their test data.

:func:`support` answers in well under a second, before any party starts:
the graph read as a feed-forward program (:func:`labkit.mpc.models.plain_model`),
each node MPC cannot run named with a rewrite (recurrent layers, data-dependent
control flow, TopK...: see :mod:`labkit.workload.support`), the rewrites
applied here (batch normalisation folded, CrypTen's approximations, GELU in
its tanh form), and an estimate (:mod:`labkit.mpc.cost`): rounds and bytes
per party of one pass, memory of all party processes, seconds. A run over
the memory budget is refused with the estimate in the message.

:func:`assess` runs the model as :func:`labkit.mpc.inference.private_inference`
does (party 0 shares the weights, party 1 the samples, only party 1 learns
the output; parties are OS processes, triples from a dealer process), over
the test samples in batches with a progress bar, and reports accuracy (the
original model and the private run), agreement with the plaintext run of the
same layers and with the original model, rounds, bytes per party, the
overhead against plaintext in the same processes, and modelled LAN/WAN
latency. Ctrl-C ends every party process before the KeyboardInterrupt
reaches the caller (the launcher reaps them in a ``finally``).

References
----------
Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine
Learning", NeurIPS 2021 (arXiv:2109.00984).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .. import config, validate
from ..errors import InvalidInput
from ..results import Result
from ..workload import Problem, Support, Workload, default_budget_bytes
from ..workload.support import over_budget, rewrite_for
from . import cost, network
from .launcher import check_parties
from .models import PlainModel, layer_dict, plain_model

KEY = "mpc"
SAMPLES = (450, 100)  # test samples run privately: full mode, fast mode
BATCH = 150  # samples per party run (each run a progress step)
STARTUP_SECONDS = 3.0  # first fork server and party start-up
NOTES = {
    "approx": "sigmoid, tanh and softmax are CrypTen's approximations (exp by repeated squaring, reciprocal by "
    "Newton iterations)",
    "gelu": "GELU runs in its tanh form (CrypTen has no erf): agreement is with the same form in plaintext, "
    "agreement_original with the exact model",
    "maxpool": "a padded MaxPool pads with -1024 (fixed point): activations below that would differ",
    "fixed": "fixed-point arithmetic with 16 fractional bits; ReLU and max exact by secure comparison",
}


def _problems(workload: Workload) -> list[Problem]:
    if workload.program is None:
        return list(workload.problems)
    out = []
    for layer in workload.program.folded().layers:
        why = layer_dict(layer)
        if isinstance(why, str):
            out.append(Problem(layer.name, layer.op, f"CrypTen cannot run it here: {why}", rewrite_for(layer.op)))
    return out


def _notes(model: PlainModel, reveal: str) -> tuple[str, ...]:
    kinds = {layer["kind"] for layer in model.layers}
    notes = [*model.info.get("notes", ()), NOTES["fixed"]]
    final = model.info.get("final")
    if final:
        how = "computed under MPC" if reveal == "probabilities" else "not computed (argmax is unchanged)"
        notes.append(f"the final {final} is the output step, {how}")
    if kinds & {"sigmoid", "tanh", "softmax"} or (final and reveal == "probabilities"):
        notes.append(NOTES["approx"])
    if "gelu" in kinds:
        notes.append(NOTES["gelu"])
    if any(layer["kind"] == "maxpool" and any(layer["padding"]) for layer in model.layers):
        notes.append(NOTES["maxpool"])
    return tuple(notes)


def out_shapes(model: PlainModel) -> list[tuple[int, ...]]:
    """Each layer's output shape (one sample): the next layer's input, the outputs at the end."""
    return [tuple(layer["in_shape"]) for layer in model.layers[1:]] + [(model.n_outputs,)]


def _reveal(model: PlainModel, reveal: str | None) -> str:
    if reveal is None:  # the model's own output: its final softmax/sigmoid run as CrypTen approximates it
        return "probabilities" if model.info.get("final") else "logits"
    return validate.choice("reveal", reveal, ("logits", "probabilities", "label"))


def check_support(
    workload: Workload,
    *,
    budget_bytes: int | None = None,
    parties: int = 2,
    samples: int | None = None,
    reveal: str | None = None,
) -> Support:
    """Can CrypTen parties run this workload's model, and at what cost? No party starts.

    Parameters
    ----------
    workload : Workload
    budget_bytes : int, optional
        Memory the run may use (default: :func:`labkit.workload.default_budget_bytes`).
    parties : {2, 3}
    samples : int, optional
        Test samples :func:`assess` will run (default 450, 100 in fast mode, at most the test split).
    reveal : {"logits", "probabilities", "label"}, optional
        What the data owner learns (default: probabilities when the model ends in softmax/sigmoid).

    Returns
    -------
    Support
        ``estimate``: ``rounds`` and ``bytes_per_party`` of one pass of a batch, ``bytes_total_per_party``
        for all samples, ``memory_bytes`` (every party process), ``seconds`` (the whole assessment, roughly).
    """
    if not isinstance(workload, Workload):
        raise InvalidInput(f"support takes a labkit.workload.Workload, not {type(workload).__name__}.")
    budget = default_budget_bytes() if budget_bytes is None else validate.integer("budget_bytes", budget_bytes)
    parties = check_parties(parties)
    problems = _problems(workload)
    if problems:
        return Support(KEY, tuple(problems))
    model = plain_model(workload)
    reveal = _reveal(model, reveal)
    n = _samples(workload, samples, None)
    batch = min(BATCH, n)
    final = model.output if reveal == "probabilities" else None
    one = cost.forward_cost(model.architecture(), out_shapes(model), parties=parties, batch=batch, final=final)
    memory = cost.memory_bytes(one, model.n_parameters, parties=parties)
    runs = -(-n // batch)
    repeat = config.pick(3, 2)  # overhead passes, each a private and a plaintext pass
    est = {
        "rounds": one["rounds"],
        "bytes_per_party": one["bytes_per_party"],
        "bytes_total_per_party": one["bytes_per_party"] * runs,
        "memory_bytes": memory,
        "seconds": STARTUP_SECONDS + 0.3 * runs + cost.seconds(one) * (runs + 2 * repeat),
        "samples": n,
        "batch": batch,
        "parties": parties,
    }
    late = over_budget(memory, budget, what=f"{parties} CrypTen parties on batches of {batch}")
    return Support(KEY, (late,) if late else (), est, _notes(model, reveal))


support = check_support  # the registry's door name (labkit.mpc.technique)


def _samples(workload: Workload, samples: int | None, fast: bool | None) -> int:
    fast = config.fast() if fast is None else bool(fast)
    n = (SAMPLES[1] if fast else SAMPLES[0]) if samples is None else validate.integer("samples", samples, low=1)
    return min(n, len(workload.X_test))


def _unsupported(workload: Workload, found: Support) -> Result:
    return Result(
        KEY,
        "assess",
        params=workload.tag(),
        metrics={"supported": 0},
        artifacts={"unsupported": [p.as_dict() for p in found.problems], "support": found.as_dict()},
    )


def assess(
    workload: Workload,
    *,
    support: Support | None = None,
    progress: bool = False,
    fast: bool | None = None,
    parties: int = 2,
    samples: int | None = None,
    reveal: str | None = None,
    links: tuple[network.Link, ...] = network.LINKS,
) -> Result:
    """Run the workload's model with CrypTen parties on its test samples; compare with plaintext.

    Parameters
    ----------
    workload : Workload
    support : Support, optional
        This technique's answer from :func:`support` (computed when omitted).
    progress : bool
        A progress bar over the batches.
    fast : bool, optional
        Fewer samples and overhead repeats (default: ``LABKIT_FAST``).
    parties : {2, 3}
        2: model owner and data owner; 3: plus a helper with no input.
    samples : int, optional
        Test samples to run (default 450, 100 in fast mode; at most the test split).
    reveal : {"logits", "probabilities", "label"}, optional
        What the data owner learns (default: the model's own output).
    links : tuple of Link
        Networks for the modelled latency.

    Returns
    -------
    Result
        ``technique="mpc"``, ``name="assess"``. Metrics: ``supported``, ``accuracy_plain`` (the original
        model on the same samples), ``accuracy_private``, ``agreement`` (private labels against the
        plaintext run of the same layers), ``agreement_original`` (against the original model: differs only
        where a layer was approximated, see the notes), ``overhead`` (private against plaintext, same
        processes, first batch), ``rounds`` (one pass), ``bytes_per_party`` (all samples, the busiest
        party), ``latency_lan_s``/``latency_wan_s`` (one batch, modelled) and the estimates beside them.
    """
    from .inference import private_inference

    fast = config.fast() if fast is None else bool(fast)
    parties = check_parties(parties)
    n = _samples(workload, samples, fast)
    found = check_support(workload, parties=parties, samples=n, reveal=reveal) if support is None else support
    if not found.supported:
        return _unsupported(workload, found)
    model = plain_model(workload)
    reveal = _reveal(model, reveal)
    X, y = workload.X_test[:n], workload.y_test[:n]
    batches = [slice(i, min(i + BATCH, n)) for i in range(0, n, BATCH)]
    repeat = 2 if fast else 3
    bar = _bar(progress, len(batches), workload.name, parties)
    preds, runs, start = [], [], time.perf_counter()
    try:
        for i, part in enumerate(batches):
            out = private_inference(
                model, X[part], parties=parties, reveal=reveal, repeat=repeat if i == 0 else 0, links=links
            )
            preds.append(out.value)
            runs.append(out.result)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return _result(workload, model, found, np.concatenate(preds), runs, X, y, reveal=reveal, fast=fast, start=start)


def _bar(progress: bool, total: int, name: str, parties: int) -> Any:
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"mpc {name} ({parties} parties)", unit="batch")


def _result(workload, model, found, preds, runs, X, y, *, reveal, fast, start) -> Result:
    first = runs[0]
    plain = model.predict(X)
    original = workload.predict(X)
    est = found.estimate
    params = {
        **workload.tag(),
        "parties": first.metrics["parties"],
        "samples": len(X),
        "batch": int(first.metrics["n"]),
        "reveal": reveal,
        "provider": "TTP",
        "fast": fast,
    }
    metrics = {
        "supported": 1,
        "samples": len(X),
        "accuracy_plain": float(np.mean(original == y)),
        "accuracy_circuit_plain": float(np.mean(plain == y)),
        "accuracy_private": float(np.mean(preds == y)),
        "agreement": float(np.mean(preds == plain)),
        "agreement_original": float(np.mean(preds == original)),
        "max_abs_error": max(r.metrics["max_abs_error"] for r in runs),
        "rounds": first.metrics["rounds"],
        "bytes_per_party": sum(r.metrics["bytes_max_party"] for r in runs),
        "bytes_per_sample": sum(r.metrics["bytes_max_party"] for r in runs) / len(X),
        "online_seconds": sum(r.metrics["online_seconds"] for r in runs),
        "private_seconds": time.perf_counter() - start,
        "estimate_rounds": est.get("rounds", float("nan")),
        "estimate_bytes_per_party": est.get("bytes_total_per_party", float("nan")),
        "estimate_memory_bytes": est.get("memory_bytes", float("nan")),
    }
    for key, value in first.metrics.items():
        if key.startswith(("latency_", "overhead", "dealer_", "compute_")) or key in ("startup_seconds",):
            metrics[key] = value
    result = Result(KEY, "assess", params=params, metrics=metrics, timings=dict(first.timings))
    result.artifacts.update(
        {
            key: first.artifacts[key]
            for key in ("security_model", "architecture", "modelled", "link_lan", "link_wan")
            if key in first.artifacts
        }
    )
    result.artifacts["notes"] = list(found.notes)
    result.artifacts["support"] = found.as_dict()
    result.artifacts["latency_batch"] = int(first.metrics["n"])
    m = result.metrics
    modelled = [k for k in m if k.startswith("estimate_") or "_lan" in k or "_wan" in k]
    result.artifacts["provenance"] = {k: "measured" for k in m} | {k: "modelled" for k in modelled}
    result.artifacts["findings"] = [
        f"{params['parties']} parties computed on secret shares: no party saw the input or the weights "
        f"(a trusted dealer made the multiplication triples); "
        f"{m['agreement']:.1%} of private predictions equal the same layers in plaintext",
        f"{m['rounds']:.0f} communication rounds per batch and {m['bytes_per_sample'] / 1e6:.3g} MB per sample "
        f"for the busiest party (measured on loopback)",
    ]
    result.artifacts["reproduce"] = "labkit.assess(workload, techniques=['mpc'])"
    return result


__all__ = ["assess", "check_support", "out_shapes", "support"]
