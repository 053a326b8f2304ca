"""What a proof of inference costs: timings, sizes and memory against plaintext inference.

:func:`measure_costs` proves one digits MLP and returns a
:class:`~labkit.results.Result` with setup, witness, prove and verify times,
the proof and key sizes, the prover's peak memory, and the prover/plaintext
ratio measured interleaved in the same run (``labkit.bench.overhead``).
:func:`sweep` repeats it over model widths and circuit sizes, resuming from
the ResultStore. :func:`claims_check` sets the measured ratio and the verify
time beside the claims declared in :data:`labkit.zk.technique.TECHNIQUE`,
judged by :func:`labkit.report.verdict`.

References
----------
ZKML-Benchmark (ezkl, MLP 784-56-10: prove 2.66 s in "resources" mode).
Chen & Revels, "Robust benchmarking in noisy environments", arXiv:1608.04295.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from .. import bench, config, report, validate
from ..results import NOT_FOR_PRODUCTION, Result, ResultStore
from . import backend
from .circuit import DECOMPOSITION
from .model import ZKModel
from .models import digits_mlp
from .technique import TECHNIQUE, VERIFY

DEFAULT_VISIBILITY = {"input": "private", "params": "public", "output": "public"}


def _params(width: int, logrows: int | None, scale: int, visibility: dict[str, str]) -> dict[str, Any]:
    return {
        "model": f"digits-mlp-64-{width}-10",
        "width": width,
        "logrows": logrows,
        "scale": scale,
        "visibility": dict(visibility),
        "decomposition": list(DECOMPOSITION),
        "ezkl": backend.version(),
    }


def measure_costs(
    *,
    width: int = 32,
    logrows: int | None = None,
    scale: int = 8,
    visibility: dict[str, str] | None = None,
    repeat: int | None = None,
    srs_path: str | os.PathLike | None = None,
) -> Result:
    """Prove the digits MLP (64-``width``-10) on one test digit and measure everything.

    Parameters
    ----------
    width : int
        Hidden units.
    logrows : int, optional
        Circuit size; the smallest that fits when omitted.
    scale : int
        Fixed-point scale.
    visibility : dict, optional
        Default: private input, public (fixed) parameters, public output.
    repeat : int, optional
        Proofs timed (interleaved with plaintext inference); default 3, 1 in fast mode.
    srs_path : path-like, optional
        A trusted reference string; without it the Result is flagged not for production.

    Returns
    -------
    Result
        ``metrics`` holds ``overhead`` (prove / plaintext, interleaved in one run),
        ``overhead_warm`` (prove / steady-state plaintext inference), ``prove_s``,
        ``verify_ms``, ``witness_s``, ``setup_s``, sizes in bytes, ``logrows``,
        ``num_rows``, ``prove_peak_rss_bytes`` and ``output_max_abs_error``.
    """
    import torch

    visibility = dict(visibility or DEFAULT_VISIBILITY)
    repeat = validate.integer("repeat", config.pick(3, 1) if repeat is None else repeat)
    warm_repeat, verify_repeat = config.pick(2000, 200), config.pick(10, 3)
    model, data = digits_mlp(width=width)
    x = data.X_test[:1]
    with bench.stopwatch("build") as build:
        zk = ZKModel(model, x, visibility=visibility, scale=scale, logrows=logrows, srs_path=srs_path)
    proofs = []
    x_tensor = torch.as_tensor(x, dtype=torch.float32)

    def plaintext():  # the baseline: the same model, same input, plain torch inference
        with torch.no_grad():
            return model(x_tensor)

    plaintext()
    ov = bench.overhead(
        lambda: proofs.append(zk.prove(x)), plaintext, repeat=repeat, warmup=0, names=("prove", "plaintext")
    )
    proof = proofs[-1]
    # Interleaved, each plaintext call follows a proof that has flushed the CPU caches; a serving loop
    # runs warm. Report the warm, steady-state inference time too (many calls, same process).
    warm = bench.measure(plaintext, name="plaintext (warm)", repeat=warm_repeat, warmup=50)
    verify = bench.measure(lambda: zk.verify(proof), name="verify", repeat=verify_repeat)
    if not zk.verify(proof):
        raise RuntimeError("an honest proof did not verify; the circuit or keys are broken")
    witness_s = float(np.median([p.witness_seconds for p in proofs]))
    claimed = zk.claimed_output(proof)
    plain = zk.plaintext(x)
    built = zk.circuit.build_timings
    sizes = zk.sizes()
    result = Result(
        technique="zk",
        name="costs",
        params=_params(width, logrows, scale, visibility),
        metrics={
            "prove_s": ov.candidate.median,
            "plaintext_s": ov.baseline.median,
            "verify_ms": verify.median * 1e3,
            "plaintext_warm_s": warm.median,
            "overhead_warm": ov.candidate.median / warm.median,
            "witness_s": witness_s,
            "setup_s": built.get("setup", 0.0),
            "srs_s": built.get("srs", 0.0),
            "build_s": build.timing.median,
            "cached": not zk.circuit.built,
            "proof_bytes": proof.size,
            "pk_bytes": sizes["pk"],
            "vk_bytes": sizes["vk"],
            "srs_bytes": sizes["srs"],
            "compiled_bytes": sizes["compiled"],
            "logrows": zk.logrows,
            "num_rows": zk.circuit.num_rows,
            "prove_peak_rss_bytes": ov.candidate.peak_rss or 0,
            "output_max_abs_error": float(np.max(np.abs(claimed - plain))) if claimed is not None else 0.0,
            "same_prediction": bool(claimed is None or int(np.argmax(claimed)) == int(np.argmax(plain))),
            "parameters": int(sum(p.numel() for p in model.parameters())),
        },
        timings={"verify": verify, "build": build.timing, "plaintext_warm": warm},
        artifacts={
            "development_setup": zk.development_setup,
            "circuit": zk.circuit.key[:16],
            "cores": bench.cpu_count(),
        },
    )
    result.add_overhead("overhead", ov)
    if zk.development_setup:
        result.flag(NOT_FOR_PRODUCTION)
    return result


def sweep(
    *,
    widths: list[int] | None = None,
    logrows: list[int | None] | None = None,
    scale: int = 8,
    visibility: dict[str, str] | None = None,
    store: ResultStore | None = None,
    progress: bool = True,
) -> list[Result]:
    """:func:`measure_costs` over widths x circuit sizes, skipping points already in ``store``."""
    widths = widths or config.pick([8, 16, 32, 64], [8, 16])
    logrows = logrows or [None]
    visibility = dict(visibility or DEFAULT_VISIBILITY)
    store = store if store is not None else ResultStore()
    points = [(w, k) for w in widths for k in logrows]
    from tqdm.auto import tqdm

    out = []
    for w, k in tqdm(points, desc="zk cost sweep", disable=not progress):
        found = store.latest("zk", "costs", _params(w, k, scale, visibility))
        if found is None:
            found = measure_costs(width=w, logrows=k, scale=scale, visibility=visibility)
            store.add(found)
        out.append(found)
    return out


def claims_check(result: Result) -> Result:
    """The measured prover/plaintext ratio and verify time of a ``costs`` Result beside the claims, with verdicts.

    The claims are the technique's (``TECHNIQUE.claim`` and ``further_claims["zk.verify"]``),
    judged by :func:`labkit.report.verdict` on the ratio's interquartile range.

    Returns
    -------
    Result
        ``zk/claims_check``: ``metrics`` holds ``measured_ratio`` (interleaved),
        ``measured_ratio_warm_plaintext``, ``orders_of_magnitude_above_claim`` (0 when
        within), ``verify_ms`` and the claimed bounds; ``artifacts`` the claims' texts,
        ``prover_verdict``, ``verify_verdict`` and the id of the ``costs`` Result.
    """
    claim = TECHNIQUE.claim
    v_claim = TECHNIQUE.further_claims[VERIFY][0]
    ratio, verify_ms = result.metrics["overhead"], result.metrics["verify_ms"]
    low, high = report.iqr(result, "overhead")
    return Result(
        technique="zk",
        name="claims_check",
        params={"model": result.params.get("model"), "width": result.params.get("width")},
        metrics={
            "claimed_low": claim.low,
            "claimed_high": claim.high,
            "measured_ratio": ratio,
            "measured_ratio_warm_plaintext": result.metrics.get("overhead_warm", ratio),
            "orders_of_magnitude_above_claim": float(np.log10(ratio / claim.high)) if ratio > claim.high else 0.0,
            "verify_ms": verify_ms,
        },
        artifacts={
            "claim": claim.text,
            "verify_claim": v_claim.text,
            "prover_verdict": report.verdict(claim, ratio, low, high),
            "verify_verdict": report.verdict(v_claim, verify_ms),
            "costs_result": result.id,
        },
        flags=list(result.flags),
    )
