"""The overhead-vs-privacy dashboard: every technique's measured cost against what it protects.

One chart from the ResultStore: each point is one stored Result, placed at its
measured time ratio against plaintext (log scale) and on the row of what the
technique buys (confidentiality in transit or in use, integrity of outputs,
attack success prevented). Filters narrow it to one data state or threat
model; hovering shows the Result; clicking a point shows the Result and a link
to the notebook that explores it. :func:`points` computes the data and
:func:`dashboard` wires the widget; tests call both without a browser.

References
----------
The claims and anchors: the project's ``shared/CLAIMS.md`` and :mod:`labkit.claims`.
"""

from __future__ import annotations

import datetime as _dt
import html
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..claims import PROTECTIONS, TECHNIQUES, technique
from ..results import Result, ResultStore, params_key
from .figure import figure_widget

ALL = "all"
KIND_SYMBOL = {"measured": "circle", "simulated": "diamond", "modelled": "square-open"}
COLORS = {
    "he": "#1b9e77",
    "zk": "#d95f02",
    "mpc": "#7570b3",
    "dp": "#e7298a",
    "tee": "#66a61e",
    "pqc": "#e6ab02",
    "inversion": "#a6761d",
}
BENCH_LAB = {"he": "he", "zk": "zk", "mpc": "mpc", "dp": "dp", "tee": "tee", "pqc": "pqc", "inversion": "inversion"}


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

    @property
    def protection(self) -> str:
        return technique(self.technique).protection

    @property
    def data_state(self) -> str:
        return technique(self.technique).data_state

    @property
    def threat(self) -> str:
        return technique(self.technique).threat


