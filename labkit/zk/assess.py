"""The zk ``support`` and ``assess`` doors: a user's ONNX graph proved with ezkl.

:func:`support` (:func:`check_support`) answers in seconds, before any key
exists. Ops no circuit can hold (data-dependent control flow: If, Loop) are
named with a rewrite; the graph then goes through ezkl's settings and
calibration (what a build runs first), where an op ezkl cannot lay out is
named too, and ops ezkl compiles but the lab has not checked are listed in the
notes; the pre-flight estimate (:mod:`labkit.zk.footprint`) gives the circuit
size, key bytes and prover memory, and a prover over the memory budget is
refused.
:func:`assess` builds the circuit, proves a few test samples, verifies each
proof (consistency of the file included), and reads the proven labels from
the public instances, never from the file's human-readable copy.

References
----------
ezkl documentation, https://docs.ezkl.xyz/ (supported ONNX operators).
The Halo2 book, https://zcash.github.io/halo2/.
Kang et al., "Scaling up trustless DNN inference with zero-knowledge proofs", arXiv:2210.08674.
"""

from __future__ import annotations

import re
import time

import numpy as np

from .. import config, validate
from ..errors import InvalidInput
from ..results import NOT_FOR_PRODUCTION, Result
from ..workload import Problem, Support, Workload, default_budget_bytes, labels_from
from ..workload.support import UNSUPPORTED_OPS, over_budget, rewrite_for
from . import backend
from .circuit import DECOMPOSITION, static_batch
from .preflight import DEFAULT_VISIBILITY, estimate
from .prover import ProverHung

