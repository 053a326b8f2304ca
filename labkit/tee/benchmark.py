"""Measured costs of what the simulation really does, against plaintext inference.

Three measurements, all on this machine, in this run:

- :func:`attestation_latency`: quote generation (enclave report over the pipe +
  platform signature), appraisal (certificate chain + signature + policy), key
  release (appraisal + hybrid wrap) and key installation (unwrap in the enclave);
- :func:`boundary_overhead`: attested, encrypted inference through the enclave
  process (AES-GCM both ways, two pipe crossings, JSON framing) against the same
  MLP forward pass in the host in the clear, interleaved, by batch size;
- :func:`benchmark`: both, plus the modelled hardware curve: what ``labkit bench tee`` runs.

None of these is hardware TEE overhead: they are the costs of attestation,
key release and crossing an encrypted process boundary, which real deployments
pay too (ECALL/OCALL transitions, TLS into the enclave), on top of the modelled
memory-encryption and paging costs in :mod:`labkit.tee.costs`.

References
----------
Weisse, Bertacco, Austin, "Regaining Lost Cycles with HotCalls", ISCA 2017 (ECALL/OCALL transition costs).
"""

from __future__ import annotations

import json
import os

import numpy as np
from tqdm.auto import tqdm

from .. import bench, config, results, validate
from ..errors import InvalidInput
from . import model as M
from . import primitives as P
from . import workload as W

SIM_FLAG = "simulated TEE: measured costs of the simulation's protocol, not of TEE hardware"
POINTS = ((1, 32), (8, 32), (64, 32), (450, 32), (64, 512), (64, 2048))
"""(batch_size, hidden) points of the boundary sweep: the batch at the trained width, then the width at batch 64."""
FAST_POINTS = ((1, 32), (64, 32), (450, 32), (64, 2048))
"""The sweep's points in fast mode."""


def attestation_latency(*, scheme: str = "ecdsa-p256", repeat: int | None = None, dep=None) -> results.Result:
    """Time each step of attested key release (medians over ``repeat`` runs).

    Parameters
    ----------
    scheme : {"ecdsa-p256", "ml-dsa-65"}
        Signature scheme of the vendor chain and quotes.
    repeat : int, optional
        Runs per step (20; 5 in fast mode).
    dep : Deployment, optional
        A provisioned deployment to time (one is made and closed if omitted).

    Returns
    -------
    Result
        timings ``quote``, ``appraise``, ``release`` (appraise + wrap), ``install`` (unwrap in the
        enclave, over the pipe) and ``attested_key_release`` (all of them, end to end);
        metrics hold the medians in milliseconds and the quote size in bytes.
    """
    from .lifecycle import deploy

    n = config.pick(20, 5) if repeat is None else validate.integer("repeat", repeat)
    own = dep is None
    dep = deploy(scheme=scheme, query_budget=10**9) if own else dep
    try:
        ks, enc = dep.key_service, dep.enclave
        quotes = []

        def quote():
            nonce = ks.challenge()
            quotes.append((enc.quote(nonce), nonce))

        t_quote = bench.measure(quote, name="quote", repeat=n, warmup=0)
        pending = list(quotes)
        t_appraise = bench.measure(lambda: ks.verifier.appraise(*pending.pop()), name="appraise", repeat=n, warmup=0)
        for _ in range(n + 1):
            quote()
        pending = quotes[-(n + 1) :]
        released = []
        t_release = bench.measure(
            lambda: released.append(ks.release("model", *pending.pop())), name="release", repeat=n, warmup=1
        )
        t_install = bench.measure(
            lambda: enc.install_key("model", released.pop().wrapped), name="install", repeat=n, warmup=1
        )

        def end_to_end():
            nonce = ks.challenge()
            rel = ks.release("model", enc.quote(nonce), nonce)
            enc.install_key("model", rel.wrapped)

        t_all = bench.measure(end_to_end, name="attested_key_release", repeat=n, warmup=1)
        qsize = len(quotes[0][0].to_bytes())
    finally:
        if own:
            dep.close()
    timings = {t.name: t for t in (t_quote, t_appraise, t_release, t_install, t_all)}
    res = results.Result(
        technique="tee",
        name="attestation_latency",
        params={"scheme": scheme, "repeat": n},
        metrics={**{f"{k}_ms": t.median * 1e3 for k, t in timings.items()}, "quote_bytes": qsize},
        timings=timings,
    )
    return res.flag(SIM_FLAG)


