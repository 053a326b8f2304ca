"""Encrypted inference on real data, on either backend, one sample or many per ciphertext.

Two models (see :mod:`labkit.he.models`):

- ``logreg``: logistic regression on ``breast_cancer``, sigmoid replaced by a cubic;
- ``mlp``: 64-32-10 MLP with a square activation on ``digits``.

Two packings:

- ``"single"``: one sample per ciphertext, replicated across the slots; each
  layer is a matrix-vector product by the diagonal method (rotations).
- ``"batched"``: SIMD packing as in CryptoNets: ciphertext j holds feature j of
  up to N/2 samples (one slot per sample); each layer is a set of weighted sums
  of ciphertexts, with no rotation at all.

Each run returns a Result with the encrypted and plaintext accuracy on the
test split, latency, throughput, ciphertext sizes and the overhead against the
plaintext model measured interleaved in the same run.

References
----------
Gilad-Bachrach et al., "CryptoNets", ICML 2016 (SIMD batching, 8192 images per batch).
Boemer et al., "nGraph-HE2", WAHC 2019 (1,998 images/s batched on CryptoNets).
Brutzkus, Oren & Gilad-Bachrach, "LoLa", ICML 2019 (single-image latency).
"""

from __future__ import annotations

import time

import numpy as np

from .. import bench, config, datasets, validate
from ..errors import InvalidInput
from ..results import NOT_FOR_PRODUCTION, Result
from . import models
from .security import plan_depth, require_depth

MODELS = {"logreg": "breast_cancer", "mlp": "digits"}
MODES = ("single", "batched")


def _model(name: str, rng):
    return models.logistic_regression() if name == "logreg" else models.square_mlp(rng=rng)


def needed_depth(model: str) -> int:
    """Multiplicative depth each model needs (depth planner): 3 for both.

    >>> needed_depth("logreg"), needed_depth("mlp")
    (3, 3)
    """
    return plan_depth(layers=1, final_degree=3) if model == "logreg" else plan_depth(layers=2, activation_degree=2)


# -- encrypted forward passes ------------------------------------------------------------------------
# Each pass is split in the three phases of the protocol: the client encrypts, the server
# evaluates, the client decrypts. ``phases`` (a dict, optional) receives the time of each.
def _forward_single(ctx, model, x: np.ndarray, phases: dict | None = None) -> np.ndarray:
    """One sample: encrypt replicated, evaluate, decrypt the outputs (scores or logits)."""
    t0 = time.perf_counter()
    ct = ctx.encrypt(x, replicate=True)
    t1 = time.perf_counter()
    if isinstance(model, models.LinearModel):
        out = (ct.matmul(model.weights[:, None]) + model.bias).polyval(model.sigmoid_poly)
    else:
        h = ct.matmul(model.w1) + model.b1
        out = (h * h).matmul(model.w2) + model.b2
    t2 = time.perf_counter()
    values = ctx.decrypt(out)
    _record(phases, t0, t1, t2, time.perf_counter())
    return values


def _forward_batched(ctx, model, xb: np.ndarray, phases: dict | None = None) -> np.ndarray:
    """Many samples: one ciphertext per feature, one slot per sample; returns (samples, outputs)."""
    t0 = time.perf_counter()
    cols = [ctx.encrypt(xb[:, j]) for j in range(xb.shape[1])]
    t1 = time.perf_counter()
    if isinstance(model, models.LinearModel):
        outs = [ctx.linear_combination(cols, model.weights, model.bias).polyval(model.sigmoid_poly)]
    else:
        hidden = [ctx.linear_combination(cols, model.w1[:, k], model.b1[k]) for k in range(model.w1.shape[1])]
        squared = [h * h for h in hidden]
        outs = [ctx.linear_combination(squared, model.w2[:, c], model.b2[c]) for c in range(model.w2.shape[1])]
    t2 = time.perf_counter()
    values = np.stack([ctx.decrypt(o) for o in outs], axis=1)
    _record(phases, t0, t1, t2, time.perf_counter())
    return values


def _record(phases: dict | None, t0: float, t1: float, t2: float, t3: float) -> None:
    if phases is not None:
        for name, seconds in (("encrypt", t1 - t0), ("evaluate", t2 - t1), ("decrypt", t3 - t2)):
            phases.setdefault(name, []).append(seconds)


def _predict(model, outputs: np.ndarray) -> np.ndarray:
    if isinstance(model, models.LinearModel):
        return (outputs.reshape(-1) > 0.5).astype(int)
    return np.argmax(outputs, axis=1)