# Ops the lab has compiled with ezkl and proved, checking the proven outputs against the float model
# (tests/zk and docs/zk-preflight.md). ezkl's front end (tract) unrolls an LSTM of fixed length, and TopK
# becomes a sorting argument: both prove here, though HE and MPC cannot run them.
VERIFIED_OPS = frozenset(
    {
        *("Gemm", "MatMul", "Add", "Sub", "Mul", "Conv", "BatchNormalization"),
        *("Relu", "LeakyRelu", "Sigmoid", "Tanh", "Softmax"),
        *("AveragePool", "GlobalAveragePool", "MaxPool", "TopK", "LSTM"),
        *("Flatten", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Concat", "Expand", "Shape", "Gather"),
        *("Identity", "Dropout", "Constant"),
    }
)
# Data-dependent control flow: a circuit has one fixed layout, so these are refused before ezkl runs.
REFUSED_OPS = ("If", "Loop")
CALIBRATION_TRAIN = 8  # training samples the circuit is calibrated on, besides the samples it proves
SAMPLES = (5, 2)  # samples proven: full mode, fast mode
MIN_CALIBRATION_TEST = max(SAMPLES)
BUILD_PER_PROVE = 1.5  # setup time as a multiple of one proof (measured on the lab's circuits)


def calibration_set(workload: Workload, samples: int) -> np.ndarray:
    """The inputs the circuit is calibrated on: the first training samples and the test samples proven.

    The same set for :func:`support` and :func:`assess` (at the default sample
    counts), so the pre-flight finds the size the build gets.
    """
    n_test = max(samples, MIN_CALIBRATION_TEST)
    both = np.concatenate([workload.X_train[:CALIBRATION_TRAIN], workload.X_test[:n_test]])
    return both.astype(np.float64)[:, None]  # (n, 1, *input shape): each a batch of one


def _static_problems(workload: Workload) -> list[Problem]:
    return [
        Problem(node, op, UNSUPPORTED_OPS[op], rewrite_for(op))
        for node, op in workload.graph_ops()
        if op in REFUSED_OPS
    ]


def _ezkl_problem(workload: Workload, exc: InvalidInput) -> Problem:
    """The node an ezkl failure names (by op), or the whole model."""
    text = str(exc)
    match = re.search(r"ONNX operator (\w+)", text)
    op = match.group(1) if match else "(ezkl)"
    node = next((n for n, o in workload.graph_ops() if o == op), "(whole model)")
    return Problem(node, op, f"{text} (ezkl {backend.version()})", rewrite_for(op))


def check_support(workload: Workload, *, budget_bytes: int | None = None, samples: int | None = None) -> Support:
    """Can ezkl prove this workload's model, and at what cost? Seconds; no setup, no proof.

    Parameters
    ----------
    workload : Workload
    budget_bytes : int, optional
        Memory the prover may use (default: :func:`labkit.workload.default_budget_bytes`).
    samples : int, optional
        Samples :func:`assess` will prove (default: 5, 2 in fast mode).

    Returns
    -------
    Support
        ``estimate`` holds logrows, pk/vk/srs bytes, ``prover_ram_bytes``,
        ``memory_bytes`` (the same) and ``seconds`` (build and proofs, roughly).
    """
    if not isinstance(workload, Workload):
        raise InvalidInput(f"support takes a labkit.workload.Workload, not {type(workload).__name__}.")
    budget = default_budget_bytes() if budget_bytes is None else validate.integer("budget_bytes", budget_bytes)
    samples = _samples(samples, None)
    problems = _static_problems(workload)
    if problems:
        return Support("zk", tuple(problems))
    try:
        found = estimate(
            static_batch(workload.onnx_bytes), calibration_set(workload, samples), visibility=DEFAULT_VISIBILITY
        )
    except InvalidInput as exc:
        return Support("zk", (_ezkl_problem(workload, exc),))
    fp = found.footprint
    unverified = sorted({op for _, op in workload.graph_ops()} - VERIFIED_OPS)
    notes = [
        f"fixed-point arithmetic at scale 2**-{found.settings['run_args']['input_scale']} (calibrated)",
        "the weights are constants of the circuit: the verifying key pins them",
        "input private, output public: a proof states the scores, not the input",
        "a development reference string is generated here (not for production)",
    ]
    if unverified:
        notes.append(f"ezkl compiled {', '.join(unverified)}, which the lab has not checked against plaintext")
    est = {
        **found.as_dict(),
        "memory_bytes": fp.prover_ram_bytes,
        "seconds": found.seconds + fp.prove_seconds * (BUILD_PER_PROVE + samples),
        "samples": samples,
    }
    late = over_budget(fp.prover_ram_bytes, budget, what=f"the zk prover ({fp.describe()})")
    return Support("zk", (late,) if late else (), est, tuple(notes))


support = check_support  # the registry's door name (labkit.zk.technique)


def _samples(samples: int | None, fast: bool | None) -> int:
    fast = config.fast() if fast is None else bool(fast)
    if samples is None:
        return SAMPLES[1] if fast else SAMPLES[0]
    return validate.integer("samples", samples, low=1, high=100)


def _unsupported(workload: Workload, found: Support) -> Result:
    return Result(
        technique="zk",
        name="assess",
        params=workload.tag(),
        metrics={"supported": 0},
        artifacts={"unsupported": [p.as_dict() for p in found.problems], "support": found.as_dict()},
    )


def _plaintext_seconds(workload: Workload, x: np.ndarray, repeat: int) -> float:
    """Median seconds of the original model on one sample (the baseline the prover is compared with)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        workload.logits(x[None])
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def assess(
    workload: Workload,
    *,
    support: Support | None = None,
    progress: bool = False,
    fast: bool | None = None,
    samples: int | None = None,
) -> Result:
    """Prove the workload's model on a few test samples with ezkl; accuracy, agreement and costs.

    Parameters
    ----------
    workload : Workload
    support : Support, optional
        The answer of :func:`check_support` (asked here when omitted).
    progress : bool
        A progress bar over the proofs.
    fast : bool, optional
        Fewer samples (default: ``LABKIT_FAST``).
    samples : int, optional
        Test samples to prove (default: 5, 2 in fast mode).

    Returns
    -------
    Result
        ``zk/assess``: ``supported``; when supported ``accuracy_plain`` (the original
        model on the proven samples), ``accuracy_private`` (labels read from the
        proofs' instances), ``agreement`` (proven labels against the circuit's own
        plaintext run, the witness), ``agreement_original``, ``verified`` (share of
        proofs accepted), ``overhead`` (prove / plaintext inference, same run),
        ``prove_s``, ``verify_s``, ``logrows``, ``pk_bytes``, ``vk_bytes``,
        ``proof_bytes``, ``peak_ram_bytes`` (each proof runs in a child process) and the
        estimate's ratios to them; artifacts ``unsupported`` when not supported.
    """
    from .model import ZKModel

    if not isinstance(workload, Workload):
        raise InvalidInput(f"assess takes a labkit.workload.Workload, not {type(workload).__name__}.")
    n = min(_samples(samples, fast), len(workload.X_test))
    found = support if support is not None else check_support(workload, samples=n)
    if not found.supported:
        return _unsupported(workload, found)
    X, y = workload.X_test[:n].astype(np.float64), workload.y_test[:n]
    start = time.perf_counter()
    zk = ZKModel(
        static_batch(workload.onnx_bytes),
        X[:1],
        visibility=DEFAULT_VISIBILITY,
        calibration=calibration_set(workload, n),
    )
    build_s = time.perf_counter() - start
    final = workload.program.final if workload.program is not None else None
    rows = []
    from tqdm.auto import tqdm

    for x in tqdm(X, desc=f"zk: proving {workload.name}", disable=not progress, unit="proof"):
        try:
            proof = zk.prove(x[None], isolated=True)  # a child process: a hung prover is stopped, memory measured
        except ProverHung as exc:
            hung = Problem("(whole model)", "prove", str(exc), "try again, or simplify the model's non-linear layers")
            return _unsupported(workload, Support("zk", (hung,), found.estimate, found.notes))
        plain_s = _plaintext_seconds(workload, x.astype(np.float32), repeat=config.pick(20, 5))
        start = time.perf_counter()
        ok = zk.verify(proof)
        verify_s = time.perf_counter() - start
        claimed = zk.claimed_output(proof)  # from the instances: what the SNARK binds
        rows.append((proof, ok, verify_s, plain_s, claimed, np.asarray(proof.meta["circuit_output"], dtype=float)))
    proofs, oks, verify_times, plain_times, claimed, witness = (list(col) for col in zip(*rows))
    private = labels_from(np.stack(claimed), final=final)
    circuit_labels = labels_from(np.stack(witness), final=final)
    original_logits = workload.logits(X.astype(np.float32))
    original = labels_from(original_logits, final=final)
    sizes = zk.sizes()
    prove_s = float(np.median([p.seconds for p in proofs]))
    est = found.estimate
    metrics = {
        "supported": 1,
        "samples": n,
        "accuracy_plain": float(np.mean(original == y)),
        "accuracy_private": float(np.mean(private == y)),
        "agreement": float(np.mean(private == circuit_labels)),
        "agreement_original": float(np.mean(private == original)),
        "verified": float(np.mean(oks)),
        "max_abs_error": float(np.max(np.abs(np.stack(claimed) - original_logits))),
        "overhead": prove_s / float(np.median(plain_times)),
        "prove_s": prove_s,
        "witness_s": float(np.median([p.witness_seconds for p in proofs])),
        "verify_s": float(np.median(verify_times)),
        "plaintext_s": float(np.median(plain_times)),
        "build_s": build_s,
        "cached": int(not zk.circuit.built),
        "logrows": zk.logrows,
        "num_rows": zk.circuit.num_rows,
        "pk_bytes": sizes["pk"],
        "vk_bytes": sizes["vk"],
        "srs_bytes": sizes["srs"],
        "proof_bytes": float(np.median([p.size for p in proofs])),
        "peak_ram_bytes": max(p.meta.get("prover_ram_bytes", 0) for p in proofs),
    }
    if est.get("pk_bytes"):
        metrics["pk_estimate_ratio"] = est["pk_bytes"] / sizes["pk"]
    if est.get("prover_ram_bytes") and metrics["peak_ram_bytes"]:
        metrics["ram_estimate_ratio"] = est["prover_ram_bytes"] / metrics["peak_ram_bytes"]
    result = Result(
        technique="zk",
        name="assess",
        params={
            **workload.tag(),
            "visibility": dict(DEFAULT_VISIBILITY),
            "scale": zk.circuit.input_scale,
            "decomposition": list(DECOMPOSITION),
            "ezkl": backend.version(),
        },
        metrics=metrics,
        artifacts={
            "estimate": dict(est),
            "notes": list(found.notes),
            "circuit": zk.circuit.key[:16],
            "verifying_key": zk.verifying_key_id[:16],
            "development_setup": zk.development_setup,
        },
    )
    from .tampering import tamper_report

    tamper = tamper_report(zk, proofs[0])  # each way of cheating on one honest proof, refused or not
    result.metrics.update(
        tamper_cases=tamper.metrics["cases"],
        tampered_accepted=tamper.metrics["tampered_accepted"],
        tamper_detection=tamper.metrics["detection_rate"],
    )
    m = result.metrics
    result.artifacts["tamper"] = tamper.artifacts["verified"]
    result.artifacts["provenance"] = {k: "measured" for k in m} | {
        "pk_estimate_ratio": "modelled", "ram_estimate_ratio": "modelled",
    }  # fmt: skip
    result.artifacts["findings"] = [
        f"{m['verified']:.0%} of {n} honest proofs verified; each proves the committed model's output on a "
        f"private input in {m['prove_s']:.3g} s (median) and checks in {1000 * m['verify_s']:.3g} ms",
        f"of {m['tamper_cases']:.0f} tampered copies of one proof ({', '.join(sorted(tamper.artifacts['verified']))}), "
        f"{m['tampered_accepted']:.0f} verified: the verifier refused {m['tamper_detection']:.0%}",
        f"the circuit's fixed-point outputs differ from the model's by at most {m['max_abs_error']:.3g}; "
        f"{m['agreement_original']:.0%} of proven predictions equal the original model's",
    ]
    result.artifacts["reproduce"] = "labkit.assess(workload, techniques=['zk'])"
    if zk.development_setup:
        result.flag(NOT_FOR_PRODUCTION)
    return result
