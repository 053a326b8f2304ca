"""Assess a workload (your model and data) with every technique that has the doors for it (``labkit.assess``).

:func:`check` asks each technique's ``support`` door (seconds, no
cryptography); :func:`assess` then runs the ``assess`` door of each supported
one, cheapest first (by its own time estimate), with a progress bar, and
stores one Result per technique, tagged with the workload's name and digest.
A technique that cannot run the model answers a Result with ``supported=0``
and the reasons, never an exception.

>>> from labkit.workload import examples
>>> table = check(examples.workload("digits_mlp"), techniques=["he"])
>>> table["he"].supported
True

This module names no technique: it iterates over :func:`labkit.techniques.registry`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import config
from .errors import InvalidInput
from .results import Result, ResultStore
from .techniques import Technique, get, registry, signature
from .workload import Support, Workload, default_budget_bytes


def _chosen(names: Iterable[str] | str | None) -> list[Technique]:
    if names is None:
        return [t for t in registry() if t.assessable]
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    names = [n.strip() for n in names]
    if not names:
        raise InvalidInput("name at least one technique, e.g. techniques=['he'].")
    return [get(n) for n in names]


def check(
    workload: Workload,
    *,
    techniques: Iterable[str] | str | None = None,
    budget_bytes: int | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Support]:
    """Each chosen technique's support answer (default: every technique with assess doors).

    ``options`` are the techniques' assess options (see :func:`assess`); those its support door also
    takes (the HE backend and polynomial degree, say) shape its answer and estimate."""
    if not isinstance(workload, Workload):
        raise InvalidInput(f"assess takes a labkit.workload.Workload, not {type(workload).__name__}.")
    budget = default_budget_bytes() if budget_bytes is None else int(budget_bytes)
    if budget <= 0:
        raise InvalidInput(f"budget_bytes must be positive, not {budget_bytes}.")
    chosen = _chosen(techniques)
    opts = technique_options(options, chosen)
    table = {}
    for t in chosen:
        if t.support is None:
            table[t.key] = Support(t.key, problems=(_not_built(t),))
        else:
            table[t.key] = t.support(workload, budget_bytes=budget, **_taken_by(t.support, opts.get(t.key, {})))
    return table


def technique_options(
    options: Mapping[str, Mapping[str, Any]] | None, chosen: Iterable[Technique]
) -> dict[str, dict[str, Any]]:
    """Check per-technique options before anything runs: each names a technique being run and options its
    assess door takes, with a value of the default's type (a number for a number, text for text)."""
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise InvalidInput(f"options is a dict of technique -> {{option: value}}, not {type(options).__name__}.")
    by_key = {t.key: t for t in chosen}
    out: dict[str, dict[str, Any]] = {}
    for key, given in options.items():
        if key not in by_key:
            raise InvalidInput(
                f"options for {key!r}, which this assessment does not run (it runs: {', '.join(by_key) or 'nothing'})."
            )
        if not isinstance(given, Mapping):
            raise InvalidInput(f"options[{key!r}] is a dict of option -> value, not {type(given).__name__}.")
        accepted = by_key[key].assess_options()
        listing = ", ".join(f"{name} (default {default!r})" for name, default in accepted.items()) or "none"
        kinds = _option_kinds(by_key[key].assess)
        for name, value in given.items():
            if name not in accepted:
                raise InvalidInput(f"{key} has no option {name!r}; its options: {listing}.")
            kind, default = kinds.get(name), accepted[name]
            if (
                kind == "number"
                and value is not None
                and (isinstance(value, bool) or not isinstance(value, (int, float)))
            ):
                raise InvalidInput(f"{key} option {name!r} is a number (default {default!r}), not {value!r}.")
            if kind == "text" and value is not None and not isinstance(value, str):
                raise InvalidInput(f"{key} option {name!r} is text (default {default!r}), not {value!r}.")
        out[key] = dict(given)
    return out


def _option_kinds(door: Any) -> dict[str, str]:
    """Which options take a number and which text, read from the door's annotations ("int | None" -> number)."""
    kinds = {}
    for name, p in signature(door).parameters.items():
        words = {w.strip() for w in str(p.annotation).replace("Optional[", "").rstrip("]").split("|")} - {"None"}
        if words and words <= {"int", "float"}:
            kinds[name] = "number"
        elif words == {"str"}:
            kinds[name] = "text"
    return kinds


