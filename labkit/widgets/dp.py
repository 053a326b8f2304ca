"""Widget of notebook 06: walk the privacy-accuracy frontier, and retrain any point for real.

An epsilon slider moves along a precomputed sweep (:func:`labkit.dp.sweep`)
instantly: the left panel shows test accuracy and membership-attack AUC
against the accountant's epsilon, the right panel the accountant's epsilon
next to the audit's empirical lower bound. The "run this point now" button
trains the selected point again with DP-SGD, with a progress bar, and puts
the fresh numbers on the chart.

:func:`frontier_data` and :func:`point_summary` are the plain functions the
tests call; :func:`explorer` builds the ipywidgets view around them.

References
----------
Abadi et al., "Deep learning with differential privacy", CCS 2016.
Jagielski, Ullman, Oprea, "Auditing differentially private machine learning", NeurIPS 2020.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import InvalidInput
from ..results import Result
from .figure import figure_widget

SERIES = ("accuracy", "attack_auc", "attack_auc_calibrated", "empirical_epsilon", "epsilon")


def frontier_data(results: Sequence[Result]) -> dict[str, Any]:
    """Sweep Results as plain lists sorted by epsilon, plus the non-private reference values."""
    if not results:
        raise InvalidInput("the widget needs at least one dp/train_private Result (run labkit.dp.sweep first).")
    for r in results:
        if (r.technique, r.name) != ("dp", "train_private"):
            raise InvalidInput(f"the widget shows dp/train_private Results, not {r.technique}/{r.name}.")
    ordered = sorted(results, key=lambda r: r.metrics["epsilon"])
    data: dict[str, Any] = {key: [r.metrics[key] for r in ordered] for key in SERIES}
    data["delta"] = [r.metrics["delta"] for r in ordered]
    data["results"] = list(ordered)
    n = len(ordered)
    data["baseline_accuracy"] = sum(r.metrics["baseline_accuracy"] for r in ordered) / n
    data["baseline_attack_auc"] = sum(r.metrics["baseline_attack_auc"] for r in ordered) / n
    data["insecure"] = any(r.insecure for r in ordered)
    return data


def point_summary(data: dict[str, Any], index: int, *, fresh: Result | None = None) -> str:
    """HTML lines describing one point (and a freshly retrained copy of it, if given)."""
    if not 0 <= index < len(data["epsilon"]):
        raise InvalidInput(f"index must be between 0 and {len(data['epsilon']) - 1}, not {index}.")
    r = data["results"][index]
    m = r.metrics
    lines = [
        f"<b>({m['epsilon']:.3g}, {m['delta']:g})-DP</b> by the {html.escape(r.params['accountant'].upper())} "
        f"accountant (noise multiplier {m['noise_multiplier']:.3g}, clip {r.params['max_grad_norm']:g}, "
        f"{int(m['steps'])} steps)",
        f"test accuracy {m['accuracy']:.1%} (non-private {data['baseline_accuracy']:.1%})",
        f"attack AUC {m['attack_auc']:.3f} loss / {m['attack_auc_calibrated']:.3f} calibrated "
        f"(non-private {data['baseline_attack_auc']:.3f}); empirical epsilon &ge; {m['empirical_epsilon']:.2f}",
        f"DP epoch / plain epoch: {m['overhead']:.2f}x",
    ]
    if fresh is not None:
        f = fresh.metrics
        lines.append(
            f"<b>retrained now</b>: accuracy {f['accuracy']:.1%}, epsilon {f['epsilon']:.3g}, "
            f"attack AUC {f['attack_auc']:.3f}, {f['overhead']:.2f}x per epoch"
        )
    if data["insecure"]:
        lines.append("<span style='color:#b00020'>&#9888; not for production: Opacus secure mode off</span>")
    return "<br>".join(lines)


def explorer(
    results: Sequence[Result],
    *,
    train_fn: Callable[..., Result] | None = None,
):
    """An epsilon slider over the sweep, two linked charts, and a button that retrains the point.

    ``train_fn(result, progress=callback)`` retrains a point (default
    :func:`labkit.dp.retrain`); tests pass a stub.
    """
    import ipywidgets as w
    from plotly.subplots import make_subplots

    data = frontier_data(results)
    if train_fn is None:
        from ..dp.training import retrain as train_fn
    n = len(data["epsilon"])
    slider = w.SelectionSlider(
        options=[(f"{e:.3g}", i) for i, e in enumerate(data["epsilon"])],
        value=0,
        description="epsilon",
        continuous_update=True,
    )
    button = w.Button(description="run this point now", icon="play")
    bar = w.IntProgress(value=0, min=0, max=1, description="training", layout={"visibility": "hidden"})
    summary = w.HTML()
    base = make_subplots(rows=1, cols=2, subplot_titles=("accuracy and attack AUC", "accountant vs empirical epsilon"))
    fig = figure_widget(base)
    eps = data["epsilon"]
    fig.add_scatter(x=eps, y=data["accuracy"], mode="lines+markers", name="DP accuracy", row=1, col=1)
    fig.add_scatter(x=eps, y=data["attack_auc"], mode="lines+markers", name="attack AUC (loss)", row=1, col=1)
    fig.add_scatter(
        x=eps,
        y=[data["baseline_accuracy"]] * n,
        mode="lines",
        name="non-private accuracy",
        line={"dash": "dash"},
        row=1,
        col=1,
    )
    fig.add_scatter(x=eps, y=eps, mode="lines+markers", name="accountant epsilon", row=1, col=2)
    fig.add_scatter(
        x=eps, y=data["empirical_epsilon"], mode="lines+markers", name="empirical lower bound", row=1, col=2
    )
    fig.add_scatter(
        x=[], y=[], mode="markers", name="selected", marker={"size": 16, "symbol": "circle-open"}, row=1, col=1
    )
    fig.add_scatter(
        x=[], y=[], mode="markers", name="retrained now", marker={"size": 12, "symbol": "star"}, row=1, col=1
    )
    fig.update_xaxes(type="log", title_text="epsilon (accountant)")
    fig.update_yaxes(range=[0, 1.05], row=1, col=1)
    fig.update_layout(height=380, margin={"l": 50, "r": 20, "t": 50, "b": 40})
    selected, fresh_trace = fig.data[5], fig.data[6]
    fresh: dict[int, Result] = {}

    def redraw(*_):
        i = slider.value
        with fig.batch_update():
            selected.x = [eps[i], eps[i]]
            selected.y = [data["accuracy"][i], data["attack_auc"][i]]
            xs = [f.metrics["epsilon"] for f in fresh.values()]
            fresh_trace.x = xs
            fresh_trace.y = [f.metrics["accuracy"] for f in fresh.values()]
        summary.value = point_summary(data, i, fresh=fresh.get(i))

    def progress(done: int, total: int) -> None:
        bar.max = max(total, 1)
        bar.value = done

    def run_now(_=None):
        i = slider.value
        button.disabled = True
        bar.layout.visibility = "visible"
        try:
            fresh[i] = train_fn(data["results"][i], progress=progress)
        finally:
            button.disabled = False
            bar.layout.visibility = "hidden"
        redraw()

    slider.observe(redraw, names="value")
    button.on_click(run_now)
    redraw()
    box = w.VBox([w.HBox([slider, button, bar]), fig, summary])
    box.redraw, box.run_now = redraw, run_now  # for tests and notebooks
    box.figure, box.fresh = fig, fresh
    box.controls = {"epsilon": slider, "run": button, "progress": bar}
    return box
