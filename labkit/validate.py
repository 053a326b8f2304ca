"""Checks of a lab function's arguments, shared by every lab.

Each check returns the value in its plain Python (or numpy) type, or raises
:class:`~labkit.errors.InvalidInput` with a sentence naming the argument,
what it must be, and what it was, before any work runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, TypeVar

import numpy as np

from .errors import InvalidInput

T = TypeVar("T")


def number(name: str, value: Any) -> float:
    """A finite real number (bools refused).

    >>> number("lr", 0.5)
    0.5
    >>> number("lr", "fast")
    Traceback (most recent call last):
    ...
    labkit.errors.InvalidInput: lr must be a number, not 'fast'.
    """
    if isinstance(value, bool):
        raise InvalidInput(f"{name} must be a number, not {value!r}.")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be a number, not {value!r}.") from None
    if not math.isfinite(v):
        raise InvalidInput(f"{name} must be a finite number, not {value!r}.")
    return v


def positive(name: str, value: Any, *, high: float = math.inf) -> float:
    """A number above 0 (and at most ``high``).

    >>> positive("sigma", 2)
    2.0
    >>> positive("delta", 1.5, high=1)
    Traceback (most recent call last):
    ...
    labkit.errors.InvalidInput: delta must be a positive number up to 1, not 1.5.
    """
    v = number(name, value)
    if v <= 0 or v > high:
        bound = "" if high == math.inf else f" up to {high:g}"
        raise InvalidInput(f"{name} must be a positive number{bound}, not {value!r}.")
    return v


def non_negative(name: str, value: Any, *, high: float = math.inf) -> float:
    """A number of at least 0 (and at most ``high``).

    >>> non_negative("noise", 0)
    0.0
    """
    v = number(name, value)
    if v < 0 or v > high:
        bound = "" if high == math.inf else f" up to {high:g}"
        raise InvalidInput(f"{name} must be a number from 0{bound}, not {value!r}.")
    return v


def fraction(name: str, value: Any, *, closed: bool = False) -> float:
    """A number strictly between 0 and 1 (``closed=True``: 0 and 1 allowed).

    >>> fraction("rate", 0.25)
    0.25
    """
    v = number(name, value)
    if not (0 <= v <= 1 if closed else 0 < v < 1):
        span = "from 0 to 1" if closed else "strictly between 0 and 1"
        raise InvalidInput(f"{name} must be a number {span}, not {value!r}.")
    return v


def integer(name: str, value: Any, *, low: int = 1, high: int | None = None) -> int:
    """A whole number from ``low`` (default 1) to ``high`` (bools and floats refused).

    >>> integer("clients", 3)
    3
    >>> integer("degree", 9, low=1, high=8)
    Traceback (most recent call last):
    ...
    labkit.errors.InvalidInput: degree must be an integer from 1 to 8, not 9.
    """
    ok = not isinstance(value, bool) and isinstance(value, (int, np.integer))
    if not ok or value < low or (high is not None and value > high):
        span = f">= {low}" if high is None else f"from {low} to {high}"
        raise InvalidInput(f"{name} must be an integer {span}, not {value!r}.")
    return int(value)


def choice(name: str, value: T, options: Iterable[T]) -> T:
    """One of ``options``.

    >>> choice("mode", "batched", ("single", "batched"))
    'batched'
    >>> choice("mode", "fast", ("single", "batched"))
    Traceback (most recent call last):
    ...
    labkit.errors.InvalidInput: mode must be one of 'single', 'batched', not 'fast'.
    """
    options = tuple(options)
    if value not in options:
        raise InvalidInput(f"{name} must be one of {', '.join(map(repr, options))}, not {value!r}.")
    return value


def finite_array(name: str, value: Any, *, ndim: int | None = None, min_size: int = 1) -> np.ndarray:
    """A float64 array of finite numbers (of ``ndim`` dimensions and at least ``min_size`` entries).

    A NaN or infinity is named by how many there are and where the first one is.

    >>> finite_array("scores", [1, 2, 3], ndim=1).tolist()
    [1.0, 2.0, 3.0]
    >>> finite_array("X", [[1.0, float("nan")], [float("inf"), 0.0]])
    Traceback (most recent call last):
    ...
    labkit.errors.InvalidInput: X holds 2 NaN or infinite values (the first at index (0, 1)); clean or impute them.
    """
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} must be an array of numbers, not {type(value).__name__}.") from None
    if ndim is not None and arr.ndim != ndim:
        raise InvalidInput(f"{name} must be a {ndim}-D array, not shape {arr.shape}.")
    if arr.size < min_size:
        raise InvalidInput(f"{name} must hold at least {min_size} values, not {arr.size} (shape {arr.shape}).")
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        where = first[0] if len(first) == 1 else first
        raise InvalidInput(
            f"{name} holds {int(bad.sum())} NaN or infinite values (the first at index {where}); clean or impute them."
        )
    return arr