def boundary_overhead(*, batch_size: int = 1, hidden: int = 32, repeat: int | None = None, dep=None) -> results.Result:
    """Encrypted inference through the enclave process vs plaintext inference in the host.

    Parameters
    ----------
    batch_size : int
        Images per request (1..450).
    hidden : int
        Hidden width of the served model (compute per image; see ``model.widen``).
    repeat : int, optional
        Interleaved pairs to time (auto when None).

    Both sides use one BLAS thread (the enclave process is started that way), so the ratio
    compares the same arithmetic and isolates the boundary: encryption, framing, two pipe crossings.

    Returns
    -------
    Result
        ``metrics["overhead"]`` = enclave time / plaintext time (median), with its IQR,
        ``per_image_enclave_us`` and ``per_image_plaintext_us``, ``labels_agree``, and the
        split of the extra time: ``crypto_framing_us`` (AES-GCM and JSON framing of request and
        reply, timed in-process) and ``crossing_us`` (the rest: two pipe crossings and the
        wait for the enclave process to be scheduled).
    """
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    from .lifecycle import deploy

    validate.integer("batch_size (images of the digits test set)", batch_size, low=1, high=450)
    own = dep is None
    dep = deploy(query_budget=10**9, hidden=hidden) if own else dep
    if dep.params["W1"].shape[1] != hidden:
        raise InvalidInput(f"dep serves a model of width {dep.params['W1'].shape[1]}, not hidden={hidden}.")
    try:
        X, _ = M.test_levels(batch_size)
        agree = bool(np.array_equal(dep.client.infer(dep.enclave, X), M.plaintext_predict(dep.params, X)))
        table, levels, params = W.dequant_table(), X.astype(np.int64), dep.params

        def baseline():  # exactly the enclave's arithmetic (same decode, same forward), in the clear, in-process
            return np.argmax(W.forward(params, W.decode_leaky(levels, table)), axis=1)

        with threadpool_limits(limits=1):  # the enclave runs one BLAS thread; so does the baseline
            ov = bench.overhead(
                lambda: dep.client.infer(dep.enclave, X),
                baseline,
                repeat=repeat,
                names=("enclave inference", "plaintext inference"),
            )
        framing = bench.measure(_crypto_and_framing(X, baseline()), name="crypto and framing", repeat=repeat)
    finally:
        if own:
            dep.close()
    res = results.Result(
        technique="tee",
        name="boundary_overhead",
        params={"batch_size": batch_size, "hidden": hidden},
        metrics={
            "labels_agree": int(agree),
            "per_image_enclave_us": ov.candidate.median / batch_size * 1e6,
            "per_image_plaintext_us": ov.baseline.median / batch_size * 1e6,
            "crypto_framing_us": framing.median * 1e6,
            "crossing_us": (ov.candidate.median - ov.baseline.median - framing.median) * 1e6,
        },
        timings={"crypto_and_framing": framing},
    )
    res.add_overhead("overhead", ov)
    return res.flag(SIM_FLAG)


def _crypto_and_framing(X: np.ndarray, labels: np.ndarray):
    """Both sides' encryption and framing for one request and its reply, without the process crossing."""
    key, seq = os.urandom(32), (1).to_bytes(8, "big")

    def run():
        req = json.dumps({"op": "infer", "seq": 1, "ciphertext": P.aead_seal(key, X.tobytes(), b"req" + seq).hex()})
        inner = P.aead_open(key, bytes.fromhex(json.loads(req)["ciphertext"]), b"req" + seq)
        rep = json.dumps(
            {
                "ok": True,
                "reply": {"ciphertext": P.aead_seal(key, labels.astype(np.uint8).tobytes(), b"resp" + seq).hex()},
            }
        )
        P.aead_open(key, bytes.fromhex(json.loads(rep)["reply"]["ciphertext"]), b"resp" + seq)
        return inner

    return run