def _when(r: Result) -> str:
    env = r.environment or {}
    stamp = _dt.datetime.fromtimestamp(r.created, tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    where = f"{env.get('cpu', '?')}, {env.get('cores', '?')} cores" if env else "unknown machine"
    return f"{stamp} on {where}" + (", fast mode" if env.get("fast") else "")


def _hover(r: Result, label: str, ratio: float, low, high, extra: str = "") -> str:
    from ..benchmarks import headline

    iqr = f" (IQR {low:.3g}-{high:.3g})" if low is not None and high is not None else ""
    lines = [
        f"<b>{html.escape(r.technique)} / {html.escape(r.name)}</b>",
        html.escape(label),
        f"time ratio vs plaintext: {ratio:.3g}x{iqr}",
    ]
    if extra:
        lines.append(html.escape(extra))
    claim = technique(r.technique).claim if r.technique in {t.key for t in TECHNIQUES} else None
    if claim is not None:
        lines.append(f"claimed: {html.escape(claim.text)} ({html.escape(claim.source)})")
    lines.append(html.escape(headline(r, limit=3)))
    lines += [f"&#9888; {html.escape(f)}" for f in r.flags]
    lines.append(html.escape(_when(r)))
    return "<br>".join(lines)


def _point(
    r: Result,
    label: str,
    key: str,
    *,
    kind: str = "measured",
    lab: str | None = None,
    extra: str = "",
    tech: str | None = None,
) -> Point:
    ratio = float(r.metrics[key])
    low, high = r.metrics.get(f"{key}_low"), r.metrics.get(f"{key}_high")
    t = technique(tech or r.technique)
    return Point(t.key, label, ratio, low, high, kind, r.id, lab or t.lab, _hover(r, label, ratio, low, high, extra))


def _he(r: Result) -> list[Point]:
    if not r.name.endswith("_inference") or "overhead" not in r.metrics:
        return []
    p = r.params
    return [_point(r, f"{r.name.replace('_inference', '')} inference, {p.get('mode')}, {p.get('backend')}", "overhead")]


def _zk(r: Result) -> list[Point]:
    if r.name != "costs" or "overhead" not in r.metrics:
        return []
    extra = f"verify {r.metrics.get('verify_ms', float('nan')):.3g} ms, proof {r.metrics.get('proof_bytes', 0):.0f} B"
    return [
        _point(
            r, f"ezkl prove, {r.params.get('model', '')} width {r.params.get('width', '?')}", "overhead", extra=extra
        )
    ]


def _mpc(r: Result) -> list[Point]:
    if not r.name.endswith("_inference") or "overhead" not in r.metrics:
        return []
    return [_point(r, f"{r.params.get('model')} inference, {r.params.get('parties')} parties", "overhead")]


def _dp(r: Result) -> list[Point]:
    if r.name != "train_private" or "overhead" not in r.metrics:
        return []
    m = r.metrics
    extra = f"accuracy {m.get('accuracy', float('nan')):.3g}"
    if "attack_auc" in m and "baseline_attack_auc" in m:
        extra += f"; membership attack AUC {m['baseline_attack_auc']:.3g} -> {m['attack_auc']:.3g}"
    eps = m.get("epsilon", r.params.get("target_epsilon"))
    label = "DP-SGD epoch vs non-private" + (f", epsilon {eps:.3g}" if isinstance(eps, (int, float)) else "")
    return [_point(r, label, "overhead", extra=extra)]


def _tee(r: Result) -> list[Point]:
    if r.name == "boundary_overhead" and "overhead" in r.metrics:
        label = f"simulated enclave boundary, batch {r.params.get('batch_size')}, width {r.params.get('hidden')}"
        return [
            _point(r, label, "overhead", kind="simulated", extra="measured cost of the simulation, not of hardware")
        ]
    if r.name == "modelled_hardware_overhead":
        out = [
            _point(r, f"modelled SGX enclave, {k[4:-2]} MB working set", k, kind="modelled")
            for k in r.metrics
            if k.startswith("sgx.")
        ]
        cvm = [k for k in r.metrics if k.startswith("cvm.")]
        if cvm:
            out.append(_point(r, "modelled confidential VM (TDX, SEV-SNP), any working set", cvm[0], kind="modelled"))
        return out
    return []


def _pqc(r: Result) -> list[Point]:
    if r.name == "claims_check":
        return [
            _point(r, label, key)
            for key, label in (
                ("handshake_overhead", "TLS 1.3, X25519MLKEM768 vs X25519 (RSA-2048 cert)"),
                ("pq_handshake_overhead", "TLS 1.3, X25519MLKEM768 + ML-DSA-65 vs X25519 + RSA-2048"),
            )
            if key in r.metrics
        ]
    if r.name == "sweep_cell" and "MLKEM" in str(r.params.get("group")) and "overhead" in r.metrics:
        label = f"TLS 1.3, {r.params.get('group')} + {r.params.get('cert')} vs X25519 + ECDSA P-256"
        return [_point(r, label, "overhead")]
    return []


def _inversion(r: Result) -> list[Point]:
    if r.name != "scenario" or "aggregation_overhead" not in r.metrics:
        return []
    extra = f"attack PSNR {r.metrics['psnr']:.3g} dB" if "psnr" in r.metrics else ""
    label = (
        f"secure aggregation ({r.params.get('secure_aggregator')}) vs plain sum, {r.params.get('n_clients')} clients"
    )
    return [_point(r, label, "aggregation_overhead", extra=extra)]


EXTRACT: dict[str, Callable[[Result], list[Point]]] = {
    "he": _he,
    "zk": _zk,
    "mpc": _mpc,
    "dp": _dp,
    "tee": _tee,
    "pqc": _pqc,
    "inversion": _inversion,
}


def points(store: ResultStore | None = None, *, results: Iterable[Result] | None = None) -> list[Point]:
    """Chart points from the newest Result of each (technique, name, params) in ``store``.

    Only time ratios against a plaintext (or classical) baseline measured in the same
    run are plotted; modelled figures are kept and labelled "modelled".
    """
    if results is None:
        results = (store if store is not None else ResultStore()).query()
    seen, out = set(), []
    for r in results:  # newest first
        key = (r.technique, r.name, params_key(r.params))
        if r.technique not in EXTRACT or key in seen:
            continue
        seen.add(key)
        out += [p for p in EXTRACT[r.technique](r) if p.overhead > 0]
    return out


def missing(pts: Iterable[Point]) -> list[str]:
    """Techniques with nothing to plot yet, each with the command that measures it."""
    have = {p.technique for p in pts}
    return [f"{t.name}: not measured yet: run labkit bench {BENCH_LAB[t.key]}" for t in TECHNIQUES if t.key not in have]


def filter_points(pts: Iterable[Point], *, data_state: str = ALL, threat: str = ALL) -> list[Point]:
    """The points whose technique protects ``data_state`` against ``threat`` ("all" keeps every one)."""
    return [p for p in pts if data_state in (ALL, p.data_state) and threat in (ALL, p.threat)]


def options() -> dict[str, list[str]]:
    """Filter choices: data states and threat models of the catalogue, each after "all"."""
    return {
        "data_state": [ALL, *dict.fromkeys(t.data_state for t in TECHNIQUES)],
        "threat": [ALL, *dict.fromkeys(t.threat for t in TECHNIQUES)],
    }


def _y(p: Point, t_index: dict[str, int]) -> float:
    """Row of the protection, spread a little by technique so techniques on one row do not hide each other."""
    return PROTECTIONS.index(p.protection) + (t_index[p.technique] - 3) * 0.08


def trace_data(pts: list[Point]) -> dict[str, dict[str, list]]:
    """Per technique: x (ratio), y (row), hovertext, customdata (result id), symbols, IQR error bars."""
    t_index = {t.key: i for i, t in enumerate(TECHNIQUES)}
    data = {
        t.key: {"x": [], "y": [], "hovertext": [], "customdata": [], "symbol": [], "plus": [], "minus": []}
        for t in TECHNIQUES
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


def figure(pts: list[Point], *, widget: bool = False):
    """The chart as a plotly Figure (``widget=True``: a FigureWidget), one trace per technique."""
    import plotly.graph_objects as go

    data = trace_data(pts)
    traces = [
        go.Scatter(
            x=d["x"],
            y=d["y"],
            mode="markers",
            name=t.key,
            hovertext=d["hovertext"],
            hoverinfo="text",
            customdata=d["customdata"],
            marker=dict(size=11, color=COLORS[t.key], symbol=d["symbol"], line=dict(width=1, color="#333")),
            error_x=dict(type="data", array=d["plus"], arrayminus=d["minus"], thickness=1, width=3),
        )
        for t, d in ((t, data[t.key]) for t in TECHNIQUES)
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
    return (figure_widget if widget else go.Figure)(data=traces, layout=layout)


def notebook_link(lab: str, *, link: bool = True) -> str:
    """HTML naming a notebook: a link relative to the notebooks folder (what JupyterLab resolves), or with
    ``link=False`` the path and how to open it (the Voila app serves no notebook but its own).

    >>> notebook_link("04_zk_proofs", link=False)
    '<code>notebooks/04_zk_proofs.py</code> (open it in JupyterLab: <code>make lab</code>)'
    """
    name = html.escape(lab)
    if not link:
        return f"<code>notebooks/{name}.py</code> (open it in JupyterLab: <code>make lab</code>)"
    return f"<a href='{name}.py' target='_blank'>notebooks/{name}.py</a>"


def detail(p: Point, store: ResultStore | None = None, *, notebook_links: bool = True) -> str:
    """HTML shown when a point is clicked: where it came from and the full Result."""
    t = technique(p.technique)
    where = notebook_link(p.lab, link=notebook_links)
    head = (
        f"<div><b>{html.escape(t.name)}</b>: {html.escape(p.label)} ({html.escape(p.kind)})<br>"
        f"Made by <code>labkit bench {BENCH_LAB[t.key]}</code> or the lab notebook {where}; "
        f"protects: {html.escape(t.protects)}; against: {html.escape(t.threat)}.</div>"
    )
    body = ""
    if store is not None:
        try:
            body = store.get(p.result_id)._repr_html_()
        except KeyError:
            body = "<i>this Result is no longer in the store</i>"
    return head + body


def dashboard(store: ResultStore | None = None, *, pts: list[Point] | None = None, notebook_links: bool = True):
    """The widget: filters, the chart, a detail panel filled by clicking a point, a reload button.

    ``notebook_links=False`` names the notebook behind a point instead of linking to it (the Voila app).

    Handles for tests and notebooks: ``box.data_state``, ``box.threat``, ``box.figure``,
    ``box.detail``, ``box.summary``, ``box.reload``, ``box.shown`` (technique -> visible points),
    ``box.select(technique, index)`` (what a click does).
    """
    import ipywidgets as w

    store = store if store is not None else ResultStore()
    state = {"all": list(pts) if pts is not None else points(store)}
    opts = options()
    data_state = w.Dropdown(options=opts["data_state"], value=ALL, description="Data state")
    threat = w.Dropdown(options=opts["threat"], value=ALL, description="Threat", layout=w.Layout(width="520px"))
    fig = figure(state["all"], widget=True)
    panel = w.HTML("<i>Click a point to see its Result and the notebook that made it.</i>")
    summary = w.HTML()
    reload = w.Button(description="Reload results", icon="refresh")
    box = w.VBox([w.HBox([data_state, threat, reload]), fig, panel, summary])
    box.shown = {}

    def redraw(change=None):
        shown = filter_points(state["all"], data_state=data_state.value, threat=threat.value)
        data = trace_data(shown)
        box.shown = {t.key: [p for p in shown if p.technique == t.key] for t in TECHNIQUES}
        with fig.batch_update():
            for trace, t in zip(fig.data, TECHNIQUES):
                d = data[t.key]
                trace.x, trace.y, trace.hovertext, trace.customdata = d["x"], d["y"], d["hovertext"], d["customdata"]
                trace.marker.symbol = d["symbol"]
                trace.error_x.array, trace.error_x.arrayminus = d["plus"], d["minus"]
        gaps = missing(state["all"])
        summary.value = (
            f"<small>{len(shown)} of {len(state['all'])} points shown, from {store.path.name}. "
            + ("".join(f"<br>{html.escape(g)}" for g in gaps))
            + "</small>"
        )

    def select(tech: str, index: int) -> Point:
        p = box.shown[tech][index]
        panel.value = detail(p, store, notebook_links=notebook_links)
        return p

    def on_click(trace, pointer, _state):
        if pointer.point_inds:
            select(trace.name, pointer.point_inds[0])

    def on_reload(_button=None):
        state["all"] = points(store)
        redraw()

    for trace in fig.data:
        trace.on_click(on_click)
    data_state.observe(redraw, names="value")
    threat.observe(redraw, names="value")
    reload.on_click(on_reload)
    redraw()
    box.data_state, box.threat, box.figure, box.detail, box.summary = data_state, threat, fig, panel, summary
    box.reload, box.select, box.on_click = reload, select, on_click
    return box
