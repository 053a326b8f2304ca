"""Each lab's standard benchmark, behind one registry: what ``labkit bench`` runs.

Every lab exposes ``run(*, store, ...)`` in its benchmark module, returning a
Result or a list of Results and storing them (points already in the store
are reused, so an interrupted run resumes). This module finds them by name,
runs them with a progress bar, and lays out a summary table.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import InvalidInput
from .results import Result, ResultStore


@dataclass(frozen=True)
class LabBenchmark:
    lab: str
    module: str
    title: str
    function: str = "run"
    headline: tuple[str, ...] = ()  # the metrics the summary table shows for this lab (default: by name)

    def run(self, *, store: ResultStore, progress: bool = False) -> list[Result]:
        fn = getattr(importlib.import_module(self.module), self.function)
        kwargs = {"store": store}
        if "progress" in inspect.signature(fn).parameters:
            kwargs["progress"] = progress
        found = _as_results(fn(**kwargs))
        store.add_many(found)  # idempotent: the same id replaces itself
        return found


def _as_results(out) -> list[Result]:
    """A lab's run() may return a Result, Results, a report dict holding them, or (Result, rows)."""
    if isinstance(out, Result):
        return [out]
    if isinstance(out, tuple) and out and isinstance(out[0], Result):
        return [out[0]]
    if isinstance(out, dict):
        return _as_results(out["results"] if "results" in out else out["result"])
    return [r for r in out if isinstance(r, Result)]


LABS: dict[str, LabBenchmark] = {
    b.lab: b
    for b in (
        LabBenchmark("he", "labkit.he.bench", "HE: SEAL vs OpenFHE ops, encrypted inference"),
        LabBenchmark("inversion", "labkit.inversion.bench", "gradient inversion vs defenses", "benchmark"),
        LabBenchmark(
            "zk",
            "labkit.zk.benchmark",
            "ezkl proofs of inference",
            headline=("prove_s", "verify_ms", "cached_speedup", "overhead"),
        ),
        LabBenchmark("mpc", "labkit.mpc.benchmark", "CrypTen private inference"),
        LabBenchmark("dp", "labkit.dp.benchmark", "DP-SGD epsilon sweep and audit"),
        LabBenchmark("tee", "labkit.tee.benchmarks", "TEE attestation, boundary, modelled overhead"),
        LabBenchmark("pqc", "labkit.pqc.benchmark", "post-quantum TLS handshakes and the claims check", "standard"),
    )
}


def available() -> list[str]:
    """Labs whose benchmark module is installed."""
    return [name for name, b in LABS.items() if importlib.util.find_spec(b.module) is not None]


def select(names: Iterable[str] | None) -> list[LabBenchmark]:
    """The benchmarks to run, in registry order; unknown names are an error listing the known ones."""
    names = list(names or [])
    unknown = [n for n in names if n not in LABS]
    if unknown:
        raise InvalidInput(f"unknown lab {unknown[0]!r}; known: {', '.join(LABS)}.")
    here = available()
    missing = [n for n in names if n not in here]
    if missing:
        raise InvalidInput(f"the {missing[0]!r} lab has no benchmark in this version of labkit.")
    return [LABS[n] for n in (names or here)]


_HEADLINE = ("overhead", "ratio", "accuracy", "epsilon", "psnr", "latency", "throughput", "bytes", "auc")


def headline(result: Result, *, limit: int = 4) -> str:
    """A few telling metrics of a Result, for one table row: those its lab names, else by name."""
    lab = LABS.get(result.technique)
    keys = [k for k in (lab.headline if lab else ()) if k in result.metrics]
    keys = keys or [
        k for k in result.metrics if any(h in k.lower() for h in _HEADLINE) and not k.endswith(("_low", "_high"))
    ]
    keys = keys[:limit] or list(result.metrics)[:limit]
    return ", ".join(f"{k}={result.metrics[k]:.4g}" for k in keys)


def table(results: Iterable[Result]) -> str:
    """Plain-text table: lab, name, headline metrics, flags."""
    rows = [("lab", "result", "headline metrics", "flags")]
    rows += [(r.technique, r.name, headline(r), "; ".join(r.flags)) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row[:3], widths)) + "  " + row[3] for row in rows]
    lines.insert(1, "-" * min(150, len(lines[0])))
    return "\n".join(lines)
