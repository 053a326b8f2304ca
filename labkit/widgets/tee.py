"""Notebook 07's widgets: toggle an attack and see the appraisal; slide a working set and see the modelled cost.

``attack_explorer`` shows, for each attack in :data:`labkit.tee.attacks.ATTACKS`,
the verifier's verdict and reasons and whether the model key was released.
The outcomes come from a real run (:func:`labkit.tee.attacks.run_all`); the
widget only displays them. ``cost_explorer`` draws the modelled SGX and
confidential-VM overhead (:mod:`labkit.tee.costs`, labelled "modelled") with
the published figures and the guide's claim (``TECHNIQUE.claim`` of
:mod:`labkit.tee.technique`, judged with :func:`labkit.report.verdict`).
"""

from __future__ import annotations

import html
import math

import numpy as np

from .. import report
from ..tee.technique import TECHNIQUE
from .figure import figure_widget

CHECKS = (
    "untrusted_platform",
    "platform_tcb_below_policy",
    "bad_signature",
    "stale_nonce",
    "measurement_mismatch",
    "signer_mismatch",
    "svn_below_policy",
    "debug_enclave",
    "TamperDetected",
    "RollbackDetected",
)
PASS, FAIL = "#1b9e77", "#d95f02"


def outcomes_by_name(res) -> dict[str, dict]:
    """The attack outcomes of a ``run_all`` Result, by attack name."""
    return {o["attack"]: o for o in res.artifacts["outcomes"]}


def check_colors(outcome: dict) -> list[str]:
    """One colour per check in :data:`CHECKS`: orange where the check fired for this attack."""
    fired = set(outcome["reasons"])
    return [FAIL if c in fired else PASS for c in CHECKS]


def card(outcome: dict) -> str:
    """HTML: what the attack was, whether it was stopped and why, whether the key left the key service."""
    esc = html.escape
    stopped = outcome["stopped"]
    verdict = "stopped" if stopped else ("no attack: trusted" if outcome["attack"] == "honest" else "NOT stopped")
    colour = PASS if stopped or outcome["attack"] == "honest" else "#b00020"
    reasons = "".join(f"<li><code>{esc(r)}</code></li>" for r in outcome["reasons"]) or "<li>none</li>"
    released = "yes" if outcome["key_released"] else "no"
    return (
        f"<div style='line-height:1.5;min-width:320px'><h4 style='margin:4px 0'>{esc(outcome['attack'])}</h4>"
        f"<b style='color:{colour}'>{esc(verdict)}</b><br><b>Reasons:</b><ul style='margin:0'>{reasons}</ul>"
        f"<b>Model key released:</b> {released}<br><i>{esc(outcome['detail'])}</i></div>"
    )


def attack_explorer(res=None, initial: str = "honest"):
    """ToggleButtons of attacks -> verdict card + a bar per check, orange where it fired.

    Parameters
    ----------
    res : Result, optional
        From :func:`labkit.tee.attacks.run_all` (run now if omitted: launches a few enclave processes).
    """
    import ipywidgets as w
    import plotly.graph_objects as go

    if res is None:
        from ..tee.attacks import run_all

        res = run_all()
    outs = outcomes_by_name(res)
    if initial not in outs:
        initial = next(iter(outs))
    fig = figure_widget(
        data=[
            go.Bar(
                x=list(CHECKS),
                y=[1] * len(CHECKS),
                marker_color=check_colors(outs[initial]),
                hovertext=["fired" if c == FAIL else "passed" for c in check_colors(outs[initial])],
            )
        ],
        layout=go.Layout(
            title="Checks (orange = fired for this attack)",
            height=300,
            yaxis=dict(visible=False),
            margin=dict(l=20, r=20, t=50, b=110),
        ),
    )
    toggle = w.ToggleButtons(options=list(outs), value=initial, description="Attack")
    panel = w.HTML(card(outs[initial]))

    def update(change=None):
        o = outs[toggle.value]
        panel.value = card(o)
        colors = check_colors(o)
        with fig.batch_update():
            fig.data[0].marker.color = colors
            fig.data[0].hovertext = ["fired" if c == FAIL else "passed" for c in colors]

    toggle.observe(update, names="value")
    box = w.VBox([toggle, w.HBox([panel, fig])])
    box.toggle, box.panel, box.figure = toggle, panel, fig
    return box