def _taken_by(fn: Any, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options a door's signature names (a support door takes some of its technique's assess options)."""
    names = signature(fn).parameters
    return {k: v for k, v in options.items() if k in names}


def _not_built(t: Technique):
    from .workload import Problem

    return Problem(
        "(technique)",
        t.key,
        f"assessing your own model is not built yet for {t.title}",
        f"the lab's own benchmark (labkit bench {t.key}) measures it on the built-in workloads",
    )


def unsupported_result(workload: Workload, support: Support) -> Result:
    """The Result of a technique that cannot run the workload: ``supported=0`` and the reasons."""
    return Result(
        support.technique,
        "assess",
        params=workload.tag(),
        metrics={"supported": 0},
        artifacts={"unsupported": [p.as_dict() for p in support.problems], "support": support.as_dict()},
    )


@dataclass
class Assessment:
    """What :func:`assess` found: the support table and one Result per technique."""

    workload: Workload
    support: dict[str, Support]
    results: list[Result] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    fast: bool = False

    def result(self, key: str) -> Result | None:
        """The Result of technique ``key`` (None when it was not run)."""
        return next((r for r in self.results if r.technique == key), None)

    def rows(self) -> list[dict[str, Any]]:
        """One row per technique: support, the reasons, and the headline numbers when it ran."""
        rows = []
        for key, s in self.support.items():
            r = self.result(key)
            m = r.metrics if r is not None else {}
            rows.append(
                {
                    "technique": key,
                    "supported": s.supported,
                    "why not": "; ".join(str(p) for p in s.problems) or self.skipped.get(key, ""),
                    "accuracy_plain": m.get("accuracy_plain"),
                    "accuracy_private": m.get("accuracy_private"),
                    "agreement": m.get("agreement"),
                    "overhead": m.get("overhead"),
                    "notes": "; ".join(s.notes),
                }
            )
        return rows

    def __str__(self) -> str:
        lines = [f"workload {self.workload.name} ({self.workload.digest[:12]})"]
        for row in self.rows():
            if not row["supported"]:
                lines.append(f"  {row['technique']:<10} not supported: {row['why not']}")
                continue
            if row["technique"] in self.skipped:
                lines.append(f"  {row['technique']:<10} supported, {row['why not']}")
                continue
            numbers = ", ".join(
                f"{k} {v:.3g}"
                for k in ("accuracy_plain", "accuracy_private", "agreement", "overhead")
                if (v := row[k]) is not None
            )
            lines.append(f"  {row['technique']:<10} supported{': ' + numbers if numbers else ''}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        head = "".join(
            f"<th>{h}</th>"
            for h in (
                "technique",
                "supported",
                "accuracy (plain / private)",
                "agreement",
                "overhead",
                "why not / notes",
            )
        )
        body = []
        for row in self.rows():
            acc = (
                ""
                if row["accuracy_plain"] is None
                else f"{row['accuracy_plain']:.3f} / {row['accuracy_private'] or float('nan'):.3f}"
            )
            cells = (
                row["technique"],
                "yes" if row["supported"] else "no",
                acc,
                "" if row["agreement"] is None else f"{row['agreement']:.3f}",
                "" if row["overhead"] is None else f"{row['overhead']:.3g}x",
                row["why not"] or row["notes"],
            )
            body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
        return f"<p>workload <b>{html.escape(self.workload.name)}</b></p><table><tr>{head}</tr>{''.join(body)}</table>"


def assess(
    workload: Workload,
    *,
    techniques: Iterable[str] | str | None = None,
    store: ResultStore | None = None,
    progress: bool = False,
    fast: bool | None = None,
    check_only: bool = False,
    budget_bytes: int | None = None,
    budget_minutes: float | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
) -> Assessment:
    """Run each chosen technique on ``workload``, cheapest first; store and return the Results.

    Parameters
    ----------
    workload : Workload
    techniques : names or comma-separated string, optional
        Default: every technique with assess doors.
    store : ResultStore, optional
        Each Result is added as soon as its technique finishes (an interrupted run keeps what it has).
    progress : bool
        A progress bar over the techniques (each technique may show its own).
    fast : bool, optional
        Fewer samples and repeats (default: ``LABKIT_FAST``).
    check_only : bool
        Stop after the support check: Results only for the unsupported techniques.
    budget_bytes : int, optional
        Memory a technique may plan to use (default: :func:`labkit.workload.default_budget_bytes`).
    budget_minutes : float, optional
        Wall-clock time for the whole run. A technique whose own estimate does not fit in what is
        left is skipped with the reason (:attr:`Assessment.skipped`), never started and cut off;
        a budget no technique fits in is refused before anything runs, naming what would fit.
    options : dict, optional
        Per technique, keyword options of its assess door, e.g. ``{"he": {"backend": "openfhe"},
        "mpc": {"parties": 3}}`` (:meth:`labkit.techniques.Technique.assess_options` lists them with
        their defaults). Checked before anything runs: an unknown technique or option, or a value of
        the wrong kind, is refused with the accepted options in the message.
    """
    fast = config.fast() if fast is None else bool(fast)
    if budget_minutes is not None and not (isinstance(budget_minutes, (int, float)) and budget_minutes > 0):
        raise InvalidInput(f"budget_minutes must be a positive number of minutes, not {budget_minutes!r}.")
    opts = technique_options(options, _chosen(techniques))
    table = check(workload, techniques=techniques, budget_bytes=budget_bytes, options=opts)
    out = Assessment(workload, table, fast=fast)
    seconds = {k: estimated_seconds(s, fast=fast) for k, s in table.items() if s.supported}
    if budget_minutes is not None and seconds and not check_only:
        _refuse_hopeless_budget(seconds, budget_minutes * 60.0, fast=fast)
    for s in table.values():
        if not s.supported:
            out.results.append(unsupported_result(workload, s))
    if store is not None and out.results:
        store.add_many(out.results)
    if check_only:
        return out
    runnable = sorted(seconds, key=seconds.get)
    started = time.perf_counter()
    bar = None
    if progress and runnable:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(runnable), desc=f"assess {workload.name}", unit="technique")
    try:
        for key in runnable:
            if bar is not None:
                bar.set_postfix_str(key)
            if budget_minutes is not None:
                left = budget_minutes * 60.0 - (time.perf_counter() - started)
                if seconds[key] > left:
                    out.skipped[key] = (
                        f"skipped: its estimate ({_minutes(seconds[key])}) is more than the time left in the "
                        f"budget ({_minutes(max(left, 0.0))} of {_minutes(budget_minutes * 60.0)})"
                    )
                    if bar is not None:
                        bar.update(1)
                    continue
            start = time.perf_counter()
            result = get(key).assess(workload, support=table[key], progress=progress, fast=fast, **opts.get(key, {}))
            result.params.update(workload.tag())
            result.metrics.setdefault("supported", 1)
            result.metrics.setdefault("assess_s", time.perf_counter() - start)
            out.results.append(result)
            if store is not None:
                store.add(result)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return out


def estimated_seconds(support: Support, *, fast: bool) -> float:
    """A technique's own estimate of its run: ``seconds_fast`` in fast mode (when it gives one), else ``seconds``."""
    est = support.estimate
    value = est.get("seconds_fast", est.get("seconds")) if fast else est.get("seconds")
    return float(value) if value is not None else 0.0


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _refuse_hopeless_budget(seconds: dict[str, float], budget_s: float, *, fast: bool) -> None:
    """Refuse, before anything runs, a time budget that no technique fits in; name what would fit."""
    cheapest = min(seconds, key=seconds.get)
    if seconds[cheapest] <= budget_s:
        return
    ranked = ", ".join(f"{k} {_minutes(v)}" for k, v in sorted(seconds.items(), key=lambda kv: kv[1]))
    raise InvalidInput(
        f"a budget of {_minutes(budget_s)} fits no technique{' in fast mode' if fast else ''}: the cheapest, "
        f"{cheapest}, needs about {_minutes(seconds[cheapest])} (estimates: {ranked}). Give a budget of at least "
        f"{max(1, int(-(-seconds[cheapest] // 60)))} minutes{'' if fast else ', or use fast mode'}."
    )
