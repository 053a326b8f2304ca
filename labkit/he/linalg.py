"""Encrypted linear algebra on top of the one API: matrix-vector products and polynomials.

These are algorithms built on the libraries' primitives (rotation, plaintext
product, addition), the same code for SEAL and OpenFHE, so a workload-level
comparison of the two backends runs identical operation sequences.

Matrix-vector product (diagonal method, baby-step giant-step). The input
vector x of length n is replicated across the slots with period n' (the next
power of two). For a matrix W (n x m, padded to n' x m'), diagonal i is
d_i[k] = W[(k + i) mod n', k mod m'], and

    z = sum_g rot( sum_b rot(d_{gB+b}, -gB) * rot(x, b), gB ),

so z[k] = (x @ W)[k mod m']: the output is again replicated, with period m',
ready for the next layer. It costs B - 1 + G - 1 rotations (B*G = n'), n'
plaintext products and one multiplicative level. A narrowing layer (m' < n')
needs only the first m' diagonals (B*G = m'): each slot then holds a partial
sum over m' of the n' inputs, and log2(n'/m') rotate-and-add steps fold them
together (64 -> 32 costs 7 + 3 + 1 rotations instead of 7 + 7).

References
----------
Halevi & Shoup, "Algorithms in HElib", CRYPTO 2014; "Faster Homomorphic Linear
Transformations in HElib", CRYPTO 2018 (baby-step giant-step).
Juvekar, Vaikuntanathan & Chandrakasan, "GAZELLE", USENIX Security 2018.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from ..errors import InvalidInput
from .security import polynomial_depth, require_depth


def _next_pow2(n: int) -> int:
    return 1 << (n - 1).bit_length()


def _check_matrix(ctx, matrix) -> np.ndarray:
    try:
        w = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput("the matrix must be numbers (a 2-D array).") from None
    if w.ndim != 2 or w.size == 0:
        raise InvalidInput(f"the matrix must be 2-D (inputs x outputs), not shape {w.shape}.")
    if not np.all(np.isfinite(w)):
        raise InvalidInput("the matrix contains NaN or inf.")
    if ctx.scheme != "ckks":
        if not np.all(w == np.round(w)):
            raise InvalidInput(f"{ctx.scheme.upper()} matrices must hold integers; use CKKS for real weights.")
        w = w.astype(np.int64)
    return w


def bsgs_split(n: int) -> tuple[int, int]:
    """Baby and giant step counts (B, G) with B * G = n (a power of two) and B >= G.

    >>> bsgs_split(64), bsgs_split(32), bsgs_split(1)
    ((8, 8), (8, 4), (1, 1))
    """
    baby = 1 << math.ceil(math.log2(n) / 2) if n > 1 else 1
    return baby, n // baby


_CACHE_LIMIT = 4096  # encoded diagonals kept per context (a few hundred KB each at N=8192)


def _encoded_diagonals(ctx, ct, w, p_in, p_out, baby, giant) -> list:
    """Pre-rotated, encoded diagonals of ``w`` at ``ct``'s level, cached on the context.

    Model weights are fixed, so a server encodes them once; repeated products reuse them.
    """
    impl = ctx.impl
    cache = ctx.plaintext_cache
    key = (hashlib.sha256(w.tobytes()).hexdigest(), w.shape, p_in, impl.level_key(ct.raw))
    if key in cache:
        return cache[key]
    padded = np.zeros((p_in, p_out), dtype=w.dtype)
    padded[: w.shape[0], : w.shape[1]] = w
    k = np.arange(impl.row)
    reps = ctx.slots // impl.row
    encoded = []
    for g in range(giant):
        for b in range(baby):
            diag = padded[(k + g * baby + b) % p_in, k % p_out]
            encoded.append(impl.encode_like(np.tile(np.roll(diag, g * baby), reps), ct.raw) if diag.any() else None)
    if sum(len(v) for v in cache.values()) + len(encoded) > _CACHE_LIMIT:
        cache.clear()
    cache[key] = encoded
    return encoded


def matvec(ctx, ct, matrix):
    """``x @ matrix`` for a replicated encrypted vector x; see the module docstring."""
    w = _check_matrix(ctx, matrix)
    n_in, n_out = w.shape
    if ct.period is None:
        raise InvalidInput("matmul needs the vector encrypted with replicate=True (copies across the slots).")
    if n_in > ct.period or n_in < ct.length:
        raise InvalidInput(f"the matrix has {n_in} rows but the encrypted vector has length {ct.length}.")
    impl = ctx.impl
    p_in, p_out = ct.period, _next_pow2(n_out)
    if p_out > impl.row:
        raise InvalidInput(f"{n_out} outputs do not fit one ciphertext row of {impl.row} slots.")
    if ctx.scheme == "ckks":
        require_depth(1, ctx.levels_left(ct), what="this matrix product")
    baby, giant = bsgs_split(min(p_in, p_out))  # a narrowing layer needs only p_out diagonals
    diagonals = _encoded_diagonals(ctx, ct, w, p_in, p_out, baby, giant)
    rotated = [ct.raw] + [impl.rotate(ct.raw, b) for b in range(1, baby)]
    total = None
    for g in range(giant):
        inner = None
        for b in range(baby):
            pt = diagonals[g * baby + b]
            if pt is None:
                continue
            term = impl.multiply_encoded(rotated[b], pt, rescale=False)
            inner = term if inner is None else impl.add(inner, term)
        if inner is None:
            continue
        inner = impl.rescale(inner)
        if g:
            inner = impl.rotate(inner, g * baby)
        total = inner if total is None else impl.add(total, inner)
    if total is None:  # an all-zero matrix
        total = impl.multiply_plain(ct.raw, np.zeros(ctx.slots, dtype=w.dtype))
    step = p_out
    while step < p_in:  # fold the p_in / p_out partial sums together
        total = impl.add(total, impl.rotate(total, step))
        step *= 2
    used = ct.used + (ctx.scheme == "ckks")
    return ct.derive(total, length=n_out, used=used, period=p_out)


def polyval(ctx, ct, coefficients):
    """c0 + c1 x + ... + cd x^d slot-wise, with depth floor(log2 d) + 1 (see security.polynomial_depth)."""
    try:
        c = np.asarray(coefficients, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput("coefficients must be numbers, lowest degree first.") from None
    if c.ndim != 1 or c.size < 2 or not np.all(np.isfinite(c)):
        raise InvalidInput("coefficients must be a finite 1-D sequence [c0, c1, ..., cd] with d >= 1.")
    degree = int(np.max(np.nonzero(c)[0])) if np.any(c[1:]) else 1
    require_depth(polynomial_depth(degree), ctx.levels_left(ct), what=f"a degree-{degree} polynomial")
    powers = {1: ct}
    step = 1
    while step * 2 <= degree:
        powers[step * 2] = powers[step] * powers[step]
        step *= 2
    result = None
    for k in range(1, degree + 1):
        if c[k] == 0:
            continue
        bits = [1 << j for j in range(k.bit_length()) if k >> j & 1]
        term = powers[bits[0]] * float(c[k])
        for b in bits[1:]:
            term = term * powers[b]
        result = term if result is None else result + term
    if result is None:
        result = ct * 0.0
    return result + float(c[0]) if c[0] != 0 else result
