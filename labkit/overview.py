"""Every technique's measured cost against what it protects: the data behind the overview chart.

Each :class:`Point` is one stored Result, placed at its measured time ratio
against plaintext (log scale) on the row of what the technique buys
(:data:`labkit.claims.PROTECTIONS`). Each technique's ``points`` door says
which of its Results go on the chart and how; :func:`points` asks every
registered technique. The dashboard widget (:mod:`labkit.widgets.dashboard`)
and the HTML report draw the same :func:`figure`.
"""

from __future__ import annotations

import datetime as _dt
import html
from collections.abc import Iterable
from dataclasses import dataclass

from . import techniques
from .claims import PROTECTIONS
from .results import Result, ResultStore, params_key

ALL = "all"
LAB_WORKLOAD = "the lab's own models"  # the workload of Results the built-in labs made (no workload tag)
ASSESS_LAB = "10_your_model"  # the notebook that assesses a workload of your own (the dashboard links it)
KIND_SYMBOL = {"measured": "circle", "simulated": "diamond", "modelled": "square-open"}


@dataclass(frozen=True)
class Point:
    """One Result on the chart."""

    technique: str
    label: str
    overhead: float
    low: float | None
    high: float | None
    kind: str  # "measured", "simulated" (measured cost of a simulation) or "modelled"
    result_id: str
    lab: str  # notebook stem that explores it
    hover: str
    workload: str = LAB_WORKLOAD  # the workload the Result ran on (its ``workload`` param)

    @property
    def protection(self) -> str:
        """The chart row of the point's technique."""
        return techniques.get(self.technique).protection

    @property
    def data_state(self) -> str:
        """The data state the point's technique protects."""
        return techniques.get(self.technique).data_state

    @property
    def threat(self) -> str:
        """The adversary the point's technique answers."""
        return techniques.get(self.technique).adversary


