"""The HE doors of ``labkit assess``: can CKKS run this model (in seconds, no keys), and how well does it.

:func:`support` compiles the workload (:mod:`labkit.he.compiler`), plans the
parameters (:mod:`labkit.he.planner`) and estimates cost and memory; nothing
cryptographic runs. :func:`assess` then runs the compiled model encrypted on
a subset of the test split and reports three accuracies: the original model,
the polynomial model in plaintext on the whole test split ("what HE will
compute"), and the encrypted run, with the agreement between the encrypted and
plaintext polynomial labels and the largest output gap.

References
----------
Gilad-Bachrach et al., "CryptoNets", ICML 2016. Brutzkus, Oren &
Gilad-Bachrach, "LoLa", ICML 2019. Albrecht et al., Homomorphic Encryption
Standard, 2018. Cheon, Kim, Kim & Song, CKKS, ASIACRYPT 2017.
"""

from __future__ import annotations

import time

import numpy as np

from .. import bench, config, validate
from ..results import Result
from . import planner
from .compiler import DEFAULT_DEGREE, compile_workload
from .packing import MODES, Runner, timed_with_matched_threads

KEY = "he"
BACKENDS = ("seal", "openfhe")
#: SEAL's memory pool keeps every allocation size's high-water mark (it does not return
#: memory to the system): the batched CryptoNets run peaked 1.35x above the live ciphertexts.
SEAL_POOL_SLACK = 1.35
_WORKING_BYTES = 150 * 2**20  # the HE library's own working memory and the decoded outputs


def _plan_and_params(workload, degree: int, backend: str):
    """(plan, params, problems): the compiled plan and its parameters, or the problems."""
    from ..workload.support import Problem, rewrite_for

    plan, problems = compile_workload(workload, degree=degree)
    if plan is None:
        return None, None, problems
    width = 1 << (plan.widest - 1).bit_length()
    params = planner.choose(plan.depth, plan.max_magnitude, min_slots=min(width, 16384), backend=backend)
    if params is None:
        most = planner.max_depth_at(32768, plan.max_magnitude)
        return (
            plan,
            None,
            [
                Problem(
                    "(whole model)",
                    "depth",
                    f"the polynomial model needs multiplicative depth {plan.depth} "
                    f"({len(plan.stages)} affine stages, activations of degree {degree}); N=32768 at 128-bit "
                    f"security holds at most {most} levels",
                    f"{rewrite_for('depth')} (degree 2 costs one level per activation)",
                ),
            ],
        )
    return plan, params, []


def _estimate(plan, params: dict, *, backend: str) -> dict:
    """Numbers for the support table: sizes, memory of each packing, seconds of an assess run."""
    n, depth = params["poly_modulus_degree"], params["depth"]
    keys = planner.key_bytes(n, depth, planner.rotation_steps(plan, n))
    batched = planner.cost(plan, params, mode="batched")
    single = planner.cost(plan, params, mode="single")
    fixed = _WORKING_BYTES + keys["public"] + keys["relin"]
    slack = SEAL_POOL_SLACK if backend == "seal" else 1.0
    memory_batched = fixed + int(slack * batched["peak_ciphertext_bytes"])
    memory_single = (
        fixed + keys["galois"] + single["peak_ciphertext_bytes"] + planner.plaintext_cache_bytes(plan, params)
    )
    passes = 3 if not config.fast() else 2  # the accuracy pass and the timed repeats
    seconds = 1.0 + passes * batched["seconds"]
    return {
        "ring_dimension": n,
        "depth": depth,
        "scale_bits": params["scale_bits"],
        "modulus_bits": params["modulus_bits"],
        "key_bytes": keys["public"] + keys["relin"] + keys["galois"],
        "public_key_bytes": keys["public"],
        "relin_key_bytes": keys["relin"],
        "galois_key_bytes": keys["galois"],
        "ciphertext_bytes": planner.ciphertext_bytes(n, depth + 1),
        "input_ciphertexts_batched": plan.n_inputs,
        "memory_bytes": memory_batched,
        "peak_rss_estimate_bytes": _rss_now() + memory_batched,
        "memory_bytes_single": memory_single,
        "batched_seconds": batched["seconds"],
        "single_seconds": single["seconds"],
        "slots": n // 2,
        "seconds": seconds,
    }