def cost_curves(model=None, *, max_mb: float = 1024.0, points: int = 200) -> dict[str, np.ndarray]:
    """Working sets (MB) and the modelled SGX and confidential-VM time ratios over them."""
    from ..tee.costs import CostModel

    model = model or CostModel()
    ws = np.linspace(1.0, max_mb, points)
    return {"working_set_mb": ws, "sgx": model.ratio(ws, kind="sgx"), "cvm": model.ratio(ws, kind="cvm")}


def readout(working_set_mb: float, model=None) -> str:
    """HTML: the modelled SGX and confidential-VM ratios at one working set, against the claim."""
    from ..tee.costs import CostModel

    model = model or CostModel()
    sgx, cvm = float(model.ratio(working_set_mb)), float(model.ratio(working_set_mb, kind="cvm"))
    claim = TECHNIQUE.claim
    holds = "within" if report.verdict(claim, sgx) == report.HOLDS else "outside"
    return (
        f"<b>Working set {working_set_mb:.0f} MB</b> (modelled): SGX enclave {sgx:.2f}x, "
        f"confidential VM {cvm:.2f}x; the SGX figure is {holds} the claimed {html.escape(claim.text)}."
    )


def cost_explorer(model=None, initial_mb: float = 64.0, max_mb: float = 1024.0):
    """Working-set slider -> modelled overhead curves, a marker at the chosen point, published figures."""
    import ipywidgets as w
    import plotly.graph_objects as go

    from ..tee.costs import PUBLISHED, CostModel

    model, claim = model or CostModel(), TECHNIQUE.claim
    c = cost_curves(model, max_mb=max_mb)
    fig = figure_widget(
        data=[
            go.Scatter(x=c["working_set_mb"], y=c["sgx"], name="SGX enclave (modelled)", mode="lines"),
            go.Scatter(x=c["working_set_mb"], y=c["cvm"], name="confidential VM (modelled)", mode="lines"),
            go.Scatter(
                x=[initial_mb],
                y=[float(model.ratio(initial_mb))],
                name="your working set",
                mode="markers",
                marker=dict(size=12, color="black"),
            ),
        ],
        layout=go.Layout(
            title="Modelled TEE overhead vs working set (not measured)",
            height=380,
            xaxis=dict(title="working set (MB)"),
            yaxis=dict(type="log", title="time ratio"),
            margin=dict(l=60, r=20, t=50, b=40),
        ),
    )
    # On a log axis plotly reads an annotation's y as log10(value): place the labels ourselves.
    fig.add_hrect(y0=claim.low, y1=claim.high, fillcolor="green", opacity=0.15, line_width=0)
    fig.add_annotation(
        x=0,
        xref="paper",
        y=math.log10(claim.high),
        text=f"claimed {claim.text}",
        showarrow=False,
        xanchor="left",
        yanchor="bottom",
    )
    for label, ratio in PUBLISHED:
        fig.add_hline(y=ratio, line_dash="dot", line_color="grey")
        fig.add_annotation(
            x=1,
            xref="paper",
            y=math.log10(ratio),
            text=label,
            showarrow=False,
            xanchor="right",
            yanchor="top",
            font_size=9,
        )
    fig.add_vline(x=model.epc_mb, line_dash="dash", line_color="red", annotation_text="usable EPC")
    slider = w.FloatSlider(
        value=initial_mb, min=1, max=max_mb, step=1, description="Working set MB", continuous_update=False
    )
    panel = w.HTML(readout(initial_mb, model))

    def update(change=None):
        ws = slider.value
        panel.value = readout(ws, model)
        with fig.batch_update():
            fig.data[2].x = [ws]
            fig.data[2].y = [float(model.ratio(ws))]

    slider.observe(update, names="value")
    box = w.VBox([slider, panel, fig])
    box.slider, box.panel, box.figure = slider, panel, fig
    return box