def boundary_sweep(
    *,
    points=None,
    repeat: int | None = None,
    store: results.ResultStore | None = None,
    progress: bool = True,
) -> list[results.Result]:
    """:func:`boundary_overhead` over (batch_size, hidden) points; points already in ``store`` are reused.

    Parameters
    ----------
    points : sequence of (int, int), optional
        (batch_size, hidden) points; default :data:`POINTS` (:data:`FAST_POINTS` in fast mode). They
        vary the batch at the trained width, then the width at batch 64: the first shows the fixed
        cost per crossing, the second how compute per byte hides it.
    repeat : int, optional
        Interleaved pairs per point (auto when None).
    store : ResultStore, optional
        Where each measured point is stored as soon as it is measured (so a run resumes).
    progress : bool
        Show a progress bar over the model widths to measure.

    Returns
    -------
    list of Result
        One ``boundary_overhead`` Result per point, in the order given.
    """
    from .lifecycle import deploy

    pts = [tuple(p) for p in (points or config.pick(POINTS, FAST_POINTS))]
    found = {}
    for b, h in pts:
        found[(b, h)] = store.latest("tee", "boundary_overhead", {"batch_size": b, "hidden": h}) if store else None
    todo = [p for p in pts if found[p] is None]
    widths = sorted({h for _, h in todo})
    for hidden in tqdm(widths, desc="boundary overhead (model widths)", disable=not (progress and todo)):
        with deploy(query_budget=10**9, hidden=hidden) as dep:
            for b, h in todo:
                if h == hidden:
                    found[(b, h)] = boundary_overhead(batch_size=b, hidden=h, repeat=repeat, dep=dep)
                    if store is not None:
                        store.add(found[(b, h)])
    return [found[p] for p in pts]


def benchmark(*, store: results.ResultStore, progress: bool = False) -> list[results.Result]:
    """The ``labkit bench tee`` set: attestation latency (both schemes), boundary sweep, modelled curve.

    Fast mode shrinks it here: 5 runs per attestation step instead of 20, four sweep points instead of six.
    Boundary points already in ``store`` are reused (each is stored as it is measured, so an
    interrupted run resumes); the registry stores the rest of the returned Results.

    Returns
    -------
    list of Result
        Two ``attestation_latency``, the ``boundary_overhead`` points, one ``modelled_hardware_overhead``.
    """
    from .costs import modelled_overhead

    repeat, points = config.pick(20, 5), config.pick(POINTS, FAST_POINTS)
    out = [attestation_latency(scheme=s, repeat=repeat) for s in ("ecdsa-p256", "ml-dsa-65")]
    out += boundary_sweep(points=points, store=store, progress=progress)
    out.append(modelled_overhead())
    return out


def format_report(rs: list[results.Result]) -> str:
    """The attestation and boundary Results as plain text, one line each (others as ``str(result)``)."""
    lines = []
    for r in rs:
        if r.name == "attestation_latency":
            m = r.metrics
            lines.append(
                f"attestation [{r.params['scheme']}]: quote {m['quote_ms']:.2f} ms, appraise "
                f"{m['appraise_ms']:.2f} ms, release {m['release_ms']:.2f} ms, install {m['install_ms']:.2f} ms, "
                f"end to end {m['attested_key_release_ms']:.2f} ms, quote {m['quote_bytes']} B"
            )
        elif r.name == "boundary_overhead":
            lines.append(
                f"boundary batch {r.params['batch_size']:>3} hidden {r.params['hidden']:>4}: "
                f"{bench.format_ratio(r.metrics['overhead'])} "
                f"(IQR {r.metrics['overhead_low']:.3g}-{r.metrics['overhead_high']:.3g}); per image "
                f"{r.metrics['per_image_enclave_us']:.1f} us vs {r.metrics['per_image_plaintext_us']:.1f} us; "
                f"per request: crypto+framing {r.metrics['crypto_framing_us']:.0f} us, crossing "
                f"{r.metrics['crossing_us']:.0f} us"
            )
        else:
            lines.append(str(r))
    return "\n".join(lines)
