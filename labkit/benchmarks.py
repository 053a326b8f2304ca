"""Every technique's standard benchmark, through the registry: what ``labkit bench`` runs.

Each registered technique (:mod:`labkit.techniques`) has one benchmark door,
``<package>.benchmark:benchmark(*, store, progress) -> list[Result]``. This
module picks the techniques asked for, runs their benchmarks (each stores
its Results; points already in the store are reused, so an interrupted run
resumes), and lays out a summary table.
"""

from __future__ import annotations

from collections.abc import Iterable

from . import techniques
from .results import Result, ResultStore
from .techniques import Technique


def select(names: Iterable[str] | None) -> list[Technique]:
    """The techniques to benchmark, in registry order (all when none named); an unknown name lists the known ones."""
    return [t for t in techniques.select(names) if t.benchmark is not None]


def run(names: Iterable[str] | None = None, *, store: ResultStore, progress: bool = False) -> list[Result]:
    """Run the chosen techniques' benchmarks one after the other; every Result is stored and returned.

    ``progress``: a bar over the techniques, and each benchmark's own bars.
    """
    from tqdm.auto import tqdm

    found: list[Result] = []
    with tqdm(select(names), desc="labkit bench", unit="technique", disable=not progress) as bar:
        for t in bar:
            bar.set_postfix_str(t.key)
            found += t.run_benchmark(store=store, progress=progress)
    return found


_HEADLINE = ("overhead", "ratio", "accuracy", "epsilon", "psnr", "latency", "throughput", "bytes", "auc")


def headline(result: Result, *, limit: int | None = 4) -> str:
    """A few telling metrics of a Result: those its technique names, else chosen by name.

    ``limit=None`` shows every metric the technique names (at least four when it names none).
    """
    named = techniques.get(result.technique).headline if result.technique in techniques.known_keys() else ()
    limit = limit if limit is not None else max(4, len(named))
    keys = [k for k in named if k in result.metrics]
    keys = keys or [
        k for k in result.metrics if any(h in k.lower() for h in _HEADLINE) and not k.endswith(("_low", "_high"))
    ]
    keys = keys[:limit] or list(result.metrics)[:limit]
    return ", ".join(f"{k}={result.metrics[k]:.4g}" for k in keys)


def table(results: Iterable[Result]) -> str:
    """Plain-text table: technique, name, headline metrics, flags."""
    rows = [("lab", "result", "headline metrics", "flags")]
    rows += [(r.technique, r.name, headline(r, limit=None), "; ".join(r.flags)) for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row[:3], widths)) + "  " + row[3] for row in rows]
    lines.insert(1, "-" * min(150, len(lines[0])))
    return "\n".join(lines)
