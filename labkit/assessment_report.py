"""One self-contained HTML page per assessed workload (``labkit assess ... --out report.html``).

The page holds, in order: the workload (architecture, parameters, data shape,
plaintext accuracy); the support table (every "no" with its node, op, reason
and rewrite; every estimate); per technique, its cost, its accuracy and what
it protects, each number labelled measured, simulated or modelled (from the
Result's ``provenance`` artifact) with the call that reproduces it; a chart of
cost against protection for this workload beside the lab's own reference
points from the ResultStore; and a reading by threat model written from the
numbers. plotly.js is inlined: the page opens offline.

It names no technique: titles, data states and adversaries come from the
registry (:mod:`labkit.techniques`), the figures from the Results.
"""

from __future__ import annotations

import datetime as _dt
import html
from pathlib import Path
from typing import Any

from . import overview, techniques
from .errors import InvalidInput
from .report import PAGE_CSS
from .results import Result, ResultStore

KINDS = ("measured", "simulated", "modelled")
# Metrics every Result carries that are bookkeeping, not findings.
_QUIET = ("supported", "assess_s")
_EXTRA_CSS = """
.kind{font-size:11px;padding:0 4px;border-radius:3px;margin-left:4px}
.k-measured{background:#e6f4ea}.k-simulated{background:#eef2fb}.k-modelled{background:#fff6db}
section.tech{border-left:4px solid #888;padding-left:10px;margin:18px 0}
code{background:#f6f6f6;padding:0 3px}
"""


def kind_of(result: Result, metric: str) -> str:
    """Measured, simulated or modelled: what the Result's ``provenance`` says of ``metric`` (measured if unsaid)."""
    kind = (result.artifacts.get("provenance") or {}).get(metric, "measured")
    return kind if kind in KINDS else "measured"


def _label(kind: str) -> str:
    return f"<span class='kind k-{kind}'>{kind}</span>"


