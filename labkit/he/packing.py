"""A compiled plan (:mod:`labkit.he.compiler`) evaluated on ciphertexts, in two packings.

- ``single``: one sample per ciphertext, replicated across the slots; each
  block of a stage is a matrix-vector product by the diagonal method
  (:func:`labkit.he.linalg.matvec`, baby-step giant-step, encoded diagonals
  cached on the context). Latency.
- ``batched``: SIMD across samples (CryptoNets): ciphertext j holds value j
  of up to N/2 samples; each output of a stage is a weighted sum over the
  *nonzero* weights of its row of the stage's sparse matrix (a convolution
  row has kernel-size terms, not the whole image). No rotation at all.
  Throughput.

Both run the same stages as :meth:`Plan.simulate`, so the plaintext polynomial
model and the encrypted one differ only by CKKS's approximation error. Each
pass is split in the protocol's phases: the client encrypts, the server
evaluates, the client decrypts; ``phases`` (a dict) receives each one's time.

References
----------
Gilad-Bachrach et al., "CryptoNets", ICML 2016 (SIMD packing across samples).
Halevi & Shoup, "Algorithms in HElib", CRYPTO 2014 (diagonal method).
Brutzkus, Oren & Gilad-Bachrach, "LoLa", ICML 2019 (single-sample latency).
"""

from __future__ import annotations

import time

import numpy as np

from .compiler import Plan
from .polynomials import power_chain, power_recipe

MODES = ("single", "batched")


def _record(phases: dict | None, t0: float, t1: float, t2: float, t3: float) -> None:
    if phases is not None:
        for name, seconds in (("encrypt", t1 - t0), ("evaluate", t2 - t1), ("decrypt", t3 - t2)):
            phases.setdefault(name, []).append(seconds)


class Drift:
    """How far each rescale moves a value, per level, so the evaluators can compensate.

    SEAL tracks every ciphertext's exact scale, so nothing drifts there. OpenFHE's
    FIXEDMANUAL scaling assumes every prime equals the scale 2^p; a rescale by the real
    prime q_l multiplies the value by rho_l = 2^p / q_l (about 1% at p = 24, N = 8192).
    rho_l is measured once per level (a product by 1.0 and a rescale, decrypted and
    averaged over the slots); the evaluators then divide each weight by the drift of its
    input times rho_l, so every affine output has no drift and its bias adds exactly.
    """

    def __init__(self, ctx):
        self.ctx = ctx
        self.rho = [1.0] * (ctx.depth + 1)
        if ctx.backend == "openfhe" and ctx.scheme == "ckks":
            impl = ctx.impl
            ones = impl.encrypt(np.ones(ctx.slots))
            for level in range(ctx.depth):
                ct = impl.drop_levels(ones, level) if level else ones
                self.rho[level] = float(np.mean(impl.decrypt(impl.multiply_plain(ct, np.asarray(1.0)))))

    def level(self, ct) -> int:
        """Rescales the ciphertext has gone through."""
        return self.ctx.depth - self.ctx.levels_left(ct)

    def product(self, a, fa: float, b, fb: float) -> float:
        """The drift of ``a * b`` (ciphertexts with drifts ``fa``, ``fb``)."""
        return fa * fb * self.rho[max(self.level(a), self.level(b))]


def _powers(ctx, y, wanted, drift: Drift) -> tuple[dict, dict]:
    """({k: y^k}, {k: drift of y^k}) for one ciphertext, by the compiler's recipe (depth ceil(log2 k)).

    Iterative on purpose: a recursive closure would form a reference cycle holding the
    ciphertexts until the garbage collector runs (never, while a benchmark has it off).
    """
    have, drifts = {1: y}, {1: 1.0}
    for k in power_chain(wanted):
        a, b = power_recipe(k)  # a, b < k: already computed
        have[k] = ctx.multiply(have[a], have[a]) if a == b else ctx.multiply(have[a], have[b])
        drifts[k] = drift.product(have[a], drifts[a], have[b], drifts[b])
    return {k: have[k] for k in wanted}, {k: drifts[k] for k in wanted}


# -- one sample per ciphertext -------------------------------------------------------------------------------
def dense_blocks(plan: Plan) -> list[list[tuple[int, np.ndarray]]]:
    """Each stage's blocks as dense (in x out) arrays, the layout the diagonal method takes."""
    return [[(k, np.ascontiguousarray(m.T.toarray())) for k, m in s.blocks] for s in plan.stages]


def evaluate_single(ctx, plan: Plan, ct, dense=None, drift: Drift | None = None, gathered=None):
    """The plan on one replicated ciphertext (or, with ``gathered``, the client's gathered taps)."""
    from .linalg import matvec

    dense = dense if dense is not None else dense_blocks(plan)
    drift = drift or Drift(ctx)
    values, drifts = {1: ct}, {1: 1.0}
    out = ct
    for index, (stage, blocks) in enumerate(zip(plan.stages, dense)):
        if index == 0 and gathered is not None:
            out = gathered.evaluate(ctx, ct, drift)
        else:
            out = None
            for k, matrix in blocks:
                factor = drifts[k] * drift.rho[drift.level(values[k])]
                term = matvec(ctx, values[k], matrix if factor == 1.0 else matrix / factor)
                out = term if out is None else out + term
        out = out + stage.bias
        values, drifts = _powers(ctx, out, stage.powers, drift) if stage.powers else ({}, {})
    if plan.final_poly is not None:
        out = out.polyval(plan.final_poly)
    return out