def support(workload, *, budget_bytes: int | None = None, degree: int | None = None, backend: str = "seal"):
    """Can CKKS run ``workload``? Problems, rewrites applied, cost and memory; no keys are made.

    Parameters
    ----------
    workload : labkit.workload.Workload
    budget_bytes : int, optional
        Memory the run may use (default :func:`labkit.workload.default_budget_bytes`). When the
        batched run (one ciphertext per input value) would not fit but one sample per ciphertext
        would, the answer is supported with a note; when neither fits, a ``memory`` problem.
    degree : int, optional
        Activation polynomial degree (default 2).
    backend : {"seal", "openfhe"}
        The chain differs a little: OpenFHE sizes its own special prime.

    Returns
    -------
    labkit.workload.Support
        ``estimate``: ring_dimension, depth, modulus_bits, key_bytes (public + relin + galois),
        ciphertext_bytes, memory_bytes (what the batched run adds at its peak; compared with the
        budget), peak_rss_estimate_bytes (this process now plus that), memory_bytes_single, seconds
        (an assess run, to order techniques), and more.

    References
    ----------
    Albrecht et al., Homomorphic Encryption Standard, 2018.
    """
    from ..workload import Support, default_budget_bytes
    from ..workload.support import over_budget

    validate.choice("backend", backend, BACKENDS)
    degree = validate.integer("degree", degree if degree is not None else DEFAULT_DEGREE, low=1, high=16)
    budget = default_budget_bytes() if budget_bytes is None else int(budget_bytes)
    plan, params, problems = _plan_and_params(workload, degree, backend)
    if problems:
        return Support(KEY, problems=tuple(problems), notes=tuple(plan.notes) if plan else ())
    estimate = _estimate(plan, params, backend=backend)
    notes = list(plan.notes)
    notes.append(
        f"depth {plan.depth}: N={params['poly_modulus_degree']}, chain {params['first_mod_bits']} + "
        f"{params['depth']} x {params['scale_bits']} bits (+ special), 128-bit security (HE Standard)"
    )
    if estimate["memory_bytes"] > budget:
        too_much = over_budget(estimate["memory_bytes_single"], budget, what="HE, even one sample per ciphertext,")
        if too_much is not None:
            return Support(KEY, problems=(too_much,), estimate=estimate, notes=tuple(notes))
        notes.append(
            f"the batched run would need about {estimate['memory_bytes'] / 2**20:,.0f} MB, over the budget of "
            f"{budget / 2**20:,.0f} MB: assess runs one sample per ciphertext"
        )
        estimate["batched_fits"] = 0
        estimate["seconds"] = 1.0 + 5 * estimate["single_seconds"]
    else:
        estimate["batched_fits"] = 1
    return Support(KEY, estimate=estimate, notes=tuple(notes))


def _rss_now() -> int:
    """This process's resident memory now (the run adds its ``memory_bytes`` on top)."""
    import psutil

    return int(psutil.Process().memory_info().rss)


check = support  # the support door under a name ``assess``'s own ``support`` argument does not hide


