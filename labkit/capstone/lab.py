"""Score stacks of layers: accuracy, what the curious server recovers, whether poison gets in, and the cost.

For each stack, :func:`evaluate` times the defended round against the plain
round, interleaved in the same run (:func:`labkit.bench.overhead`), then
runs gradient inversion on what the server saw in the defended round and
returns a :class:`labkit.results.Result` (technique ``capstone``, name
``layered_round``). :func:`compare` does it for several stacks, reusing
Results already in the ResultStore.

References
----------
Geiping et al., "Inverting Gradients", NeurIPS 2020 (the attack and its threat model).
Sun, Kairouz, Suresh & McMahan, "Can you really backdoor federated learning?", arXiv:1911.07963 (2019).
Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving Machine Learning", CCS 2017.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from .. import bench, config, validate
from ..errors import InvalidInput
from ..results import NOT_FOR_PRODUCTION, Result, ResultStore
from .layers import DESCRIPTIONS, STACKS, check_stack, stack_name
from .round import Round, Setup, aggregator, key_holder, norm_prover, run_round, setup

ATTACK = "ig"
VERSION = 3  # bump when the round protocol changes, so stored Results of an older protocol are not reused


def default_repeat(layers: Iterable[str], *, fast: bool) -> int:
    """Timed pairs per stack: 3; in fast mode 1 for stacks with ``zk`` (every repeat proves again).

    >>> default_repeat(["dp"], fast=True), default_repeat(["zk"], fast=True), default_repeat(["zk"], fast=False)
    (3, 1, 3)
    """
    return 1 if fast and "zk" in check_stack(layers) else 3


def _prepare(s: Setup, layers: tuple[str, ...]) -> None:
    """One-off costs kept out of the timed rounds: imports, CKKS keys, the ezkl setup, certificates."""
    from ..fl.simulation import client_update
    from ..inversion.defenses import DPSGD

    if "dp" in layers:
        client_update(s.model, s.clients[1], defense=DPSGD(s.noise_multiplier, s.max_grad_norm), rng=0)
    if "secagg" in layers:
        aggregator()
    if "tee" in layers:
        key_holder()
    if "zk" in layers:
        norm_prover(s.dim)
    if "tls" in layers:
        from ..pqc import certs

        certs.issue("ecdsa-p256")
        certs.issue("ecdsa-p256", hostname="client.petlab.test", client=True)


def _attack(s: Setup, outcome: Round, *, iterations: int | None, seed: int) -> tuple[dict[str, float], str, dict]:
    from ..inversion import attack

    target = s.clients[s.target]
    if "sum" in outcome.view:
        observed, batch = outcome.view["sum"], outcome.view["n_clients"] * s.batch_size
        sees = f"only the sum of {outcome.view['n_clients']} accepted updates (CKKS secure aggregation" + (
            ", decrypted by the attested key-holder enclave)" if "tee" in outcome.layers else ")"
        )
    else:
        observed, batch = outcome.view["updates"][s.target], s.batch_size
        sees = "each accepted client's own update" + (" (DP-noised)" if "dp" in outcome.layers else "")
    out = attack(
        ATTACK,
        model=s.model,
        gradients=observed,
        input_shape=s.data.image_shape,
        batch_size=batch,
        iterations=iterations,
        true_images=target.X,
        true_labels=target.y,
        rng=seed,
    )
    m = out.result.metrics
    from ..inversion.metrics import match

    rec = np.asarray(out.value)
    best = match(target.X, rec)[0][1] if len(rec) > 1 else 0  # the reconstruction closest to the target's image
    images = {
        "target_image": np.asarray(target.X)[0, 0].round(4).tolist(),
        "reconstruction": rec[best, 0].round(4).tolist(),
    }
    scores = {
        "psnr": float(m["psnr"]),
        "ssim": float(m["ssim"]),
        "label_accuracy": float(m["label_accuracy"]),
        "attack_seconds": float(m.get("seconds", float("nan"))),
    }
    return scores, sees, images


def evaluate(
    layers: Iterable[str] | str = (),
    *,
    setup_kwargs: dict[str, Any] | None = None,
    iterations: int | None = None,
    repeat: int | None = None,
) -> Result:
    """Run one stack of layers for real and score it against the plain round.

    Parameters
    ----------
    layers : list of str
        Layers switched on, from :data:`labkit.capstone.LAYERS` (empty: the plain round).
    setup_kwargs : dict, optional
        Passed to :func:`labkit.capstone.setup` (clients, model width, DP noise, boost...).
    iterations : int, optional
        Gradient-inversion iterations (the attack's default, smaller in fast mode).
    repeat : int, optional
        Interleaved timings of the defended and the plain round (default: :func:`default_repeat`).

    Returns
    -------
    Result
        metrics: ``accuracy``, ``accuracy_before``, ``psnr``, ``ssim``, ``label_accuracy``,
        ``poison_admitted``, ``poison_caught``, ``honest_rejected``, ``overhead`` (time of the
        defended round over the plain round), plus per-layer costs; artifacts: what the server saw.
    """
    stack = check_stack(layers)
    fast = config.fast()
    repeat = default_repeat(stack, fast=fast) if repeat is None else validate.integer("repeat", repeat)
    if iterations is not None:
        iterations = validate.integer("iterations", iterations)
    s = setup(**(setup_kwargs or {}))
    _prepare(s, stack)
    outcomes = []

    def defended():
        outcomes.append(run_round(s, stack))

    ov = bench.overhead(defended, lambda: run_round(s, ()), repeat=repeat, warmup=0, names=(stack_name(stack), "plain"))
    played = outcomes[-1]
    rm, accepted = played.result.metrics, played.result.artifacts["accepted"]
    scores, sees, images = _attack(s, played.value, iterations=iterations, seed=s.seed)
    honest_rejected = sum(1 for k, ok in enumerate(accepted) if not ok and k != s.byzantine)
    metrics = {
        "accuracy": rm["accuracy"],
        "accuracy_before": s.accuracy_before,
        **scores,
        "poison_admitted": rm["poison_admitted"],
        "poison_caught": not rm["poison_admitted"],
        "honest_rejected": honest_rejected,
        "clients_accepted": int(rm["clients_accepted"]),
        "bound": rm["bound"],
        "n_layers": len(stack),
    }
    for key in (
        "prove_seconds",
        "verify_seconds",
        "proof_bytes",
        "tls_bytes",
        "tls_seconds",
        "aggregation_bytes",
        "aggregation_seconds",
        "client_seconds",
        "tee_seconds",
        "encrypt_seconds",
    ):
        if key in rm:
            metrics[key] = float(rm[key])
    if "dp" in stack and s.noise_multiplier > 0:
        from ..inversion.defenses import DPSGD

        # one step on the client's whole batch (sampling rate 1): the RDP accountant's epsilon at delta 1e-5
        metrics["epsilon"] = DPSGD(s.noise_multiplier, s.max_grad_norm).epsilon(steps=1, sample_rate=1.0)
    notes = []
    if "zk" in stack:
        notes.append(
            f"ezkl norm proofs made for all {s.n_clients} clients, with a locally generated SRS "
            "(development only); the proof is not bound to the uploaded update (no commitment)"
        )
    if "secagg" in stack and "tee" not in stack:
        notes.append("CKKS secure aggregation simulated with one key holder (labkit.fl.CKKSSum)")
    if "tee" in stack:
        notes.append(
            "the CKKS key holder is a simulated enclave (a separate process attested on simulated "
            "hardware; labkit.tee), not SGX/TDX/SEV"
        )
    if "tls" in stack:
        what = "CKKS ciphertexts" if "secagg" in stack else "plaintext update"
        notes.append(
            f"{s.n_clients} mutual-TLS uploads on 127.0.0.1 with {played.result.artifacts['tls_group']}; "
            f"each client's {what} and proof travel in the TLS record layer"
        )
    result = Result(
        technique="capstone",
        name="layered_round",
        params=evaluate_params(stack, setup_kwargs=setup_kwargs, iterations=iterations, repeat=repeat, fast=fast),
        metrics=metrics,
        artifacts={
            "stack": stack_name(stack),
            "server_sees": sees,
            "accepted": accepted,
            "layers": {k: DESCRIPTIONS[k] for k in stack},
            "notes": notes,
            "tls_group": played.result.artifacts["tls_group"],
            **images,
        },
    )
    result.add_overhead("overhead", ov)
    if "zk" in stack or "secagg" in stack:
        result.flag(NOT_FOR_PRODUCTION)
    return result


def compare(
    stacks: Iterable[Iterable[str]] | None = None,
    *,
    store: ResultStore | None = None,
    resume: bool = True,
    progress: bool = False,
    **kwargs: Any,
) -> list[Result]:
    """:func:`evaluate` every stack (default :data:`labkit.capstone.STACKS`), storing each Result.

    With ``resume`` a stack whose Result (same parameters) is already in ``store`` is not run again.
    """
    from tqdm.auto import tqdm

    fast = config.fast()
    stacks = [check_stack(st) for st in (STACKS if stacks is None else stacks)]
    if not stacks:
        raise InvalidInput("give at least one stack of layers (an empty list () is the plain round).")
    out = []
    for stack in tqdm(stacks, desc="stacks", disable=not progress):
        found = None
        if store is not None and resume:
            repeat = kwargs.get("repeat")
            probe = evaluate_params(
                stack,
                setup_kwargs=kwargs.get("setup_kwargs"),
                iterations=kwargs.get("iterations"),
                repeat=default_repeat(stack, fast=fast) if repeat is None else repeat,
                fast=fast,
            )
            found = store.latest("capstone", "layered_round", probe)
        if found is None:
            found = evaluate(stack, **kwargs)
            if store is not None:
                store.add(found)
        out.append(found)
    return out


def evaluate_params(
    layers: Iterable[str],
    *,
    setup_kwargs: dict[str, Any] | None = None,
    iterations: int | None = None,
    repeat: int,
    fast: bool,
) -> dict[str, Any]:
    """The params :func:`evaluate` records for a stack (to look it up in the ResultStore).

    ``repeat`` as resolved by :func:`evaluate` (see :func:`default_repeat`); ``fast``: whether fast mode is on.
    """
    stack = check_stack(layers)
    s = setup(**(setup_kwargs or {}))
    return {
        "layers": list(stack),
        **s.params(),
        "attack": ATTACK,
        "version": VERSION,
        "iterations": iterations,
        "repeat": int(repeat),
        "fast": fast,
    }


def table(results: Iterable[Result]) -> list[dict[str, Any]]:
    """One row per stack: the numbers the notebook and the widget show."""
    rows = []
    for r in results:
        m = r.metrics
        rows.append(
            {
                "stack": r.artifacts.get("stack", stack_name(r.params["layers"])),
                "accuracy": m["accuracy"],
                "psnr": m["psnr"],
                "ssim": m["ssim"],
                "poison_caught": bool(m["poison_caught"]),
                "overhead": m["overhead"],
                "epsilon": m.get("epsilon", float("inf")) if "dp" in r.params["layers"] else None,
            }
        )
    return rows


def pick(results: Iterable[Result], layers: Iterable[str]) -> Result | None:
    """The Result of one stack among ``results`` (None if absent)."""
    want = list(check_stack(layers))
    return next((r for r in results if list(r.params["layers"]) == want), None)
