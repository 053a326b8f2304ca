"""The overhead-vs-privacy dashboard: every technique's measured cost against what it protects.

One chart from the ResultStore: each point is one stored Result, placed at its
measured time ratio against plaintext (log scale) and on the row of what the
technique buys (confidentiality in transit or in use, integrity of outputs,
attack success prevented). Filters narrow it to one data state or threat
model, or to one workload (the lab's own models, or a model and data brought
with ``labkit assess``; choose several to compare them); hovering shows the Result; clicking a point shows the Result and a link
to the notebook that explores it. :mod:`labkit.overview` computes the data
(each technique's ``points`` door); :func:`dashboard` wires the widget; tests
call both without a browser.
"""

from __future__ import annotations

import html

from .. import overview, techniques
from ..overview import ALL, Point, filter_points, missing, options, points, trace_data, workloads
from ..results import ResultStore
from .figure import figure_widget

__all__ = [
    "ALL",
    "Point",
    "dashboard",
    "detail",
    "figure",
    "filter_points",
    "missing",
    "options",
    "points",
    "trace_data",
    "workloads",
]


def figure(pts: list[Point], *, widget: bool = False):
    """The chart (:func:`labkit.overview.figure`); ``widget=True`` gives a FigureWidget for the notebook."""
    fig = overview.figure(pts)
    return figure_widget(data=fig.data, layout=fig.layout) if widget else fig


def notebook_link(lab: str, *, link: bool = True) -> str:
    """HTML naming a notebook: a link relative to the notebooks folder (what JupyterLab resolves), or with
    ``link=False`` the path and how to open it (the Voila app serves no notebook but its own).

    >>> notebook_link("00_start_here", link=False)
    '<code>notebooks/00_start_here.py</code> (open it in JupyterLab: <code>make lab</code>)'
    """
    name = html.escape(lab)
    if not link:
        return f"<code>notebooks/{name}.py</code> (open it in JupyterLab: <code>make lab</code>)"
    return f"<a href='{name}.py' target='_blank'>notebooks/{name}.py</a>"


def detail(p: Point, store: ResultStore | None = None, *, notebook_links: bool = True) -> str:
    """HTML shown when a point is clicked: where it came from and the full Result."""
    t = techniques.get(p.technique)
    where = notebook_link(p.lab, link=notebook_links)
    head = (
        f"<div><b>{html.escape(t.title)}</b>: {html.escape(p.label)} ({html.escape(p.kind)})<br>"
        f"Made by <code>labkit bench {html.escape(t.key)}</code> or the lab notebook {where}; "
        f"protects: {html.escape(t.protects)}; against: {html.escape(t.adversary)}.</div>"
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

    Handles for tests and notebooks: ``box.data_state``, ``box.threat``, ``box.workload``, ``box.figure``,
    ``box.detail``, ``box.summary``, ``box.reload``, ``box.shown`` (technique -> visible points),
    ``box.select(technique, index)`` (what a click does).
    """
    import ipywidgets as w

    store = store if store is not None else ResultStore()
    state = {"all": list(pts) if pts is not None else points(store)}
    opts = options()
    data_state = w.Dropdown(options=opts["data_state"], value=ALL, description="Data state")
    threat = w.Dropdown(options=opts["threat"], value=ALL, description="Threat", layout=w.Layout(width="520px"))
    names = workloads(state["all"])[1:]
    workload = w.SelectMultiple(
        options=names, value=tuple(names), description="Workloads", rows=min(4, len(names)),
        layout=w.Layout(width="520px"),
    )  # fmt: skip
    fig = figure(state["all"], widget=True)
    panel = w.HTML("<i>Click a point to see its Result and the notebook that made it.</i>")
    summary = w.HTML()
    reload = w.Button(description="Reload results", icon="refresh")
    box = w.VBox([w.HBox([data_state, threat, reload]), workload, fig, panel, summary])
    box.shown = {}

    def redraw(change=None):
        shown = filter_points(state["all"], data_state=data_state.value, threat=threat.value, workload=workload.value)
        data = trace_data(shown)
        registered = techniques.registry()
        box.shown = {t.key: [p for p in shown if p.technique == t.key] for t in registered}
        with fig.batch_update():
            for trace, t in zip(fig.data, registered):
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
        chosen, before = set(workload.value), set(workload.options)
        workload.options = workloads(state["all"])[1:]
        # keep the reader's choice; a workload that is new since the last load is shown
        workload.value = tuple(n for n in workload.options if n in chosen or n not in before)
        redraw()

    for trace in fig.data:
        trace.on_click(on_click)
    data_state.observe(redraw, names="value")
    threat.observe(redraw, names="value")
    workload.observe(redraw, names="value")
    reload.on_click(on_reload)
    redraw()
    box.data_state, box.threat, box.figure, box.detail, box.summary = data_state, threat, fig, panel, summary
    box.workload = workload
    box.reload, box.select, box.on_click = reload, select, on_click
    return box
