"""Encrypted inference on real data, on either backend, one sample or many per ciphertext.

Two models (trained in :mod:`labkit.he.models`), each taken in as a torch
module by :meth:`labkit.workload.Workload.from_torch` and compiled by
:mod:`labkit.he.compiler`, the path a user's model takes (no special case):

- ``logreg``: logistic regression on ``breast_cancer``, its output sigmoid
  replaced by a least-squares cubic fitted over the training scores;
- ``mlp``: 64-32-10 MLP with a square activation (x*x, exact) on ``digits``.

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
from functools import lru_cache

import numpy as np

from .. import bench, config, datasets, validate
from ..errors import InvalidInput
from ..results import NOT_FOR_PRODUCTION, Result
from . import models
from .packing import Runner, backend_threads, timed_with_matched_threads
from .security import require_depth

MODELS = {"logreg": "breast_cancer", "mlp": "digits"}
MODES = ("single", "batched")


def torch_module(model: str, *, rng=None):
    """The lab's trained model as a torch module: Linear + Sigmoid (logreg) or Linear, x*x, Linear (mlp).

    The weights come from :mod:`labkit.he.models` (scikit-learn's logistic regression; the
    square MLP trained in numpy); the module is what :meth:`labkit.workload.Workload.from_torch`
    takes, exactly as a user's model.
    """
    import torch

    nn = torch.nn

    class Square(nn.Module):
        """x * x, exported to ONNX as Mul(x, x) (read as the square activation)."""

        def forward(self, x):
            return x * x

    def linear(weight: np.ndarray, bias) -> nn.Linear:
        layer = nn.Linear(weight.shape[1], weight.shape[0])
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(np.asarray(weight, dtype=np.float32)))
            layer.bias.copy_(torch.from_numpy(np.atleast_1d(np.asarray(bias, dtype=np.float32))))
        return layer

    if model == "logreg":
        m = models.logistic_regression()
        return nn.Sequential(linear(m.weights[None, :], m.bias), nn.Sigmoid()).eval()
    m = models.square_mlp(rng=rng)
    return nn.Sequential(linear(m.w1.T, m.b1), Square(), linear(m.w2.T, m.b2)).eval()


def workload(model: str = "mlp", *, rng=None):
    """The lab model ``model`` and its data set as a :class:`~labkit.workload.Workload` (one code path)."""
    validate.choice("model", model, tuple(MODELS))
    return _workload(model, config.seed_from(rng))


@lru_cache(maxsize=4)
def _workload(model: str, seed: int):
    from ..workload import Workload

    ds = datasets.load(MODELS[model])
    if model == "logreg":  # the features standardised as in training
        m = models.logistic_regression()
        xtr, xte = m.prepare(ds.X_train), m.prepare(ds.X_test)
    else:
        scale = models.square_mlp(rng=seed).input_scale
        xtr, xte = ds.X_train / scale, ds.X_test / scale
    return Workload.from_torch(
        torch_module(model, rng=seed),
        xtr.astype(np.float32),
        ds.y_train,
        X_test=xte.astype(np.float32),
        y_test=ds.y_test,
        name=f"he_lab_{model}",
    )


def plan(model: str = "mlp", *, rng=None):
    """The lab model compiled for CKKS (:mod:`labkit.he.compiler`).

    The logistic regression keeps its output sigmoid as a fitted cubic (``final="fit"``: the
    lab shows the probability); the MLP's square activation is exact.
    """
    from .compiler import require_plan

    validate.choice("model", model, tuple(MODELS))
    w = workload(model, rng=rng)
    return require_plan(w, degree=3, final="fit") if model == "logreg" else require_plan(w, degree=2)


def needed_depth(model: str) -> int:
    """Multiplicative depth each compiled model needs (the depth planner): 3 for both.

    >>> needed_depth("logreg"), needed_depth("mlp")
    (3, 3)
    """
    return plan(model).depth


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
    progress : show a progress bar (single mode: per sample; batched: per encrypted pass).
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
    w = workload(model, rng=rng)
    compiled = plan(model, rng=rng)
    if ctx is None:
        ctx = context(backend, preset=preset, allow_insecure=allow_insecure, threads=threads)
    if ctx.scheme != "ckks":
        raise InvalidInput("encrypted inference uses real-valued weights: give a CKKS context.")
    require_depth(compiled.depth, ctx.depth, what=f"the {model} model")
    x_all = w.X_test
    n = min(n_samples or len(x_all), len(x_all))
    prepared, y = x_all[:n], w.y_test[:n]
    plain_out = compiled.simulate(prepared)
    if np.max(np.abs(plain_out)) >= ctx.params.max_abs_value:
        raise InvalidInput("the model's outputs exceed what this CKKS context holds; widen first_mod_bits.")
    timings = {}
    phases: dict[str, list[float]] = {}
    runner = Runner(ctx, compiled, mode)
    if mode == "batched":
        capacity = ctx.slots
        size = min(batch_size or capacity, capacity)
        if size < n:
            raise InvalidInput(f"batch_size={size} holds fewer than the {n} samples; raise it or lower n_samples.")
        batch = np.resize(prepared, (size, *prepared.shape[1:]))  # repeat the samples to fill the slots
        from tqdm.auto import tqdm

        # the accuracy pass, then one encrypted pass per timed repeat
        bar = tqdm(total=1 + repeat, desc=f"{ctx.backend} {model} batched", unit="pass", disable=not progress)
        start = time.perf_counter()
        enc_out = runner(batch, phases)[:n]
        first = time.perf_counter() - start
        bar.update()

        def candidate():
            out = runner(batch)
            bar.update()
            return out

        def baseline():
            return compiled.simulate(batch)

        per_batch = size
        input_bytes = ctx.encrypt(batch[:, 0].ravel()).size_bytes * compiled.n_inputs
    else:
        size = 1
        outs, samples = [], []
        iterator = range(n)
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(iterator, desc=f"{ctx.backend} {model} single")
        for i in iterator:
            t0 = time.perf_counter()
            outs.append(runner(prepared[i : i + 1], phases)[0])
            samples.append(time.perf_counter() - t0)
        enc_out = np.stack(outs)
        first = float(np.sum(samples))
        timings["per_sample"] = bench.Timing("per_sample", tuple(samples))
        one = prepared[:1]

        def candidate():
            return runner(one)

        def baseline():
            return compiled.simulate(one)

        per_batch = 1
        input_bytes = ctx.encrypt(prepared[0].ravel(), replicate=True).size_bytes
    used_threads = backend_threads(ctx)
    ov = timed_with_matched_threads(
        candidate,
        baseline,
        ctx,
        repeat=repeat,
        names=(f"{ctx.backend} encrypted {mode}", "plaintext model"),
    )
    if mode == "batched":
        bar.close()
    enc_pred = compiled.labels(enc_out)
    plain_pred_poly = compiled.labels(plain_out)
    acc_plain = float(np.mean(w.predict(prepared) == y))
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
        artifacts={
            "dataset": MODELS[model],
            "security": str(ctx.security),
            "notes": list(compiled.notes),
            "workload": w.tag(),
        },
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
