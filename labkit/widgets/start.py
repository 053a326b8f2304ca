"""Notebook 00's first widget: pick a technique, see what it protects and what it is claimed to cost.

The overhead-vs-privacy dashboard (measured figures from the ResultStore)
replaces it once every lab has landed.
"""

from __future__ import annotations

import html

from .. import techniques
from .figure import figure_widget


def claimed_ranges() -> list[tuple[str, float, float]]:
    """(technique key, low, high) of every claimed overhead, as time ratios."""
    return [(t.key, t.claim.low, t.claim.high) for t in techniques.registry() if t.claim is not None]


def card(key: str) -> str:
    """HTML card: data state, what it protects, against whom, the claim, the anchors, the lab."""
    t = techniques.get(key)
    esc = html.escape
    claim = (
        f"<b>Claimed cost:</b> {esc(t.claim.text)} <i>({esc(t.claim.source)})</i>"
        if t.claim
        else "<b>Claimed cost:</b> no figure in the guide; see the published anchors."
    )
    anchors = "".join(f"<li>{esc(a)}</li>" for a in t.anchors)
    return (
        f"<div style='line-height:1.5'><h4 style='margin:4px 0'>{esc(t.title)}</h4>"
        f"<b>Data state:</b> {esc(t.data_state)}<br><b>Protects:</b> {esc(t.protects)}<br>"
        f"<b>Against:</b> {esc(t.adversary)}<br>{claim}<br>"
        f"<b>Published anchors:</b><ul style='margin:0'>{anchors}</ul>"
        f"<b>Measured in:</b> <code>notebooks/{esc(t.lab)}.py</code></div>"
    )


def _bar_colors(selected: str) -> list[str]:
    return ["#d95f02" if key == selected else "#9ecae1" for key, _, _ in claimed_ranges()]


def explorer(initial: str | None = None):
    """Dropdown of techniques -> card + claimed-overhead chart (log scale) with the pick highlighted.

    ``initial``: the technique shown first (default: the first registered).
    """
    import ipywidgets as w
    import plotly.graph_objects as go

    registered = techniques.registry()
    initial = initial or registered[0].key
    ranges = claimed_ranges()
    fig = figure_widget(
        data=[
            go.Bar(
                x=[k for k, _, _ in ranges],
                base=[lo for _, lo, _ in ranges],
                y=[hi - lo if hi > lo else hi * 0.02 for _, lo, hi in ranges],
                marker_color=_bar_colors(initial),
                hovertext=[techniques.get(k).claim.text for k, _, _ in ranges],
            )
        ],
        layout=go.Layout(
            title="Claimed time ratio against plaintext (log scale)",
            yaxis=dict(type="log", title="time ratio (1 = no overhead)"),
            height=320,
            margin=dict(l=60, r=20, t=50, b=40),
        ),
    )
    choose = w.Dropdown(options=[(t.title, t.key) for t in registered], value=initial, description="Technique")
    panel = w.HTML(card(initial))

    def update(change=None):
        key = choose.value
        panel.value = card(key)
        with fig.batch_update():
            fig.data[0].marker.color = _bar_colors(key)

    choose.observe(update, names="value")
    box = w.VBox([choose, w.HBox([panel, fig])])
    box.choose, box.panel, box.figure = choose, panel, fig  # handles for tests and notebooks
    return box
