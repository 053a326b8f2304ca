"""The claims check across labs: each claim, the figure measured here, the anchors, a verdict.

``labkit report`` reads the ResultStore that ``labkit bench`` (and the
notebooks) filled and asks every registered technique (:mod:`labkit.techniques`)
for its readings: one row per measured figure of one of its claims, with the
interquartile range, the published anchors, a verdict and the lab that
measured it. The techniques build their rows with :func:`reading`,
:func:`missing` and :func:`comparison`; :func:`verdict` is the one rule that
judges them. A claim the store has no measurement for says so
("not measured yet: run labkit bench LAB"); no number is ever filled in.

Verdicts compare the interquartile range (IQR) of the paired ratios with the
claimed range: "holds" when the whole IQR agrees with the claim, "off by a
factor N" when the whole IQR is outside it, "inconclusive" when the IQR
straddles a bound. For claims of a few percent ("3-7%", "under 5%") the
factor compares the *extra* time (a ratio of 1.5 is +50%, 7x the claimed
+7%); for the others it compares the ratios.

References
----------
Chen & Revels, "Robust benchmarking in noisy environments", 2016 (arXiv:1608.04295).
"""

from __future__ import annotations

import datetime as _dt
import html
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import config, techniques
from .claims import THREATS, Claim
from .errors import InvalidInput
from .results import Result, ResultStore

HOLDS, INCONCLUSIVE = "holds", "inconclusive"
NOT_MEASURED = "not measured yet"
PERCENT_CLAIM = 2.0  # claims whose upper bound is below this ratio are read as extra time ("+7%")


@dataclass
class Reading:
    """One measured (or missing) figure for one claim."""

    claim: str  # key: "he.overhead", "he.openfhe_vs_seal", "zk.prover", "zk.verify", "tee.overhead", "pqc.overhead"
    claim_text: str
    setting: str
    measured: float | None
    low: float | None = None
    high: float | None = None
    unit: str = "x plaintext"
    kind: str = "measured"  # "measured", "simulated", "modelled"
    verdict: str = ""
    bench: str = ""  # the `labkit bench` lab that produces it
    lab: str = ""  # notebook stem
    result_id: str | None = None
    anchors: tuple[str, ...] = field(default_factory=tuple)
    note: str = ""
    fast: bool = False  # measured in fast mode (LABKIT_FAST=1): shrunken workload
    spread: str = "IQR"  # what (low, high) is: "IQR" of paired ratios, or another named range

    @property
    def figure(self) -> str:
        """The measured figure as text, or what to run to measure it."""
        if self.measured is None:
            return self.note or f"{NOT_MEASURED}: run labkit bench {self.bench}"
        text = fmt(self.measured) + ("" if self.unit == "x plaintext" else f" {self.unit}")
        if self.unit == "x plaintext":
            text += "x"
        if self.low is not None and self.high is not None:
            text += f" ({self.spread} {fmt(self.low)}-{fmt(self.high)})"
        return text


def fmt(x: float) -> str:
    """Three significant digits, thousands separated above 1000.

    >>> fmt(0.98765), fmt(12.345), fmt(45973.2)
    ('0.988', '12.3', '46,000')
    """
    if x == 0 or not math.isfinite(x):
        return str(x)
    if abs(x) >= 1000:
        digits = int(math.floor(math.log10(abs(x)))) - 1
        return f"{round(x, -digits):,.0f}"
    return f"{x:.3g}"


def factor_text(factor: float) -> str:
    """How a verdict says a figure is outside its claim by ``factor``."""
    return f"off by a factor {fmt(factor)}"