def _when(r: Result) -> str:
    """When and where a Result was measured, in one line."""
    env = r.environment or {}
    stamp = _dt.datetime.fromtimestamp(r.created, tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    where = f"{env.get('cpu', '?')}, {env.get('cores', '?')} cores" if env else "unknown machine"
    return f"{stamp} on {where}" + (", fast mode" if env.get("fast") else "")


def _hover(r: Result, label: str, ratio: float, low, high, extra: str = "") -> str:
    from .benchmarks import headline

    spread = f" (IQR {low:.3g}-{high:.3g})" if low is not None and high is not None else ""
    lines = [
        f"<b>{html.escape(r.technique)} / {html.escape(r.name)}</b>",
        html.escape(label),
        f"time ratio vs plaintext: {ratio:.3g}x{spread}",
    ]
    if extra:
        lines.append(html.escape(extra))
    claim = techniques.get(r.technique).claim if r.technique in techniques.known_keys() else None
    if claim is not None:
        lines.append(f"claimed: {html.escape(claim.text)} ({html.escape(claim.source)})")
    lines.append(html.escape(headline(r, limit=3)))
    lines += [f"&#9888; {html.escape(f)}" for f in r.flags]
    lines.append(html.escape(_when(r)))
    return "<br>".join(lines)


def point(
    r: Result,
    label: str,
    key: str,
    *,
    kind: str = "measured",
    lab: str | None = None,
    extra: str = "",
    technique: str | None = None,
) -> Point:
    """The Point of Result ``r`` whose ratio is ``r.metrics[key]`` (IQR from ``key_low``/``key_high``).

    ``technique`` places it under another technique than the Result's own; ``lab`` names another notebook
    than the technique's main one; ``extra`` adds a line to the hover text.
    """
    ratio = float(r.metrics[key])
    low, high = r.metrics.get(f"{key}_low"), r.metrics.get(f"{key}_high")
    t = techniques.get(technique or r.technique)
    hover = _hover(r, label, ratio, low, high, extra)
    return Point(t.key, label, ratio, low, high, kind, r.id, lab or t.lab, hover, workload_of(r))


def workload_of(r: Result) -> str:
    """The workload a Result ran on: its ``workload`` param, or the lab's own models."""
    return str(r.params.get("workload") or LAB_WORKLOAD)


def assess_point(r: Result) -> Point | None:
    """The point of an ``assess`` Result (a technique on a user's workload), when it measured a time ratio.

    Its kind is the one the Result's ``provenance`` artifact gives its overhead (measured when unsaid).
    """
    if r.name != "assess" or not r.metrics.get("supported") or not r.metrics.get("overhead"):
        return None
    kind = (r.artifacts.get("provenance") or {}).get("overhead", "measured")
    extra = "; ".join(str(f) for f in (r.artifacts.get("findings") or [])[:2])
    return point(r, f"your workload {workload_of(r)}", "overhead", kind=kind, extra=extra, lab=ASSESS_LAB)


def points(store: ResultStore | None = None, *, results: Iterable[Result] | None = None) -> list[Point]:
    """Chart points from the newest Result of each (technique, name, params) in ``store``.

    Only time ratios against a plaintext (or classical) baseline measured in the same
    run are plotted; modelled figures are kept and labelled "modelled".
    """
    if results is None:
        results = (store if store is not None else ResultStore()).query()
    newest: dict[str, list[Result]] = {t.key: [] for t in techniques.registry()}
    seen = set()
    for r in results:  # newest first
        key = (r.technique, r.name, params_key(r.params))
        if r.technique not in newest or key in seen:
            continue
        seen.add(key)
        newest[r.technique].append(r)
    out: list[Point] = []
    for t in techniques.registry():
        own = [r for r in newest[t.key] if r.name != "assess"]
        out += [p for p in t.chart_points(own) if p.overhead > 0]
        out += [p for r in newest[t.key] if (p := assess_point(r)) is not None and p.overhead > 0]
    return out


def workloads(pts: Iterable[Point]) -> list[str]:
    """The workloads the points ran on, the lab's own first, after "all"."""
    names = sorted({p.workload for p in pts} - {LAB_WORKLOAD})
    return [ALL, LAB_WORKLOAD, *names]


def missing(pts: Iterable[Point]) -> list[str]:
    """Techniques with nothing to plot yet, each with the command that measures it."""
    have = {p.technique for p in pts}
    return [
        f"{t.title}: not measured yet: run labkit bench {t.key}"
        for t in techniques.registry()
        if t.key not in have and t.points is not None
    ]


def spread(pts: Iterable[Point]) -> str:
    """One honest sentence on how far apart the stored time ratios are.

    With nothing stored it says so; with one point it says a spread needs two;
    otherwise it gives the smallest and largest ratio, how many orders of
    magnitude lie between them, and the same within each chart row that holds
    two points or more. Nothing is claimed that the store does not show.

    >>> spread([])
    'Nothing measured yet: run `labkit bench --fast` (or a lab) and reload.'
    """
    import math

    pts = list(pts)
    if not pts:
        return "Nothing measured yet: run `labkit bench --fast` (or a lab) and reload."
    if len(pts) == 1:
        p = pts[0]
        return (
            f"One point so far ({p.technique}: {p.label}, {p.overhead:.3g}x): a spread needs two or more; "
            "`labkit bench --fast` measures every lab."
        )

    def span(group: list[Point]) -> str:
        lo, hi = min(group, key=lambda p: p.overhead), max(group, key=lambda p: p.overhead)
        orders = math.log10(hi.overhead / lo.overhead)
        return (
            f"{lo.overhead:.3g}x ({lo.technique}: {lo.label}) to {hi.overhead:.3g}x ({hi.technique}: {hi.label}), "
            f"{orders:.1f} orders of magnitude"
        )

    lines = [f"{len(pts)} points, from {span(pts)}."]
    rows: dict[str, list[Point]] = {}
    for p in pts:
        rows.setdefault(p.protection, []).append(p)
    for row, group in rows.items():
        if len(group) > 1:
            lines.append(f"  within '{row}': {span(group)}")
    return "\n".join(lines)


def filter_points(
    pts: Iterable[Point], *, data_state: str = ALL, threat: str = ALL, workload: str | Iterable[str] = ALL
) -> list[Point]:
    """The points whose technique protects ``data_state`` against ``threat``, run on ``workload``
    (one name, or several to compare them; "all" keeps every one)."""
    chosen = {workload} if isinstance(workload, str) else set(workload)
    return [
        p
        for p in pts
        if data_state in (ALL, p.data_state) and threat in (ALL, p.threat) and (ALL in chosen or p.workload in chosen)
    ]


def options() -> dict[str, list[str]]:
    """Filter choices: data states and threat models of the registry, each after "all"."""
    found = techniques.registry()
    return {
        "data_state": [ALL, *dict.fromkeys(t.data_state for t in found)],
        "threat": [ALL, *dict.fromkeys(t.adversary for t in found)],
    }


def _y(p: Point, t_index: dict[str, int]) -> float:
    """Row of the protection, spread a little by technique so techniques on one row do not hide each other."""
    return PROTECTIONS.index(p.protection) + (t_index[p.technique] - 3) * 0.08


def trace_data(pts: list[Point]) -> dict[str, dict[str, list]]:
    """Per technique: x (ratio), y (row), hovertext, customdata (result id), symbols, IQR error bars."""
    found = techniques.registry()
    t_index = {t.key: i for i, t in enumerate(found)}
    data = {
        t.key: {"x": [], "y": [], "hovertext": [], "customdata": [], "symbol": [], "plus": [], "minus": []}
        for t in found
    }
    for p in pts:
        d = data[p.technique]
        d["x"].append(p.overhead)
        d["y"].append(_y(p, t_index))
        d["hovertext"].append(p.hover)
        d["customdata"].append(p.result_id)
        d["symbol"].append(KIND_SYMBOL.get(p.kind, "circle"))
        d["plus"].append(max(0.0, (p.high or p.overhead) - p.overhead))
        d["minus"].append(max(0.0, p.overhead - (p.low or p.overhead)))
    return data


def figure(pts: list[Point]):
    """The chart as a plotly Figure, one trace per technique (in registry order)."""
    import plotly.graph_objects as go

    data = trace_data(pts)
    traces = [
        go.Scatter(
            x=data[t.key]["x"],
            y=data[t.key]["y"],
            mode="markers",
            name=t.key,
            hovertext=data[t.key]["hovertext"],
            hoverinfo="text",
            customdata=data[t.key]["customdata"],
            marker=dict(size=11, color=t.color, symbol=data[t.key]["symbol"], line=dict(width=1, color="#333")),
            error_x=dict(type="data", array=data[t.key]["plus"], arrayminus=data[t.key]["minus"], thickness=1, width=3),
        )
        for t in techniques.registry()
    ]
    layout = go.Layout(
        title="Measured cost against what it protects (each point: one stored Result)",
        xaxis=dict(type="log", title="time ratio against plaintext, same run (log scale; 1 = no overhead)"),
        yaxis=dict(
            tickmode="array",
            tickvals=list(range(len(PROTECTIONS))),
            ticktext=list(PROTECTIONS),
            range=[-0.6, len(PROTECTIONS) - 0.4],
            title="",
        ),
        shapes=[dict(type="line", x0=1, x1=1, y0=0, y1=1, yref="paper", line=dict(dash="dot", color="#888"))],
        height=440,
        margin=dict(l=190, r=20, t=50, b=50),
        legend=dict(title="technique"),
    )
    return go.Figure(data=traces, layout=layout)
