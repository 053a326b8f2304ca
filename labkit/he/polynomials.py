"""Polynomials for CKKS: least-squares fits of activations, powers at least depth, a completed square.

References
----------
Hesamifard, Takabi & Ghasemi, "CryptoDL", arXiv:1711.05189 (least-squares
polynomial activations). Trefethen, "Approximation Theory and Approximation
Practice", SIAM 2013 (least squares in the Chebyshev basis).
Gilad-Bachrach et al., "CryptoNets", ICML 2016 (square activations).
"""

from __future__ import annotations

import math

import numpy as np

_GRID = 2001
_SAMPLES = 20000  # training pre-activations used by a fit (evenly subsampled)
GRID_WEIGHT = 0.05  # share of a fit's weight on a uniform grid over the range (the rest on the data)


def power_depth(k: int) -> int:
    """Levels to compute y^k from y by squarings and products: ceil(log2 k).

    >>> [power_depth(k) for k in (1, 2, 3, 4, 5, 8)]
    [0, 1, 2, 2, 3, 3]
    """
    return math.ceil(math.log2(k)) if k > 1 else 0


def power_recipe(k: int) -> tuple[int, int]:
    """(a, b) with y^k = y^a * y^b and the least depth: y^(k/2) squared, or the top power of two times the rest."""
    if k & (k - 1) == 0:
        return k // 2, k // 2
    top = 1 << (k.bit_length() - 1)
    return top, k - top


def power_chain(wanted) -> list[int]:
    """The powers above 1 to compute, in order, to have every power in ``wanted`` (by :func:`power_recipe`).

    >>> power_chain([4]), power_chain([1, 2, 3]), power_chain([7])
    ([2, 4], [2, 3], [2, 3, 4, 7])
    """
    needed: set[int] = set()
    stack = [k for k in wanted if k > 1]
    while stack:
        k = stack.pop()
        if k > 1 and k not in needed:
            needed.add(k)
            stack.extend(power_recipe(k))
    return sorted(needed)


def powers_of(y: np.ndarray, wanted) -> dict[int, np.ndarray]:
    """{k: y**k} for each k in ``wanted`` (numpy), computed with the recipe HE uses."""
    have = {1: y}
    for k in power_chain(wanted):
        a, b = power_recipe(k)
        have[k] = have[a] * have[b]
    return {k: have[k] for k in wanted}


def fit_activation(fn: str, lo: float, hi: float, degree: int, *, samples=None) -> np.ndarray:
    """Least-squares polynomial (coefficients lowest first) of activation ``fn`` on [lo, hi].

    With ``samples`` (pre-activations seen on the training data) the squares are weighted by
    where the data lie, and a uniform grid over [lo, hi] carries :data:`GRID_WEIGHT` of the
    weight so the polynomial stays close over the whole range.

    >>> c = fit_activation("relu", -1.0, 1.0, 2)
    >>> np.round(c, 3).tolist()
    [0.094, 0.5, 0.469]
    >>> fit_activation("square", -3.0, 3.0, 2).tolist()
    [0.0, 0.0, 1.0]
    """
    from ..workload.layers import activate

    if fn == "square":
        return np.array([0.0, 0.0, 1.0])
    if not hi > lo:
        lo, hi = lo - 1.0, hi + 1.0
    points = np.linspace(lo, hi, _GRID)
    weights = np.ones(_GRID)
    if samples is not None and np.size(samples):
        data = np.asarray(samples, dtype=np.float64).ravel()
        if data.size > _SAMPLES:
            data = data[:: math.ceil(data.size / _SAMPLES)]
        points = np.concatenate([points, data])
        weights = np.concatenate([np.full(_GRID, GRID_WEIGHT * data.size / _GRID), np.ones(data.size)])
    values = activate(fn, points[:, None])[:, 0]
    cheb = np.polynomial.Chebyshev.fit(points, values, degree, domain=[lo, hi], w=np.sqrt(weights))
    coef = cheb.convert(kind=np.polynomial.Polynomial).coef
    coef[np.abs(coef) < 1e-12 * np.max(np.abs(coef))] = 0.0  # rounding noise (an odd fit's even terms): no work
    return coef


def complete_square(coef: np.ndarray, lo: float, hi: float) -> tuple[float, np.ndarray]:
    """For degree 2: (s, [k, 0, c2]) with c0 + c1 y + c2 y^2 = c2 (y + s)^2 + k; else (0, coef).

    The shift is refused (kept at 0) when it would move values far beyond the fitted range.
    """
    if len(coef) != 3 or coef[2] == 0.0:
        return 0.0, coef
    shift = coef[1] / (2 * coef[2])
    if abs(shift) > 4 * max(abs(lo), abs(hi), 1e-9):
        return 0.0, coef
    return float(shift), np.array([coef[0] - coef[1] ** 2 / (4 * coef[2]), 0.0, coef[2]])