def verdict(claim: Claim, measured: float | None, low: float | None = None, high: float | None = None) -> str:
    """holds / off by a factor N (costlier or cheaper than claimed) / inconclusive / not measured yet.

    >>> c = Claim("10x-100x", 10.0, 100.0)
    >>> verdict(c, 30.0, 25.0, 40.0), verdict(c, 1000.0, 900.0, 1100.0), verdict(c, 95.0, 80.0, 120.0)
    ('holds', 'off by a factor 10 (costlier than claimed)', 'inconclusive (IQR 80-120 straddles 100)')
    >>> tee = Claim("3-7%", 1.03, 1.07)
    >>> verdict(tee, 1.5), verdict(tee, 1.01)
    ('off by a factor 7.14 (+50% against the claimed +7%)', 'holds')
    """
    if measured is None:
        return NOT_MEASURED
    lo = measured if low is None else min(low, measured)
    hi = measured if high is None else max(high, measured)
    percent = 1.0 < claim.high < PERCENT_CLAIM  # "3-7%", "under 5%": a bound on the extra time
    lower_bound = None if percent else claim.low  # "3-7%" and "under 5%" are upper bounds on the cost
    if hi <= claim.high and (lower_bound is None or lo >= lower_bound):
        return HOLDS
    if lo > claim.high:
        if percent:
            factor = (measured - 1.0) / (claim.high - 1.0)
            return f"{factor_text(factor)} (+{(measured - 1) * 100:.0f}% against the claimed +{(claim.high - 1) * 100:.0f}%)"
        return f"{factor_text(measured / claim.high)} (costlier than claimed)"
    if lower_bound is not None and hi < lower_bound:
        if lower_bound <= 0:
            return HOLDS
        return f"{factor_text(lower_bound / measured)} (cheaper than claimed)"
    bound = claim.high if hi > claim.high else lower_bound
    return f"{INCONCLUSIVE} (IQR {fmt(lo)}-{fmt(hi)} straddles {fmt(bound)})"


def iqr(r: Result, key: str) -> tuple[float | None, float | None]:
    """The interquartile range stored beside metric ``key`` (``key_low``, ``key_high``), None where absent."""
    return r.metrics.get(f"{key}_low"), r.metrics.get(f"{key}_high")


def latest_by(results: Iterable[Result], key: Callable[[Result], object]) -> list[Result]:
    """Newest Result per key (``results`` come newest first from the store)."""
    seen: dict[object, Result] = {}
    for r in results:
        seen.setdefault(key(r), r)
    return list(seen.values())


def missing(claim_key: str, claim: Claim, bench: str, lab: str, anchors, setting: str = "") -> Reading:
    """The row of a claim the store has no measurement for: it says which benchmark to run, and invents nothing."""
    r = Reading(claim_key, claim.text, setting or "-", None, kind="-", bench=bench, lab=lab, anchors=tuple(anchors))
    r.verdict = f"{NOT_MEASURED}: run labkit bench {bench}"
    return r


def reading(
    claim_key: str,
    claim: Claim,
    result: Result,
    setting: str,
    measured: float,
    *,
    low=None,
    high=None,
    unit="x plaintext",
    kind="measured",
    bench="",
    lab="",
    anchors=(),
    note="",
) -> Reading:
    """The row of ``claim`` measured by ``result``: the figure, its spread, and the verdict of :func:`verdict`."""
    out = Reading(
        claim_key,
        claim.text,
        setting,
        float(measured),
        low,
        high,
        unit,
        kind,
        bench=bench,
        lab=lab,
        result_id=result.id,
        anchors=tuple(anchors),
        note=note,
    )
    out.verdict = verdict(claim, out.measured, low, high)
    out.fast = bool(result.environment.get("fast"))
    return out


COMPARISON = "comparison only"


def comparison(
    claim_key: str,
    text: str,
    r: Result,
    setting: str,
    measured: float,
    published: float,
    *,
    bench: str,
    lab: str,
    anchors,
) -> Reading:
    """A row comparing a measured ratio with a published one, for a technique with no claim (no verdict)."""
    low, high = iqr(r, "overhead")
    out = reading(
        claim_key,
        Claim(text, 0.0, math.inf),  # a range no figure leaves: the verdict is the comparison below
        r,
        setting,
        measured,
        low=low,
        high=high,
        bench=bench,
        lab=lab,
        anchors=anchors,
    )
    out.verdict = f"{COMPARISON}: {fmt(measured / published)} times the published {fmt(published)}x"
    return out


