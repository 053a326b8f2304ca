"""Widget of notebook 09: switch defense layers on and off, see the table and the privacy/overhead frontier.

Each toggle picks a stack of layers. The chart places every measured stack by
its overhead against the plain round (log scale) and the PSNR of the curious
server's reconstruction; a filled marker means the poisoned update was
rejected, an open one that it got in. The selected stack is ringed and its
numbers fill the table. A stack not measured yet runs for real (a few
seconds; much longer with the ``zk`` layer) when "run it" is pressed.

:func:`frontier_data` and :func:`describe_stack` are the plain functions the
tests call; :func:`explorer` builds the ipywidgets view around them.

References
----------
Geiping et al., "Inverting Gradients", NeurIPS 2020.
Sun, Kairouz, Suresh & McMahan, "Can you really backdoor federated learning?", arXiv:1911.07963 (2019).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from typing import Any

from ..capstone.layers import DESCRIPTIONS, LAYERS, REQUIRES, check_stack, stack_name
from ..errors import InvalidInput, LabkitError
from ..results import Result
from .figure import figure_widget

CROWDED = (0.35, 10.0)  # two points closer than this (decades of overhead, dB of PSNR) share a neighbourhood
AROUND = ("top left", "bottom right", "top right", "bottom left", "top center", "bottom center")


def label_positions(overhead: Sequence[float], psnr: Sequence[float]) -> list[str]:
    """Text positions for the stack labels: a lone point is labelled above (left of it at the right
    edge); points in one neighbourhood take turns round the marker, so their labels do not overlap.

    >>> label_positions([1.0, 10.0, 11.0, 2000.0], [80.0, 8.0, 7.5, 7.0])
    ['top center', 'top left', 'bottom right', 'top left']

    A chain of neighbours (the third close to the second only) takes turns round the first:

    >>> label_positions([1.0, 10**0.3, 10**0.6, 2000.0], [8.0, 8.0, 8.0, 8.0])
    ['top left', 'bottom right', 'top right', 'top left']
    """
    logs = [math.log10(max(x, 1e-3)) for x in overhead]
    right = max(logs, default=0.0)

    def close(i: int, j: int) -> bool:
        return abs(logs[i] - logs[j]) < CROWDED[0] and abs(psnr[i] - psnr[j]) < CROWDED[1]

    # turns: labels placed so far round each neighbourhood's first point; leader: that first point, per point
    # (a point close only to a later member of a neighbourhood joins that neighbourhood)
    out, turns, leader = [], {}, {}
    for i in range(len(logs)):
        first = next((j for j in range(i) if close(i, j)), None)
        if first is not None:
            leader[i] = leader[first]
            turns[leader[i]] += 1
            out.append(AROUND[turns[leader[i]] % len(AROUND)])
        else:
            leader[i], turns[i] = i, 0
            crowded = any(close(i, j) for j in range(i + 1, len(logs)))
            out.append("top left" if logs[i] > right - 0.3 else (AROUND[0] if crowded else "top center"))
    return out


def frontier_data(results: Sequence[Result]) -> dict[str, Any]:
    """Capstone Results as plain lists (one entry per stack, sorted by overhead)."""
    results = list(results)
    if not results:
        raise InvalidInput("the widget needs at least one capstone Result (run labkit.capstone.compare first).")
    for r in results:
        if (r.technique, r.name) != ("capstone", "layered_round"):
            raise InvalidInput(f"the widget shows capstone/layered_round Results, not {r.technique}/{r.name}.")
    ordered = sorted(results, key=lambda r: r.metrics["overhead"])
    return {
        "stack": [stack_name(r.params["layers"]) for r in ordered],
        "overhead": [max(float(r.metrics["overhead"]), 1e-3) for r in ordered],
        "psnr": [float(r.metrics["psnr"]) for r in ordered],
        "ssim": [float(r.metrics["ssim"]) for r in ordered],
        "accuracy": [float(r.metrics["accuracy"]) for r in ordered],
        "poison_caught": [bool(r.metrics["poison_caught"]) for r in ordered],
        "results": ordered,
    }


def describe_stack(data: dict[str, Any], layers: Sequence[str]) -> str:
    """An HTML table row set for one stack (or a note that it has not been measured)."""
    name = stack_name(layers)
    if name not in data["stack"]:
        return f"<p>Stack <b>{html.escape(name)}</b> has not been measured yet: press <i>run it</i>.</p>"
    r = data["results"][data["stack"].index(name)]
    m = r.metrics
    rows = [
        ("layers", ", ".join(DESCRIPTIONS[k] for k in check_stack(r.params["layers"])) or "none"),
        ("model accuracy after the round", f"{m['accuracy']:.1%} (before: {m['accuracy_before']:.1%})"),
        ("curious server's reconstruction", f"PSNR {m['psnr']:.1f} dB, SSIM {m['ssim']:.2f}"),
        ("server sees", r.artifacts.get("server_sees", "")),
        ("poisoned update", "rejected unseen" if m["poison_caught"] else "admitted"),
        ("overhead vs the plain round", f"{m['overhead']:.3g}x"),
    ]
    if "epsilon" in m:
        rows.append(("DP budget of the round", f"epsilon {m['epsilon']:.3g} at delta 1e-5"))
    if r.insecure:
        rows.append(("flag", "NOT FOR PRODUCTION: " + "; ".join(r.artifacts.get("notes", []))))
    body = "".join(
        f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    return f"<table>{body}</table>"


def _symbols(caught: Sequence[bool]) -> list[str]:
    return ["circle" if c else "circle-open" for c in caught]


def explorer(results: Sequence[Result], *, run: Callable[[tuple[str, ...]], Result] | None = None):
    """Toggles for the layers, a "run it" button, the frontier chart and the table.

    Parameters
    ----------
    results : list of Result
        Capstone Results, e.g. from :func:`labkit.capstone.compare`.
    run : callable, optional
        ``run(layers) -> Result`` for a stack not in ``results`` (default :func:`labkit.capstone.evaluate`).

    Returns
    -------
    ipywidgets.VBox
        With ``.figure`` (the FigureWidget), ``.toggles``, ``.table`` and ``.select(layers)`` for tests.
    """
    import ipywidgets as W

    from ..capstone import evaluate

    run = run or evaluate
    state = {"results": list(results)}
    frontier_data(state["results"])  # validate before building anything
    fig = figure_widget()
    fig.add_scatter(name="stacks", mode="markers+text", textposition="top center", marker={"size": 12})
    fig.add_scatter(name="selected", mode="markers", marker={"size": 26, "symbol": "circle-open", "line": {"width": 3}})
    fig.update_layout(
        height=420,
        xaxis={"type": "log", "title": "overhead vs the plain round (x, log)"},
        yaxis={"title": "attack PSNR (dB): lower is more private"},
        showlegend=False,
        title="privacy / overhead frontier (filled: poisoned update rejected)",
        margin={"t": 50},
    )
    toggles = {k: W.ToggleButton(value=False, description=k, tooltip=DESCRIPTIONS[k]) for k in LAYERS}
    button = W.Button(description="run it", tooltip="measure this stack now (zk: tens of seconds)")
    table = W.HTML()
    status = W.HTML()

    def selected() -> tuple[str, ...]:
        return check_stack([k for k, t in toggles.items() if t.value])

    def redraw(*_):
        d = frontier_data(state["results"])
        layers = selected()
        name = stack_name(layers)
        with fig.batch_update():
            fig.data[0].x, fig.data[0].y, fig.data[0].text = d["overhead"], d["psnr"], d["stack"]
            fig.data[0].textposition = label_positions(d["overhead"], d["psnr"])
            fig.data[0].marker.symbol = _symbols(d["poison_caught"])
            if name in d["stack"]:
                i = d["stack"].index(name)
                fig.data[1].x, fig.data[1].y = [d["overhead"][i]], [d["psnr"][i]]
            else:
                fig.data[1].x, fig.data[1].y = [], []
        table.value = describe_stack(d, layers)
        button.disabled = name in d["stack"]

    def on_run(_):
        layers = selected()
        status.value = f"running {html.escape(stack_name(layers))} ..."
        try:
            state["results"].append(run(layers))
        except LabkitError as exc:  # e.g. every client rejected: say why, keep the widget usable
            status.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
            return
        status.value = ""
        redraw()

    def requirements(change):
        # switching on a layer that needs another switches that one on; switching it off, the dependant off
        key = change["owner"].description
        for layer, needed in REQUIRES.items():
            if key == layer and change["new"]:
                toggles[needed].value = True
            elif key == needed and not change["new"]:
                toggles[layer].value = False

    for t in toggles.values():
        t.observe(requirements, names="value")  # before redraw: redraw always sees a valid stack
        t.observe(redraw, names="value")
    button.on_click(on_run)
    redraw()

    def select(layers: Sequence[str]) -> None:
        wanted = check_stack(layers)
        for k, t in toggles.items():
            t.value = k in wanted
        redraw()

    box = W.VBox([W.HBox([*toggles.values(), button, status]), fig, table])
    box.figure, box.toggles, box.table, box.button, box.select = fig, toggles, table, button, select
    box.results = state["results"]
    return box
