"""Notebook 03's widgets: watch a gradient-inversion attack converge; slide defenses until it stops.

``attack_explorer``: pick a data set, an image, an attack and an iteration
budget; the reconstruction is redrawn as the attack converges, with its PSNR
curve beside it. ``defense_explorer``: one slider per defense (and the batch
size); each run shows the private image, what the server rebuilt from the
defended update, the PSNR and the federated model's test accuracy, and adds a
point to the privacy-utility plane. The computing parts, :func:`attack_frames`
and :func:`defense_frame`, are plain functions the tests call.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..inversion.technique import THRESHOLD_DB, stopped
from .figure import figure_widget

SLIDER_KNOBS = ("gaussian_noise", "clipping", "dp_sgd", "pruning", "quantization")


def to_rgb(image: np.ndarray) -> np.ndarray:
    """(C, H, W) in [0, 1] -> (H, W, 3) uint8 for ``plotly.graph_objects.Image``."""
    a = np.clip(np.asarray(image, dtype=np.float64), 0, 1)
    if a.shape[0] == 1:
        a = np.repeat(a, 3, axis=0)
    return (np.transpose(a, (1, 2, 0)) * 255).round().astype(np.uint8)


def attack_frames(
    *,
    data: str = "digits",
    image_index: int = 0,
    attack_kind: str = "idlg",
    iterations: int = 40,
    rng: int | np.random.Generator | None = None,
    on_frame=None,
) -> dict[str, Any]:
    """Run one undefended attack; return the true image, the reconstruction at each record, and PSNR per record.

    ``on_frame(iteration, reconstruction, psnr)`` is called as frames arrive (the widget redraws there);
    ``rng`` seeds the model and the attack (None: ``LABKIT_SEED``).
    """
    from ..inversion.scenario import run_scenario

    frames: list[tuple[int, np.ndarray, float]] = []

    def record(it, rec, loss, p):
        frames.append((it, rec[0], p))
        if on_frame is not None:
            on_frame(it, rec[0], p)

    s = run_scenario(
        data=data, attack_kind=attack_kind, image_index=image_index, iterations=iterations, rng=rng, callback=record
    )
    return {
        "true": s.value.private[0],
        "frames": frames,
        "result": s.result,
        "iterations": [f[0] for f in frames],
        "psnr": [f[2] for f in frames],
    }


def attack_explorer(*, data: str = "digits", iterations: int = 40, run: bool = False):
    """Controls -> live reconstruction and PSNR curve. ``run=True`` runs once on build."""
    import ipywidgets as w
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from ..fl.data import image_data

    base = make_subplots(
        rows=1, cols=3, subplot_titles=("private image", "reconstruction", "PSNR (dB)"), column_widths=[0.25, 0.25, 0.5]
    )
    blank = np.zeros((8, 8, 3), np.uint8)
    base.add_trace(go.Image(z=blank, name="true"), row=1, col=1)
    base.add_trace(go.Image(z=blank, name="reconstruction"), row=1, col=2)
    base.add_trace(go.Scatter(x=[], y=[], mode="lines+markers", name="PSNR"), row=1, col=3)
    base.add_hline(y=THRESHOLD_DB, line_dash="dot", annotation_text=f"{THRESHOLD_DB:g} dB", row=1, col=3)
    base.update_layout(height=320, showlegend=False, margin=dict(l=10, r=10, t=40, b=30))
    fig = figure_widget(base)
    ds = w.Dropdown(options=["digits", "patches32"], value=data, description="Data")
    idx = w.IntSlider(value=0, min=0, max=len(image_data(data).y_train) - 1, description="Image")
    kind = w.Dropdown(
        options=[("iDLG (L-BFGS)", "idlg"), ("DLG (labels optimised)", "dlg"), ("Inverting Gradients", "ig")],
        value="idlg",
        description="Attack",
    )
    its = w.IntSlider(value=iterations, min=5, max=1000, step=5, description="Iterations")
    go_button = w.Button(description="Attack", button_style="danger")
    status = w.HTML()

    def on_frame(it, rec, p):
        with fig.batch_update():
            fig.data[1].z = to_rgb(rec)
            fig.data[2].x = (*fig.data[2].x, it)
            fig.data[2].y = (*fig.data[2].y, p)

    def run_attack(_=None):
        idx.max = len(image_data(ds.value).y_train) - 1
        status.value = "attacking..."
        true = image_data(ds.value).X_train[idx.value]
        with fig.batch_update():
            fig.data[0].z = to_rgb(true)
            fig.data[2].x, fig.data[2].y = (), ()
        out = attack_frames(
            data=ds.value, image_index=idx.value, attack_kind=kind.value, iterations=its.value, on_frame=on_frame
        )
        m = out["result"].metrics
        status.value = (
            f"<b>PSNR {m['psnr']:.1f} dB</b>, SSIM {m['ssim']:.2f}, label recovered: "
            f"{m['label_accuracy']:.0%}, {m['seconds']:.1f} s"
        )

    go_button.on_click(run_attack)
    box = w.VBox([w.HBox([ds, kind]), w.HBox([idx, its, go_button]), fig, status])
    box.figure, box.run, box.controls = fig, run_attack, {"data": ds, "image": idx, "attack": kind, "iterations": its}
    if run:
        run_attack()
    return box


def defense_frame(
    settings: dict[str, Any],
    *,
    batch_size: int = 1,
    attack_kind: str = "ig",
    iterations: int = 100,
    image_index: int = 0,
    utility_rounds: int | None = None,
    rng: int | np.random.Generator | None = None,
) -> dict[str, Any]:
    """Attack one digit under the defenses in ``settings`` (knob -> value, or None / "off") and measure utility.

    ``rng`` seeds the model, the defenses and the attack (None: ``LABKIT_SEED``).
    """
    from ..inversion.defenses import DPSGD, Stack, make_defense
    from ..inversion.scenario import run_scenario

    chosen = [make_defense(k, v) for k, v in settings.items() if v is not None and v != "off"]
    chosen.sort(key=lambda d: not isinstance(d, DPSGD))  # DP-SGD computes the gradient, so it goes first
    s = run_scenario(
        attack_kind=attack_kind,
        iterations=iterations,
        batch_size=batch_size,
        defense=Stack(chosen),
        image_index=image_index,
        rng=rng,
        measure_utility=True,
        utility_rounds=utility_rounds,
    )
    m = s.result.metrics
    best = s.result.artifacts["matching"][0]  # the reconstruction paired with the first private image
    return {
        "true": s.value.private[0],
        "reconstruction": s.value.reconstruction[best],
        "psnr": m["psnr"],
        "ssim": m["ssim"],
        "accuracy": m["accuracy"],
        "baseline_accuracy": m["baseline_accuracy"],
        "defense": Stack(chosen).name,
        "result": s.result,
    }


def defense_explorer(*, iterations: int = 100, utility_rounds: int | None = None, run: bool = False):
    """A slider per defense (first position: off) and one for the batch size -> images, PSNR, accuracy."""
    import ipywidgets as w
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from ..inversion.sweep import default_values

    base = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=("private image", "server's reconstruction", "privacy vs utility"),
        column_widths=[0.2, 0.2, 0.6],
    )
    blank = np.zeros((8, 8, 3), np.uint8)
    base.add_trace(go.Image(z=blank), row=1, col=1)
    base.add_trace(go.Image(z=blank), row=1, col=2)
    base.add_trace(go.Scatter(x=[], y=[], mode="markers", text=[], marker=dict(size=10)), row=1, col=3)
    base.add_vline(x=THRESHOLD_DB, line_dash="dot", annotation_text=f"{THRESHOLD_DB:g} dB", row=1, col=3)
    base.update_xaxes(title_text="attack PSNR (dB)", row=1, col=3)
    base.update_yaxes(title_text="test accuracy", range=[0, 1], row=1, col=3)
    base.update_layout(height=340, showlegend=False, margin=dict(l=10, r=10, t=40, b=40))
    fig = figure_widget(base)
    sliders = {
        k: w.SelectionSlider(
            options=[("off", "off")] + [(f"{v:g}", v) for v in default_values(k)],
            value="off",
            description=k.replace("_", " "),
            style={"description_width": "110px"},
        )
        for k in SLIDER_KNOBS
    }
    batch = w.SelectionSlider(
        options=[1, 2, 4, 8, 16, 32], value=1, description="batch size", style={"description_width": "110px"}
    )
    go_button = w.Button(description="Attack with these defenses", button_style="warning", layout={"width": "240px"})
    status = w.HTML()

    def run_defended(_=None):
        status.value = "attacking and training..."
        out = defense_frame(
            {k: s.value for k, s in sliders.items()},
            batch_size=batch.value,
            iterations=iterations,
            utility_rounds=utility_rounds,
        )
        label = f"{out['defense']} (B={batch.value})"
        with fig.batch_update():
            fig.data[0].z = to_rgb(out["true"])
            fig.data[1].z = to_rgb(out["reconstruction"])
            fig.data[2].x = (*fig.data[2].x, out["psnr"])
            fig.data[2].y = (*fig.data[2].y, out["accuracy"])
            fig.data[2].text = (*fig.data[2].text, label)
        verdict = "the attack is stopped" if stopped(out["psnr"]) else "the attack still works"
        status.value = (
            f"<b>{label}</b>: PSNR {out['psnr']:.1f} dB ({verdict}); test accuracy "
            f"{out['accuracy']:.1%} vs {out['baseline_accuracy']:.1%} undefended"
        )
        return out

    go_button.on_click(run_defended)
    box = w.VBox(
        [
            w.HBox([w.VBox(list(sliders.values())[:3]), w.VBox([*list(sliders.values())[3:], batch])]),
            go_button,
            fig,
            status,
        ]
    )
    box.figure, box.run, box.sliders, box.batch = fig, run_defended, sliders, batch
    if run:
        run_defended()
    return box


def image_grid(images: list[np.ndarray], titles: list[str], *, height: int = 220):
    """A static row of (C, H, W) images with titles (a plotly Figure)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(images), subplot_titles=titles)
    for i, img in enumerate(images, start=1):
        fig.add_trace(go.Image(z=to_rgb(img)), row=1, col=i)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(height=height, margin=dict(l=5, r=5, t=40, b=5))
    return fig