def readings(store: ResultStore | None = None) -> list[Reading]:
    """Every registered technique's readings from ``store`` (default: the lab's store).

    Techniques with a claimed cost come first, then those compared only with
    published anchors (no claim of their own), each group in registry order.
    """
    store = store if store is not None else ResultStore()
    found = techniques.registry()
    ordered = [t for t in found if t.claim is not None] + [t for t in found if t.claim is None]
    out: list[Reading] = []
    for t in ordered:
        out += t.claim_readings(store)
    return out


def claim_of(claim_key: str) -> Claim | None:
    """The Claim a reading key names: a technique's further claim ("he.openfhe_vs_seal"), else its headline claim."""
    key = claim_key.split(".", 1)[0]
    if key not in techniques.known_keys():
        return None
    t = techniques.get(key)
    if claim_key in t.further_claims:
        return t.further_claims[claim_key][0]
    return t.claim


def claims_markdown() -> str:
    """``docs/claims.md``: every registered technique's claims and published anchors, from the registry.

    The descriptors are the one machine-readable copy; ``make docs`` writes this
    page and a test checks the committed page equals it.
    """
    lines = [
        "# The claims PET Lab checks, and their published anchors",
        "",
        "Generated from the technique registry (`labkit/<technique>/technique.py`) by `make docs`;",
        "do not edit by hand. `labkit report` measures each claim on your machine and gives a verdict.",
        "The claimed costs come from a widely shared 2025 practitioner guide on encryption for AI;",
        "the anchors are published figures, each naming its source (in full: [references.md](references.md)).",
        "",
        "| technique | data state | adversary | claim | claimed range | published anchors | notebook |",
        "|---|---|---|---|---|---|---|",
    ]

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    for t in techniques.registry():
        claims = [(t.key, t.claim, t.anchors)] + [(k, c, a) for k, (c, a) in t.further_claims.items()]
        for key, claim, anchors in claims:
            text = f"{cell(claim.text)} ({cell(claim.source)})" if claim else "no claim: compared with the anchors"
            span = f"{fmt(claim.low)}-{fmt(claim.high)} ({cell(claim.unit)})" if claim else "-"
            lines.append(
                f"| {cell(t.title)} (`{key}`) | {t.data_state} | {cell(t.adversary)} | {text} | {span} | "
                f"{'<br>'.join(cell(a) for a in anchors) or '-'} | `notebooks/{t.lab}.py` |"
            )
    lines += ["", "## Threat models", ""]
    lines += [f"- **{name}**: {text}" for name, text in THREATS.items()]
    return "\n".join(lines) + "\n"


def table(rows: list[Reading], *, width: int = 56) -> str:
    """The claims check as plain text (one line per reading)."""

    def cut(s: str, n: int) -> str:
        return s if len(s) <= n else s[: n - 1] + "…"

    head = ("claim", "setting", "kind", "measured", "verdict", "lab")
    body = [(r.claim, cut(r.setting, width), r.kind, cut(r.figure, 44), cut(r.verdict, 56), r.lab) for r in rows]
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [head, *body]]
    lines.insert(1, "-" * len(lines[0]))
    claims = dict.fromkeys((r.claim, r.claim_text) for r in rows)
    lines += [
        "",
        "claims (practitioner guide, 2025; the published anchors are in the HTML report,"
        " with their sources in docs/claims.md and docs/references.md):",
    ]
    lines += [f"  {key}: {text}" for key, text in claims]
    return "\n".join(lines)


# -- the HTML report ----------------------------------------------------------------------------------------------


