"""Timing and overhead: every "x times slower than plaintext" in the lab comes from here.

``measure`` times a function several times and reports the median, the
interquartile range, every sample and the peak memory of the process during
the calls. ``overhead`` times a candidate and its plaintext baseline
interleaved (A B A B ...) in one run, so drift in machine load hits both
alike, and reports the ratio of medians with the spread of paired ratios.

References
----------
Chen & Revels, "Robust benchmarking in noisy environments", 2016
(arXiv:1608.04295): report robust statistics (median, quantiles) of repeats.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import config
from .errors import InvalidInput

_CLEAR_REFS = "/proc/self/clear_refs"
_STATUS = "/proc/self/status"


def _status_kib(key: str) -> int | None:
    try:
        with open(_STATUS) as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_bytes() -> int:
    """Resident set size of this process now, in bytes."""
    kib = _status_kib("VmRSS")
    if kib is not None:
        return kib * 1024
    import psutil

    return psutil.Process().memory_info().rss


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0); False where unsupported."""
    try:
        with open(_CLEAR_REFS, "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _peak_bytes() -> int | None:
    kib = _status_kib("VmHWM")
    return kib * 1024 if kib is not None else None


@dataclass(frozen=True)
class Timing:
    """Repeated wall-clock measurements of one operation (seconds)."""

    name: str
    samples: tuple[float, ...]
    peak_rss: int | None = None  # bytes: process high-water mark during the calls
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not self.samples:
            raise InvalidInput(f"Timing {self.name!r} needs at least one sample.")

    @property
    def median(self) -> float:
        """Median of the repeats, in seconds."""
        return float(np.median(self.samples))

    @property
    def q1(self) -> float:
        """First quartile of the repeats, in seconds."""
        return float(np.percentile(self.samples, 25))

    @property
    def q3(self) -> float:
        """Third quartile of the repeats, in seconds."""
        return float(np.percentile(self.samples, 75))

    @property
    def iqr(self) -> float:
        """Interquartile range of the repeats, in seconds."""
        return self.q3 - self.q1

    @property
    def repeat(self) -> int:
        """How many timed repeats there were."""
        return len(self.samples)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what the ResultStore keeps)."""
        d = asdict(self)
        d["samples"] = list(self.samples)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Timing:
        """The inverse of :meth:`to_dict`."""
        return cls(d["name"], tuple(d["samples"]), d.get("peak_rss"), dict(d.get("extra") or {}))

    def __str__(self) -> str:
        return f"{self.name}: {format_seconds(self.median)} (IQR {format_seconds(self.iqr)}, n={self.repeat})"


@dataclass(frozen=True)
class Overhead:
    """Candidate against baseline, measured interleaved in one run."""

    candidate: Timing
    baseline: Timing
    ratios: tuple[float, ...]  # candidate_i / baseline_i for each interleaved pair

    @property
    def ratio(self) -> float:
        """Median candidate time over median baseline time."""
        return self.candidate.median / self.baseline.median

    @property
    def ratio_low(self) -> float:
        """Lower quartile of the paired ratios."""
        return float(np.percentile(self.ratios, 25))

    @property
    def ratio_high(self) -> float:
        """Upper quartile of the paired ratios."""
        return float(np.percentile(self.ratios, 75))

    @property
    def percent(self) -> float:
        """Extra time as a percentage of the baseline (ratio 1.05 -> 5.0)."""
        return (self.ratio - 1.0) * 100.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what the ResultStore keeps)."""
        return {
            "candidate": self.candidate.to_dict(),
            "baseline": self.baseline.to_dict(),
            "ratios": list(self.ratios),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Overhead:
        """The inverse of :meth:`to_dict`."""
        return cls(Timing.from_dict(d["candidate"]), Timing.from_dict(d["baseline"]), tuple(d["ratios"]))

    def __str__(self) -> str:
        return (
            f"{self.candidate.name} vs {self.baseline.name}: {format_ratio(self.ratio)} "
            f"(IQR of paired ratios {self.ratio_low:.3g}-{self.ratio_high:.3g})"
        )


def format_seconds(s: float) -> str:
    """Human units: 3.2 us, 41 ms, 2.50 s."""
    if s < 1e-3:
        return f"{s * 1e6:.3g} us"
    if s < 1:
        return f"{s * 1e3:.3g} ms"
    return f"{s:.3g} s"


def format_ratio(r: float) -> str:
    """1.04 -> '+4.0%', 12.3 -> '12.3x'."""
    if r < 2:
        return f"{(r - 1) * 100:+.1f}%"
    return f"{r:.3g}x"


def _check_callable(fn: Any, what: str) -> None:
    if not callable(fn):
        raise InvalidInput(f"{what} must be a callable taking no arguments, not {type(fn).__name__}.")


def _auto_repeat(first_call: float) -> int:
    """Enough repeats for about 1 s (0.2 s in fast mode), between 3 and 50."""
    budget = config.pick(1.0, 0.2)
    return int(min(50, max(3, budget // max(first_call, 1e-9))))


def _validate_counts(repeat: int | None, warmup: int) -> None:
    if repeat is not None and (not isinstance(repeat, int) or repeat < 1):
        raise InvalidInput(f"repeat must be a positive integer or None, not {repeat!r}.")
    if not isinstance(warmup, int) or warmup < 0:
        raise InvalidInput(f"warmup must be a non-negative integer, not {warmup!r}.")


def _time_once(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(fn: Callable[[], Any], *, name: str | None = None, repeat: int | None = None, warmup: int = 1) -> Timing:
    """Time ``fn()`` ``repeat`` times after ``warmup`` untimed calls.

    ``repeat=None`` picks a count from the first call (about one second of
    work). Garbage collection is paused while timing. The Timing's
    ``peak_rss`` is the process's resident high-water mark during the timed
    calls (Linux; None elsewhere).

    >>> t = measure(lambda: sum(range(1000)), repeat=5)
    >>> t.repeat, t.median > 0
    (5, True)
    """
    _check_callable(fn, "fn")
    _validate_counts(repeat, warmup)
    name = name or getattr(fn, "__name__", "fn")
    for _ in range(warmup):
        fn()
    resettable = _reset_peak()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        samples = [_time_once(fn)]
        n = repeat if repeat is not None else _auto_repeat(samples[0])
        samples += [_time_once(fn) for _ in range(n - 1)]
    finally:
        if gc_was_enabled:
            gc.enable()
    return Timing(name, tuple(samples), _peak_bytes() if resettable else None)


def overhead(
    candidate: Callable[[], Any],
    baseline: Callable[[], Any],
    *,
    repeat: int | None = None,
    warmup: int = 1,
    names: tuple[str, str] = ("candidate", "baseline"),
) -> Overhead:
    """Time ``candidate`` and ``baseline`` interleaved (A B A B ...) and compare.

    Both callables must do the same work (same data, same batch). Returns an
    :class:`Overhead` whose ``ratio`` is the median candidate time over the
    median baseline time, with the IQR of the paired ratios as its spread.

    >>> o = overhead(lambda: sum(range(20000)), lambda: sum(range(1000)), repeat=5)
    >>> o.ratio > 1
    True
    """
    _check_callable(candidate, "candidate")
    _check_callable(baseline, "baseline")
    _validate_counts(repeat, warmup)
    for _ in range(warmup):
        candidate()
        baseline()
    resettable = _reset_peak()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    cand: list[float] = []
    base: list[float] = []
    try:
        cand.append(_time_once(candidate))
        base.append(_time_once(baseline))
        n = repeat if repeat is not None else _auto_repeat(cand[0] + base[0])
        for _ in range(n - 1):
            cand.append(_time_once(candidate))
            base.append(_time_once(baseline))
    finally:
        if gc_was_enabled:
            gc.enable()
    peak = _peak_bytes() if resettable else None
    ratios = tuple(c / max(b, 1e-12) for c, b in zip(cand, base))
    return Overhead(Timing(names[0], tuple(cand), peak), Timing(names[1], tuple(base), peak), ratios)


@contextmanager
def stopwatch(name: str):
    """Time one long block (a training run, a setup) as a one-sample Timing.

    >>> with stopwatch("setup") as sw:
    ...     _ = sum(range(10))
    >>> sw.timing.repeat
    1
    """

    class _Watch:
        timing: Timing | None = None

    watch = _Watch()
    resettable = _reset_peak()
    start = time.perf_counter()
    try:
        yield watch
    finally:
        watch.timing = Timing(name, (time.perf_counter() - start,), _peak_bytes() if resettable else None)


def cpu_count() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