# -- the lab function --------------------------------------------------------------------------------
def run(
    *,
    model: str = "mlp",
    backend: str = "seal",
    mode: str = "batched",
    n_samples: int | None = None,
    batch_size: int | None = None,
    preset: str = "ckks-8192-d3",
    repeat: int | None = None,
    allow_insecure: bool = False,
    threads: int | None = None,
    ctx=None,
    progress: bool = False,
    rng: int | np.random.Generator | None = None,
) -> Result:
    """Encrypted inference of ``model`` on its test split; returns a Result.

    Fast mode (``LABKIT_FAST=1``) is read here only: it shrinks the defaults of ``n_samples``
    (single mode) and ``repeat``.

    Parameters
    ----------
    model : "logreg" (breast_cancer) or "mlp" (digits).
    backend : "seal" or "openfhe".
    mode : "single" (one sample per ciphertext) or "batched" (one slot per sample).
    n_samples : test samples to classify encrypted (default: the whole split; 20 in single
        mode with LABKIT_FAST=1).
    batch_size : slots filled per batch in batched mode (default: all N/2 slots; the test
        samples are repeated to fill them, so throughput is measured at capacity).
    preset : HE parameters (see ``labkit.he.PRESETS``); CKKS with depth >= 3.
    repeat : timed repeats of the overhead measurement (default 5, 2 in fast mode).
    ctx : an existing HEContext to reuse (its backend wins over ``backend``).
    threads : OpenFHE threads required (None: the count OpenFHE runs with, see
        ``labkit.he.openfhe_backend``); the plaintext baseline gets as many BLAS threads.
    rng : seed of the MLP's initial weights (int, numpy Generator, or None for ``LABKIT_SEED``);
        the keys come from the HE libraries' own secure generators.

    Metrics: ``accuracy_plain`` (plaintext model, exact activation), ``accuracy_encrypted``,
    ``accuracy_gap_points``, ``agreement`` (same label as the plaintext polynomial model),
    ``max_abs_error`` (outputs, encrypted vs plaintext), ``latency_s`` (per batch or per sample),
    ``per_sample_s``, ``throughput_per_s``, ``input_ciphertext_bytes``, ``security_bits``,
    ``overhead`` (encrypted pipeline vs plaintext model on the same input), and
    ``server_evaluate_s`` / ``server_throughput_per_s`` (the server's part alone, without the
    client's encryption and decryption; timings ``client_encrypt``, ``server_evaluate``,
    ``client_decrypt`` hold each phase of the accuracy pass).

    References
    ----------
    Gilad-Bachrach et al., "CryptoNets", ICML 2016. Halevi & Shoup, "Algorithms in HElib",
    CRYPTO 2014 (diagonal matrix-vector products).
    """
    from .api import context

    validate.choice("model", model, tuple(MODELS))
    validate.choice("mode", mode, MODES)
    for name, value in (("n_samples", n_samples), ("batch_size", batch_size), ("repeat", repeat)):
        if value is not None:
            validate.integer(name, value)
    if n_samples is None and mode == "single":
        n_samples = config.pick(None, 20)
    repeat = repeat if repeat is not None else config.pick(5, 2)
    ds = datasets.load(MODELS[model])
    m = _model(model, rng)
    if ctx is None:
        ctx = context(backend, preset=preset, allow_insecure=allow_insecure, threads=threads)
    if ctx.scheme != "ckks":
        raise InvalidInput("encrypted inference uses real-valued weights: give a CKKS context.")
    require_depth(needed_depth(model), ctx.depth, what=f"the {model} model")
    x_all = ds.X_test
    n = min(n_samples or len(x_all), len(x_all))
    x_raw, y = x_all[:n], ds.y_test[:n]
    prepared = m.prepare(x_raw)
    plain_out = (
        np.polynomial.polynomial.polyval(prepared @ m.weights + m.bias, m.sigmoid_poly)[:, None]
        if isinstance(m, models.LinearModel)
        else m.logits(x_raw)
    )
    if np.max(np.abs(plain_out)) >= ctx.params.max_abs_value:
        raise InvalidInput("the model's outputs exceed what this CKKS context holds; widen first_mod_bits.")
    timings = {}
    phases: dict[str, list[float]] = {}
    if mode == "batched":
        capacity = ctx.slots
        size = min(batch_size or capacity, capacity)
        if size < n:
            raise InvalidInput(f"batch_size={size} holds fewer than the {n} samples; raise it or lower n_samples.")
        batch = np.resize(prepared, (size, prepared.shape[1]))  # repeat the samples to fill the slots
        start = time.perf_counter()
        enc_out = _forward_batched(ctx, m, batch, phases)[:n]
        first = time.perf_counter() - start

        def candidate():
            return _forward_batched(ctx, m, batch)

        def baseline():
            return _plain_forward_prepared(m, batch)

        per_batch = size
        input_bytes = ctx.encrypt(batch[:, 0]).size_bytes * batch.shape[1]
    else:
        size = 1
        outs, samples = [], []
        iterator = range(n)
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(iterator, desc=f"{ctx.backend} {model} single")
        for i in iterator:
            t0 = time.perf_counter()
            outs.append(_forward_single(ctx, m, prepared[i], phases))
            samples.append(time.perf_counter() - t0)
        enc_out = np.stack(outs)
        first = float(np.sum(samples))
        timings["per_sample"] = bench.Timing("per_sample", tuple(samples))
        one = prepared[:1]

        def candidate():
            return _forward_single(ctx, m, one[0])

        def baseline():
            return _plain_forward_prepared(m, one)

        per_batch = 1
        input_bytes = ctx.encrypt(prepared[0], replicate=True).size_bytes
    used_threads = _backend_threads(ctx)
    ov = _timed_with_matched_threads(
        candidate,
        baseline,
        used_threads,
        repeat=repeat,
        names=(f"{ctx.backend} encrypted {mode}", "plaintext model"),
    )
    enc_pred = _predict(m, enc_out)
    plain_pred_poly = _predict(m, plain_out)
    acc_plain = float(np.mean(m.predict(x_raw) == y))
    acc_enc = float(np.mean(enc_pred == y))
    latency = ov.candidate.median
    metrics = {
        "accuracy_plain": acc_plain,
        "accuracy_plain_polynomial": float(np.mean(plain_pred_poly == y)),
        "accuracy_encrypted": acc_enc,
        "accuracy_gap_points": 100 * (acc_plain - acc_enc),
        "agreement": float(np.mean(enc_pred == plain_pred_poly)),
        "max_abs_error": float(np.max(np.abs(enc_out - plain_out))),
        "latency_s": latency,
        "per_sample_s": latency / per_batch,
        "throughput_per_s": per_batch / latency,
        "input_ciphertext_bytes": int(input_bytes),
        "samples": n,
        "batch_size": size,
        "security_bits": ctx.security.level,
        "depth": ctx.depth,
        "first_pass_s": first,
    }
    result = Result(
        technique="he",
        name=f"{model}_inference",
        params={
            "model": model,
            "backend": ctx.backend,
            "mode": mode,
            "samples": n,
            "batch_size": size,
            "params": ctx.params.to_dict(),
            "threads": used_threads,
        },
        metrics=metrics,
        timings=timings,
        artifacts={"dataset": MODELS[model], "security": str(ctx.security)},
    )
    result.add_overhead("overhead", ov)
    for name, samples in phases.items():
        result.timings[f"client_{name}" if name != "evaluate" else "server_evaluate"] = bench.Timing(
            name, tuple(samples)
        )
    evaluate = float(np.median(phases["evaluate"]))
    result.metrics["server_evaluate_s"] = evaluate
    result.metrics["server_throughput_per_s"] = per_batch / evaluate
    if ctx.insecure:
        result.flag(NOT_FOR_PRODUCTION)
    return result


def _backend_threads(ctx) -> int:
    """Threads the backend computes with: 1 for SEAL, OpenFHE's fixed count (1 if unknown)."""
    if ctx.backend != "openfhe":
        return 1
    from .openfhe_backend import threads

    return threads() or 1


def _timed_with_matched_threads(candidate, baseline, threads: int, **kw) -> bench.Overhead:
    """bench.overhead with numpy's BLAS held to the same thread count as the HE backend.

    SEAL runs single-threaded and OpenFHE gets ``threads`` OpenMP threads; letting the
    plaintext baseline use every core would inflate the overhead ratio.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        return bench.overhead(candidate, baseline, warmup=0, **kw)
    with threadpool_limits(limits=threads, user_api="blas"):
        return bench.overhead(candidate, baseline, warmup=0, **kw)


def _plain_forward_prepared(m, prepared: np.ndarray) -> np.ndarray:
    """The plaintext model on already-prepared inputs (the baseline of the overhead)."""
    if isinstance(m, models.LinearModel):
        return np.polynomial.polynomial.polyval(prepared @ m.weights + m.bias, m.sigmoid_poly)
    h = prepared @ m.w1 + m.b1
    return (h * h) @ m.w2 + m.b2