def claims_figure(rows: list[Reading]):
    """Measured time ratios (log scale, IQR bars) beside each claim's claimed range."""
    import plotly.graph_objects as go

    # judged ratios only: comparisons with published anchors carry no claimed range to draw
    plotted = [
        r
        for r in rows
        if r.measured is not None
        and r.unit in ("x plaintext", "OpenFHE/SEAL")
        and not r.verdict.startswith(COMPARISON)
        and claim_of(r.claim) is not None
    ]
    labels = [f"{r.claim}: {r.setting[:70]}" for r in plotted]
    ranges = [claim_of(r.claim) for r in plotted]
    kinds = [r.kind for r in plotted]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=labels,
            base=[max(c.low, 0.25) for c in ranges],
            x=[c.high - max(c.low, 0.25) for c in ranges],
            orientation="h",
            name="claimed range",
            marker_color="rgba(120,160,220,0.35)",
            hovertext=[c.text for c in ranges],
            hoverinfo="text",
        )
    )
    for kind, symbol in (("measured", "circle"), ("simulated", "diamond"), ("modelled", "square-open")):
        sel = [i for i, k in enumerate(kinds) if k == kind]
        if not sel:
            continue
        fig.add_trace(
            go.Scatter(
                y=[labels[i] for i in sel],
                x=[plotted[i].measured for i in sel],
                mode="markers",
                name=kind,
                marker=dict(symbol=symbol, size=10, color="#d95f02" if kind == "measured" else "#555"),
                error_x=dict(
                    type="data",
                    symmetric=False,
                    array=[max(0.0, (plotted[i].high or plotted[i].measured) - plotted[i].measured) for i in sel],
                    arrayminus=[max(0.0, plotted[i].measured - (plotted[i].low or plotted[i].measured)) for i in sel],
                ),
                hovertext=[f"{plotted[i].figure}<br>{plotted[i].verdict}" for i in sel],
                hoverinfo="text",
            )
        )
    fig.update_layout(
        title="Measured on this machine (points, IQR bars) against the claimed range (bars)",
        xaxis=dict(type="log", title="time ratio (log scale)"),
        yaxis=dict(autorange="reversed", automargin=True),
        height=max(320, 28 * len(plotted) + 140),
        margin=dict(l=20, r=20, t=50, b=50),
        barmode="overlay",
    )
    return fig


def _machines(results: list[Result]) -> list[str]:
    seen = {}
    for r in results:
        env = r.environment or {}
        seen.setdefault(
            env.get("machine_id"),
            f"{env.get('cpu', '?')}, {env.get('cores', '?')} cores, "
            f"Python {env.get('python', '?')}, labkit {env.get('labkit', '?')}",
        )
    return list(seen.values())