class Gathered:
    """The first stage as per-tap products: the client encrypts, for each tap t, the input value
    each output reads at t (``x[cols[t]]``), so the server needs no rotation there.

    A convolution's row reads only kernel-size inputs; T such taps (25 for a 5x5 kernel)
    cost T plaintext products, where the diagonal method on the padded 1024 x 1024 matrix
    costs about a thousand products and 60 rotations. This is the client-side layout LoLa
    uses for a first convolution; any first stage whose rows have few nonzeros qualifies.

    References
    ----------
    Brutzkus, Oren & Gilad-Bachrach, "LoLa", ICML 2019 (convolution representation).
    """

    def __init__(self, matrix):
        matrix = matrix.tocsr()
        n_out = matrix.shape[0]
        counts = np.diff(matrix.indptr)
        taps = int(counts.max()) if n_out else 0
        self.cols = np.zeros((taps, n_out), dtype=np.int64)
        self.weights = np.zeros((taps, n_out))
        for i in range(n_out):
            lo, hi = matrix.indptr[i], matrix.indptr[i + 1]
            self.cols[: hi - lo, i] = matrix.indices[lo:hi]
            self.weights[: hi - lo, i] = matrix.data[lo:hi]
        self.n_out = n_out
        self.encoded: dict = {}

    @staticmethod
    def worth_it(plan: Plan, slots_row: int) -> bool:
        """True when the first stage's taps are far fewer than the diagonals the matrix method needs."""
        stage = plan.stages[0]
        matrix = stage.blocks[0][1].tocoo()
        p_in = 1 << (stage.n_in - 1).bit_length()
        p_out = 1 << (stage.n_out - 1).bit_length()
        if p_out > slots_row or len(stage.blocks) != 1:
            return False
        diagonals = len(np.unique((matrix.col - matrix.row) % p_in)) if matrix.nnz else 0
        taps = int(np.diff(stage.blocks[0][1].tocsr().indptr).max())
        return 4 * taps < min(diagonals, p_out, p_in)

    def encrypt(self, ctx, x: np.ndarray) -> list:
        """The client's ciphertexts: one per tap, replicated (period: the output size's power of two)."""
        flat = np.asarray(x, dtype=np.float64).ravel()
        return [ctx.encrypt(flat[cols] * (w != 0), replicate=True) for cols, w in zip(self.cols, self.weights)]

    def evaluate(self, ctx, cts: list, drift: Drift):
        """sum_t ct_t * w_t (plaintext vectors, encoded once per level), one rescale."""
        impl = ctx.impl
        key = impl.level_key(cts[0].raw)
        factor = drift.rho[drift.level(cts[0])]
        if key not in self.encoded:
            period = cts[0].period
            self.encoded[key] = [
                impl.encode_like(np.tile(np.pad(w / factor, (0, period - len(w))), ctx.slots // period), cts[0].raw)
                if np.any(w)
                else None
                for w in self.weights
            ]
        acc = None
        for ct, pt in zip(cts, self.encoded[key]):
            if pt is None:
                continue
            term = impl.multiply_encoded(ct.raw, pt, rescale=False)
            acc = term if acc is None else impl.add(acc, term)
        used = cts[0].used + 1
        return cts[0].derive(impl.rescale(acc), length=self.n_out, used=used)


def forward_single(
    ctx,
    plan: Plan,
    x: np.ndarray,
    phases: dict | None = None,
    dense=None,
    drift: Drift | None = None,
    gathered: Gathered | None = None,
) -> np.ndarray:
    """One sample: encrypt (replicated, or the gathered taps), evaluate, decrypt the outputs."""
    t0 = time.perf_counter()
    if gathered is not None:
        ct = gathered.encrypt(ctx, x)
    else:
        ct = ctx.encrypt(np.asarray(x, dtype=np.float64).ravel(), replicate=True)
    t1 = time.perf_counter()
    out = evaluate_single(ctx, plan, ct, dense, drift, gathered)
    t2 = time.perf_counter()
    values = ctx.decrypt(out)
    _record(phases, t0, t1, t2, time.perf_counter())
    return values


# -- one slot per sample ----------------------------------------------------------------------------------
def sparse_rows(plan: Plan) -> list[list[tuple[np.ndarray, np.ndarray]]]:
    """Each stage's rows as (input indices, weights) over the nonzero weights.

    Inputs are numbered power-major: index p * n_in + j is power ``blocks[p]`` of input j.
    """
    from scipy import sparse

    out = []
    for s in plan.stages:
        joined = sparse.hstack([m for _, m in s.blocks], format="csr")
        joined.eliminate_zeros()
        rows = []
        for i in range(joined.shape[0]):
            lo, hi = joined.indptr[i], joined.indptr[i + 1]
            rows.append((joined.indices[lo:hi].copy(), joined.data[lo:hi].copy()))
        out.append(rows)
    return out


def evaluate_batched(ctx, plan: Plan, cols: list, rows=None, drift: Drift | None = None) -> list:
    """The plan on one ciphertext per input value; returns one ciphertext per output.

    Memory is streamed: ``cols`` is emptied once the first stage has read it, and each
    output's powers are taken as soon as it is computed (the output itself is kept only
    when the next stage reads power 1), so at most one stage's inputs and outputs live
    at once (the peak :func:`labkit.he.planner.cost` estimates).
    """
    rows = rows if rows is not None else sparse_rows(plan)
    drift = drift or Drift(ctx)
    values, drifts = {1: cols}, {1: 1.0}
    outs = cols
    for stage, stage_rows in zip(plan.stages, rows):
        inputs = [ct for k, _ in stage.blocks for ct in values[k]]
        count = len(values[stage.blocks[0][0]])
        values.clear()
        cols.clear()  # the caller's input ciphertexts: read, no longer needed
        inputs = ctx.align(inputs)  # one level for all: no per-product level switch
        rho = drift.rho[drift.level(inputs[0])]
        per_input = np.repeat([1.0 / (drifts[k] * rho) for k, _ in stage.blocks], count)
        powers = {k: [] for k in stage.powers}
        outs = []
        for (idx, weights), b in zip(stage_rows, stage.bias):
            if len(idx) == 0:  # a row without weights: the bias alone
                out = ctx.linear_combination(inputs[:1], [0.0], float(b))
            else:
                out = ctx.linear_combination([inputs[j] for j in idx], weights * per_input[idx], float(b))
            if not stage.powers:
                outs.append(out)
                continue
            taken, drifts = _powers(ctx, out, stage.powers, drift)
            for k, ct in taken.items():
                powers[k].append(ct)
        del inputs
        values = powers
    if plan.final_poly is not None:
        outs = [o.polyval(plan.final_poly) for o in outs]
    return outs


def forward_batched(
    ctx, plan: Plan, xb: np.ndarray, phases: dict | None = None, rows=None, drift: Drift | None = None
) -> np.ndarray:
    """Many samples (at most N/2): encrypt one ciphertext per input value, evaluate, decrypt (samples, outputs)."""
    flat = np.asarray(xb, dtype=np.float64).reshape(len(xb), -1)
    t0 = time.perf_counter()
    cols = [ctx.encrypt(flat[:, j]) for j in range(flat.shape[1])]
    t1 = time.perf_counter()
    outs = evaluate_batched(ctx, plan, cols, rows, drift)
    del cols
    t2 = time.perf_counter()
    values = np.stack([ctx.decrypt(o) for o in outs], axis=1)
    _record(phases, t0, t1, t2, time.perf_counter())
    return values


class Runner:
    """A plan bound to a context and a packing, its weight layouts prepared once.

    >>> # runner = Runner(ctx, plan, "batched"); runner(X[:100])  -> (100, outputs)
    """

    def __init__(self, ctx, plan: Plan, mode: str):
        self.ctx, self.plan, self.mode = ctx, plan, mode
        self.layout = dense_blocks(plan) if mode == "single" else sparse_rows(plan)
        self.drift = Drift(ctx)
        self.gathered = None
        if mode == "single" and Gathered.worth_it(plan, ctx.impl.row):
            self.gathered = Gathered(plan.stages[0].blocks[0][1])

    def __call__(self, X: np.ndarray, phases: dict | None = None) -> np.ndarray:
        """Outputs of the encrypted plan on ``X`` (single: one sample at a time)."""
        if self.mode == "batched":
            return forward_batched(self.ctx, self.plan, X, phases, self.layout, self.drift)
        return np.stack(
            [forward_single(self.ctx, self.plan, x, phases, self.layout, self.drift, self.gathered) for x in X]
        )


def backend_threads(ctx) -> int:
    """Threads the backend computes with: 1 for SEAL, OpenFHE's fixed count (1 if unknown)."""
    if ctx.backend != "openfhe":
        return 1
    from .openfhe_backend import threads

    return threads() or 1


def timed_with_matched_threads(candidate, baseline, ctx, **kw):
    """:func:`labkit.bench.overhead` (interleaved, no warm-up) with numpy's BLAS held to the backend's threads.

    SEAL runs single-threaded and OpenFHE with its fixed OpenMP count; letting the plaintext
    baseline use every core would inflate the overhead ratio.
    """
    from .. import bench

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        return bench.overhead(candidate, baseline, warmup=0, **kw)
    with threadpool_limits(limits=backend_threads(ctx), user_api="blas"):
        return bench.overhead(candidate, baseline, warmup=0, **kw)