def _peak_rss() -> int:
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def assess(
    workload,
    *,
    support=None,
    progress: bool = False,
    fast: bool | None = None,
    backend: str = "seal",
    mode: str | None = None,
    degree: int | None = None,
    samples: int | None = None,
    repeat: int | None = None,
) -> Result:
    """Run the compiled model encrypted on ``workload``'s test data; a Result(technique="he", name="assess").

    Parameters
    ----------
    workload : labkit.workload.Workload
    support : Support, optional
        The answer of :func:`support` (computed here when not given).
    progress : bool
        A progress bar (tqdm) over the encrypted samples or passes.
    fast : bool, optional
        Fewer samples and repeats (default ``LABKIT_FAST``).
    backend : {"seal", "openfhe"}
    mode : {"batched", "single"}, optional
        Default: batched when it fits the memory budget, else single.
    degree : int, optional
        Activation polynomial degree (default 2).
    samples : int, optional
        Test samples run encrypted (default: one full batch in batched mode, up to the test split;
        20 in single mode, 5 in fast mode).
    repeat : int, optional
        Timed repeats of the overhead (default 3, 1 in fast mode).

    Returns
    -------
    Result
        metrics: supported, accuracy_plain, accuracy_polynomial, accuracy_private, agreement,
        agreement_original, max_abs_gap, overhead, latency_s, per_sample_s, throughput_per_s,
        ring_dimension, depth, key_bytes, ciphertext_bytes, peak_rss_bytes; params: the workload
        tag, degree, backend, mode, samples, the HE parameters.

    References
    ----------
    Gilad-Bachrach et al., "CryptoNets", ICML 2016. Brutzkus, Oren & Gilad-Bachrach, "LoLa", ICML 2019.
    """
    from ..assessment import unsupported_result
    from .api import context

    fast = config.fast() if fast is None else bool(fast)
    validate.choice("backend", backend, BACKENDS)
    if mode is not None:
        validate.choice("mode", mode, MODES)
    explicit = degree is not None
    degree = validate.integer("degree", degree if degree is not None else DEFAULT_DEGREE, low=1, high=16)
    if samples is not None:
        validate.integer("samples", samples)
    if support is None or explicit or backend != "seal":  # the door's answer assumes the defaults
        support = check(workload, degree=degree, backend=backend)
    if not support.supported:
        return unsupported_result(workload, support)
    plan, params, problems = _plan_and_params(workload, degree, backend)
    if problems:
        from ..workload import Support

        return unsupported_result(workload, Support(KEY, problems=tuple(problems)))
    mode = mode or ("batched" if support.estimate.get("batched_fits", 1) else "single")
    repeat = repeat if repeat is not None else (1 if fast else 3)
    X, y = workload.X_test, workload.y_test
    original = workload.predict(X)
    poly_out = plan.simulate(X)
    poly_labels = plan.labels(poly_out)
    ctx = context(backend, "ckks", **{k: v for k, v in params.items() if k != "modulus_bits"})
    runner = Runner(ctx, plan, mode)
    if mode == "batched":
        n = min(samples or len(X), ctx.slots, len(X))
        batch = np.resize(X[:n], (ctx.slots, *X.shape[1:]))  # slots filled: throughput at capacity
    else:
        n = min(samples or (5 if fast else 20), len(X))
        batch = X[:1]
    phases: dict[str, list[float]] = {}
    start = time.perf_counter()
    if mode == "batched":
        with _bar(progress, 1, f"he {backend} batched") as bar:
            enc_out = runner(X[:n], phases)
            bar.update(1)
    else:
        outs = []
        with _bar(progress, n, f"he {backend} single") as bar:
            for i in range(n):
                outs.append(runner(X[i : i + 1], phases)[0])
                bar.update(1)
        enc_out = np.stack(outs)
    first = time.perf_counter() - start
    enc_labels = plan.labels(enc_out)
    ov = timed_with_matched_threads(
        lambda: runner(batch),
        lambda: plan.simulate(batch),
        ctx,
        repeat=repeat,
        names=(f"{backend} encrypted {mode}", "plaintext polynomial model"),
    )
    latency = ov.candidate.median
    per_batch = len(batch)
    estimate = support.estimate
    metrics = {
        "supported": 1,
        "accuracy_plain": float(np.mean(original == y)),
        "accuracy_polynomial": float(np.mean(poly_labels == y)),
        "accuracy_private": float(np.mean(enc_labels == y[:n])),
        "agreement": float(np.mean(enc_labels == poly_labels[:n])),
        "agreement_original": float(np.mean(enc_labels == original[:n])),
        "max_abs_gap": float(np.max(np.abs(enc_out - poly_out[:n]))),
        "latency_s": latency,
        "per_sample_s": latency / per_batch,
        "throughput_per_s": per_batch / latency,
        "samples": n,
        "batch_size": per_batch,
        "ring_dimension": params["poly_modulus_degree"],
        "depth": params["depth"],
        "modulus_bits": params["modulus_bits"],
        "key_bytes": estimate.get("key_bytes", 0),
        "ciphertext_bytes": int(ctx.encrypt(np.zeros(1)).size_bytes),
        "security_bits": ctx.security.level,
        "first_pass_s": first,
        "peak_rss_bytes": _peak_rss(),
    }
    result = Result(
        technique=KEY,
        name="assess",
        params={
            **workload.tag(),
            "degree": degree,
            "backend": backend,
            "mode": mode,
            "samples": n,
            "params": ctx.params.to_dict(),
        },
        metrics=metrics,
        artifacts={"support": support.as_dict(), "notes": list(plan.notes), "plan": plan.summary()},
    )
    result.add_overhead("overhead", ov)
    m = result.metrics
    result.artifacts["provenance"] = {k: "measured" for k in m} | {"key_bytes": "modelled"}
    result.artifacts["findings"] = [
        f"the server computed on ciphertexts only, at {m['security_bits']:.0f}-bit security (ring dimension "
        f"{m['ring_dimension']:,.0f}, depth {m['depth']:.0f}): {m['agreement']:.1%} of the {n} encrypted predictions "
        f"equal the polynomial model's in plaintext (largest output gap {m['max_abs_gap']:.2g})",
        f"replacing the activations by polynomials took the test accuracy from {m['accuracy_plain']:.1%} to "
        f"{m['accuracy_polynomial']:.1%}; {m['agreement_original']:.1%} of encrypted predictions equal the original model's",
        f"{backend} {mode}: {m['batch_size']:,.0f} samples per pass in {m['latency_s']:.3g} s "
        f"({m['throughput_per_s']:.3g} samples/s)",
    ]
    result.artifacts["reproduce"] = f"labkit.assess(workload, techniques=['he'])  # {backend}, {mode}, degree {degree}"
    for name, values in phases.items():
        key = "server_evaluate" if name == "evaluate" else f"client_{name}"
        result.timings[key] = bench.Timing(name, tuple(values))
    return result


class _NoBar:
    def update(self, _n: int = 1) -> None:
        """Nothing to show."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None


def _bar(progress: bool, total: int, desc: str):
    if not progress:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="sample" if total > 1 else "pass")