PAGE_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#222;max-width:1400px}
table{border-collapse:collapse;font-size:13px;width:100%}
th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}
th{background:#f2f2f2}
td.v-holds{background:#e6f4ea}
td.v-off{background:#fde8e8}
td.v-inconclusive,td.v-missing{background:#fff6db}
td.v-anchor{background:#eef2fb}
.small{font-size:12px;color:#555}
ul{margin:0;padding-left:16px}
"""


def _verdict_class(v: str) -> str:
    if v == HOLDS:
        return "v-holds"
    if v.startswith("off by"):
        return "v-off"
    if v.startswith(COMPARISON):
        return "v-anchor"
    return "v-missing" if v.startswith(NOT_MEASURED) else "v-inconclusive"


def _verdict_style(v: str) -> str:
    return {"v-holds": "#e6f4ea", "v-off": "#fde8e8", "v-anchor": "#eef2fb"}.get(_verdict_class(v), "#fff6db")


def table_html(rows: list[Reading], *, notebooks: str | None = None) -> str:
    """The claims table as HTML (``<table id="claims">``), styled inline so it also reads well in a notebook.

    ``notebooks``: the notebooks folder relative to where the HTML is shown, to link each lab (no links when None).
    """
    esc = html.escape
    cell = "border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left"
    small = "font-size:12px;color:#555"
    body = []
    for r in rows:
        lab = esc(r.lab)
        if notebooks is not None and r.lab:
            lab = f"<a href='{esc(notebooks)}/{esc(r.lab)}.py'>{lab}</a>"
        rid = f"<div style='{small}'>Result {esc(r.result_id[:12])}</div>" if r.result_id else ""
        anchors = "".join(f"<li>{esc(a)}</li>" for a in r.anchors)
        note = f"<div style='{small}'>{esc(r.note)}</div>" if r.note and r.measured is not None else ""
        fast = f"<div style='{small}'>fast mode</div>" if r.fast else ""
        body.append(
            f"<tr data-claim='{esc(r.claim)}'><td style='{cell}'>{esc(r.claim_text)}</td>"
            f"<td style='{cell}'>{esc(r.setting)}{note}</td><td style='{cell}'>{esc(r.kind)}{fast}</td>"
            f"<td class='measured' style='{cell}'>{esc(r.figure)}</td>"
            f"<td style='{cell}'><ul style='margin:0;padding-left:16px'>{anchors}</ul></td>"
            f"<td class='{_verdict_class(r.verdict)}' style='{cell};background:{_verdict_style(r.verdict)}'>"
            f"{esc(r.verdict)}</td><td style='{cell}'>{lab}<br><code>labkit bench {esc(r.bench)}</code>{rid}</td></tr>"
        )
    head = "".join(
        f"<th style='{cell};background:#f2f2f2'>{h}</th>"
        for h in ("claim", "setting", "kind", "measured here", "published anchors", "verdict", "lab")
    )
    return (
        f'<table id="claims" style="border-collapse:collapse;font-size:13px;width:100%">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def to_html(
    rows: list[Reading],
    *,
    store: ResultStore | None = None,
    overview=None,
    notebooks: str | None = None,
    workload: str | None = None,
) -> str:
    """One self-contained HTML page: plotly.js inlined, the claims table, the claims plot and the overview.

    ``notebooks``: the notebooks folder relative to the page, to link each lab (no links when None).
    ``workload``: the workload the overview chart is filtered to (None: every workload).
    """
    from plotly.offline import get_plotlyjs

    esc = html.escape
    results = store.query() if store is not None else []
    machines = "; ".join(esc(m) for m in _machines(results)) or "no Results"
    fast = any((r.environment or {}).get("fast") for r in results)
    when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    figs = [("claims-plot", claims_figure(rows))] + ([("overview-plot", overview)] if overview is not None else [])
    plots = "".join(
        f"<h2>{'Claims against measurements' if i == 'claims-plot' else 'Every technique: cost against protection'}"
        f"{'' if i == 'claims-plot' or not workload else ' (workload: ' + esc(workload) + ')'}"
        f"</h2><div id='{i}-box'>{f.to_html(full_html=False, include_plotlyjs=False, div_id=i)}</div>"
        for i, f in figs
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>PET Lab claims check</title>
<style>{PAGE_CSS}</style>
<script type="text/javascript">{get_plotlyjs()}</script></head>
<body>
<h1>PET Lab: the claims check</h1>
<p class="small">Generated {when} from {esc(str(store.path) if store is not None else "given readings")}
({len(results)} Results). Measured on: {machines}.{" Some Results come from fast mode (shrunken workloads)." if fast else ""}
Verdicts compare the interquartile range of paired ratios with the claimed range: <b>holds</b> when all of it agrees,
<b>off by a factor N</b> when all of it is outside (for claims of a few percent, N compares the extra time),
<b>inconclusive</b> when it straddles a bound. Simulated rows measure the lab's simulation, modelled rows are
calibrated from published figures: neither is TEE hardware.</p>
<h2>Claims, measured figures and published anchors</h2>
{table_html(rows, notebooks=notebooks)}
{plots}
</body></html>
"""


def write(
    out: str | Path = "report.html", *, store: ResultStore | None = None, workload: str | None = None
) -> tuple[Path, list[Reading]]:
    """Gather the readings from ``store``, write the HTML report to ``out``; returns (path, readings).

    ``workload`` filters the overview chart to one workload (a name given to ``labkit assess``, or
    :data:`labkit.overview.LAB_WORKLOAD`); an unknown name is refused with the names the store holds.
    """
    from . import overview

    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InvalidInput(f"the report is an HTML file: give --out a name ending in .html, not {out.name!r}.")
    store = store if store is not None else ResultStore()
    rows = readings(store)
    pts = overview.points(store)
    if workload is not None:
        known = overview.workloads(pts)[1:]
        if workload not in known:
            raise InvalidInput(f"no Result in the store ran on workload {workload!r}; it holds: {', '.join(known)}.")
        pts = overview.filter_points(pts, workload=workload)
    chart = overview.figure(pts)
    out.parent.mkdir(parents=True, exist_ok=True)
    folder = config.repo_root() / "notebooks"
    notebooks = Path(os.path.relpath(folder, out.resolve().parent)).as_posix() if folder.is_dir() else None
    page = to_html(rows, store=store, overview=chart, notebooks=notebooks, workload=workload)
    out.write_text(page, encoding="utf-8")
    return out, rows