def _num(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return html.escape(str(value))
    if value == 0 or (1e-3 <= abs(value) < 1e6):
        return f"{value:,.4g}"
    return f"{value:.3e}"


def _ratio(r: Result) -> str:
    m = r.metrics
    low, high = m.get("overhead_low"), m.get("overhead_high")
    spread = f" (IQR {low:.3g}-{high:.3g})" if low is not None and high is not None else ""
    return f"{m['overhead']:.3g}x{spread}"


def reading(assessment: Any) -> dict[str, list[str]]:
    """By data state, one sentence per technique (its adversary, cost, accuracy, first finding), from the numbers."""
    by_state: dict[str, list[str]] = {}
    for key, support in assessment.support.items():
        t = techniques.get(key)
        r = assessment.result(key)
        head = f"{t.title}, against {t.adversary}"
        if not support.supported:
            first = support.problems[0] if support.problems else None
            why = f"{first.op} {first.node!r}: {first.reason}; {first.suggestion}" if first else "not supported"
            text = f"{head}: cannot run this model as it is ({why})."
        elif key in assessment.skipped:
            text = f"{head}: not run, {assessment.skipped[key]}."
        elif r is None:
            text = f"{head}: not run."
        else:
            m = r.metrics
            parts = []
            if m.get("overhead"):
                parts.append(f"costs {_ratio(r)} the plaintext time ({kind_of(r, 'overhead')})")
            if m.get("accuracy_plain") is not None and m.get("accuracy_private") is not None:
                a, b = m["accuracy_plain"], m["accuracy_private"]
                parts.append(
                    f"accuracy {a:.1%} -> {b:.1%} ({100 * (b - a):+.1f} points, {kind_of(r, 'accuracy_private')})"
                )
            if m.get("agreement") is not None:
                parts.append(f"{m['agreement']:.1%} of its predictions agree with the plaintext run")
            findings = [str(f).rstrip(".") for f in (r.artifacts.get("findings") or [])]
            text = f"{head}: " + (", ".join(parts) or "ran") + "." + (f" {findings[0]}." if findings else "")
        by_state.setdefault(t.data_state, []).append(text)
    return by_state


def _reference(store: ResultStore | None) -> list:
    if store is None:
        return []
    return overview.filter_points(overview.points(store), workload=overview.LAB_WORKLOAD)


def figure(assessment: Any, *, store: ResultStore | None = None):
    """Cost against protection: this workload's techniques (stars) beside the lab's own reference points."""
    import plotly.graph_objects as go

    fig = overview.figure(_reference(store))
    for trace in fig.data:
        trace.marker.opacity = 0.45
        trace.name = f"lab: {trace.name}"
    mine = [p for r in assessment.results if (p := overview.assess_point(r)) is not None and p.overhead > 0]
    data = overview.trace_data(mine)
    for key, d in data.items():
        if not d["x"]:
            continue
        t = techniques.get(key)
        stars = [s.replace("circle", "star").replace("diamond", "star-diamond") for s in d["symbol"]]
        fig.add_trace(
            go.Scatter(
                x=d["x"], y=d["y"], mode="markers+text", text=[key] * len(d["x"]), textposition="top center",
                name=f"{assessment.workload.name}: {key}", hovertext=d["hovertext"], hoverinfo="text",
                marker=dict(size=18, color=t.color, symbol=stars, line=dict(width=1.5, color="#000")),
                error_x=dict(type="data", array=d["plus"], arrayminus=d["minus"], thickness=1.5, width=4),
            )
        )  # fmt: skip
    fig.update_layout(
        title=f"{assessment.workload.name}: cost against protection (stars) beside the lab's own models (faint)"
    )
    return fig


def _workload_html(assessment: Any) -> str:
    esc = html.escape
    s = assessment.workload.summary()
    rows = "".join(
        f"<tr><td>{esc(str(layer['kind']))}</td><td>{esc(str(layer['node']))}</td><td>{esc(str(layer['op']))}</td>"
        f"<td>{esc(str(layer['in']))}</td><td>{esc(str(layer['out']))}</td><td>{layer['parameters']:,}</td></tr>"
        for layer in s["layers"]
    )
    layers = (
        f"<table><tr><th>layer</th><th>node</th><th>op</th><th>in</th><th>out</th><th>parameters</th></tr>{rows}</table>"
        if rows
        else f"<p>Not a feed-forward chain; its ops: {esc(', '.join(s['ops']))}.</p>"
    )
    return (
        f"<p>Source: {esc(s['source'])}; digest <code>{esc(s['digest'])}</code>; input shape {s['input_shape']}; "
        f"{s['outputs']} outputs; {s['parameters']:,} parameters; {s['train_samples']:,} training and "
        f"{s['test_samples']:,} test samples; plaintext test accuracy {s['accuracy']:.2%} {_label('measured')}.</p>"
        + layers
    )


def _support_html(assessment: Any) -> str:
    esc = html.escape
    body = []
    for key, sup in assessment.support.items():
        problems = "".join(
            f"<li><b>{esc(p.op)}</b> <code>{esc(p.node)}</code>: {esc(p.reason)}. <i>Change:</i> {esc(p.suggestion)}</li>"
            for p in sup.problems
        )
        notes = "".join(f"<li>{esc(n)}</li>" for n in sup.notes)
        est = ", ".join(f"{esc(k)} {_num(v)}" for k, v in sup.estimate.items())
        status = "yes" if sup.supported else "no"
        if key in assessment.skipped:
            status += f" ({esc(assessment.skipped[key])})"
        body.append(
            f"<tr><td>{esc(key)}</td><td>{status}</td><td><ul>{problems}</ul></td><td><ul>{notes}</ul></td>"
            f"<td>{est} {_label('modelled') if est else ''}</td></tr>"
        )
    return (
        "<table id='support'><tr><th>technique</th><th>supported</th><th>why not / what to change</th>"
        f"<th>what it changes by itself</th><th>estimate (before running)</th></tr>{''.join(body)}</table>"
    )


def _technique_html(assessment: Any, key: str, command: str | None) -> str:
    esc = html.escape
    t = techniques.get(key)
    r = assessment.result(key)
    head = (
        f"<section class='tech' id='tech-{esc(key)}' style='border-color:{esc(t.color)}'>"
        f"<h3>{esc(t.title)} <small>({esc(key)})</small></h3>"
        f"<p class='small'>Protects data {esc(t.data_state)}: {esc(t.protects)} Adversary: {esc(t.adversary)}.</p>"
    )
    if r is None or not r.metrics.get("supported"):
        why = assessment.skipped.get(key) or "; ".join(str(p) for p in assessment.support[key].problems)
        return head + f"<p>Not run: {esc(why or 'not supported')}.</p></section>"
    metrics = "".join(
        f"<tr><td>{esc(k)}</td><td>{_num(v)}</td><td>{_label(kind_of(r, k))}</td></tr>"
        for k, v in r.metrics.items()
        if k not in _QUIET and not k.endswith(("_low", "_high"))
    )
    cost = (
        f"<p><b>Cost:</b> {_ratio(r)} the plaintext time {_label(kind_of(r, 'overhead'))}.</p>"
        if r.metrics.get("overhead")
        else ""
    )
    findings = "".join(f"<li>{esc(str(f))}</li>" for f in (r.artifacts.get("findings") or []))
    again = r.artifacts.get("reproduce") or f"labkit.assess(workload, techniques=[{key!r}])"
    cli = f"<br><code>{esc(command)} --techniques {esc(key)}</code>" if command else ""
    flags = "".join(f"<p>&#9888; {esc(f)}</p>" for f in r.flags)
    return (
        head
        + cost
        + (f"<p><b>What it protects, here:</b></p><ul>{findings}</ul>" if findings else "")
        + f"<table><tr><th>metric</th><th>value</th><th>kind</th></tr>{metrics}</table>"
        + flags
        + f"<p class='small'>Reproduce: <code>{esc(str(again))}</code>{cli}</p></section>"
    )


def to_html(assessment: Any, *, store: ResultStore | None = None, command: str | None = None) -> str:
    """The report page of one :class:`labkit.assessment.Assessment` (self-contained: plotly.js inlined)."""
    from plotly.offline import get_plotlyjs

    esc = html.escape
    w = assessment.workload
    when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    env = next((r.environment for r in assessment.results if r.environment), {}) or {}
    machine = f"{env.get('cpu', '?')}, {env.get('cores', '?')} cores" if env else "this machine"
    mode = "fast mode (fewer samples and repeats)" if assessment.fast else "the default mode"
    chart = figure(assessment, store=store).to_html(full_html=False, include_plotlyjs=False, div_id="assess-plot")
    sections = "".join(_technique_html(assessment, key, command) for key in assessment.support)
    readings = "".join(
        f"<li>Data {esc(state)}<ul>{''.join(f'<li>{esc(line)}</li>' for line in lines)}</ul></li>"
        for state, lines in reading(assessment).items()
    )
    lab_points = _reference(store)
    no_reference = (
        ""
        if lab_points
        else "<p class='small'>The store holds no Result of the lab's own models yet, so no reference point is "
        "drawn: <code>labkit bench --fast</code> measures them.</p>"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>PET Lab assessment: {esc(w.name)}</title>
<style>{PAGE_CSS}{_EXTRA_CSS}</style>
<script type="text/javascript">{get_plotlyjs()}</script></head>
<body>
<h1>PET Lab assessment: {esc(w.name)}</h1>
<p class="small">Generated {when}, run in {mode} on {esc(machine)}. Every number is labelled:
{_label("measured")} on this machine in this run, {_label("simulated")} the measured cost of the lab's simulation
(not hardware), {_label("modelled")} computed from a cost model or an estimate. Ratios are medians against a
plaintext baseline measured in the same run, with the interquartile range.</p>
<h2>The workload</h2>
{_workload_html(assessment)}
<h2>Can each technique run it?</h2>
{_support_html(assessment)}
<h2>Cost against protection</h2>
<div id="assess-plot-box">{chart}</div>
{no_reference}
<h2>Reading by threat model</h2>
<ul id="reading">{readings}</ul>
<h2>Each technique</h2>
{sections}
</body></html>
"""


def write(assessment: Any, out: str | Path, *, store: ResultStore | None = None, command: str | None = None) -> Path:
    """Write the report of ``assessment`` to ``out`` (.html); returns the path. Written whole or not at all."""
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InvalidInput(f"the report is an HTML file: give a name ending in .html, not {out.name!r}.")
    page = to_html(assessment, store=store, command=command)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    partial.write_text(page, encoding="utf-8")
    partial.replace(out)
    return out
