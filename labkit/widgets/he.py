"""Widgets of notebooks 01 and 02: parameter explorer, backend race, inference explorer.

Each view has a plain data function (``explorer_data``, ``race_data``,
``inference_data``) that the tests call directly, and a builder returning an
ipywidgets container whose callbacks redraw a plotly FigureWidget.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..he.security import HE_STANDARD_MAX_LOGQ, LEVELS
from .figure import figure_widget

RING_CHOICES = (2048, 4096, 8192, 16384, 32768)
LEVEL_COLOURS = {128: "#1b9e77", 192: "#7570b3", 256: "#e7298a"}


# -- parameter explorer ----------------------------------------------------------------------------
@lru_cache(maxsize=64)
def explorer_data(
    poly_modulus_degree: int, modulus_bits: int, scale_bits: int, backend: str = "seal", measure_ops: bool = True
) -> dict[str, Any]:
    """Security level, depth, precision and op times of one parameter point."""
    from ..he.lab import explore

    r = explore(
        poly_modulus_degree=poly_modulus_degree,
        modulus_bits=modulus_bits,
        scale_bits=scale_bits,
        backend=backend,
        measure_ops=measure_ops,
    )
    return {
        "point": (poly_modulus_degree, r.metrics["log_qp"]),
        "insecure": r.insecure,
        "refused": r.artifacts.get("refused", ""),
        **r.metrics,
    }


def frontier() -> dict[int, tuple[list[int], list[int]]]:
    """HE Standard limits: security level -> (ring dimensions, max log2 QP)."""
    ns = sorted(HE_STANDARD_MAX_LOGQ)
    return {lvl: (ns, [HE_STANDARD_MAX_LOGQ[n][lvl] for n in ns]) for lvl in LEVELS}


def _explorer_summary(d: dict[str, Any]) -> str:
    sec = (
        f"{d['security_bits']}-bit"
        if d["security_bits"]
        else "<b style='color:#b00020'>below 128-bit: not for production</b>"
    )
    parts = [f"security: {sec}", f"depth: {d['depth']}", f"log2 QP: {d['log_qp']}"]
    if "precision_bits" in d:
        parts += [
            f"precision after one product: {d['precision_bits']:.1f} bits",
            f"multiply {d['multiply_ms']:.2f} ms, rotate {d['rotate_ms']:.2f} ms",
            f"ciphertext {d['ciphertext_bytes'] / 1024:.0f} KiB",
        ]
    if d["refused"]:
        parts.append(f"<span style='color:#b00020'>{d['refused']}</span>")
    return " &middot; ".join(parts)


def parameter_explorer(*, backend: str = "seal", measure_ops: bool = True):
    """Ring dimension, modulus bits and scale -> security (HE Standard), depth, precision, op times."""
    import ipywidgets as w
    import plotly.graph_objects as go

    n_pick = w.Dropdown(options=RING_CHOICES, value=8192, description="N")
    bits = w.IntSlider(value=200, min=80, max=900, step=10, description="log2 QP", continuous_update=False)
    scale = w.IntSlider(value=40, min=25, max=50, description="scale bits", continuous_update=False)
    back = w.ToggleButtons(options=["seal", "openfhe"], value=backend, description="backend")
    summary = w.HTML()
    traces = [
        go.Scatter(x=ns, y=ys, mode="lines+markers", name=f"{lvl}-bit limit", line=dict(color=LEVEL_COLOURS[lvl]))
        for lvl, (ns, ys) in frontier().items()
    ]
    traces.append(
        go.Scatter(
            x=[8192], y=[200], mode="markers", name="your parameters", marker=dict(size=14, symbol="x", color="black")
        )
    )
    fig = figure_widget(
        data=traces,
        layout=go.Layout(
            title="HE Standard: largest modulus per ring dimension",
            height=360,
            xaxis=dict(type="log", title="ring dimension N"),
            yaxis=dict(title="log2 QP (bits)"),
        ),
    )

    def redraw(*_):
        d = explorer_data(n_pick.value, bits.value, scale.value, back.value, measure_ops)
        with fig.batch_update():
            fig.data[-1].x, fig.data[-1].y = [d["point"][0]], [d["point"][1]]
            fig.data[-1].marker.color = "#b00020" if d["insecure"] else "black"
        summary.value = _explorer_summary(d)

    for control in (n_pick, bits, scale, back):
        control.observe(redraw, names="value")
    redraw()
    box = w.VBox([w.HBox([n_pick, back]), w.HBox([bits, scale]), summary, fig])
    box.redraw, box.figure = redraw, fig
    return box


# -- backend race ----------------------------------------------------------------------------------
@lru_cache(maxsize=64)
def race_data(scheme: str, op: str, poly_modulus_degree: int = 8192, repeat: int | None = None) -> dict[str, Any]:
    """Medians and IQRs of one op on OpenFHE and SEAL at matched parameters, their ratio and verdict."""
    from ..he.benchmark import race

    (r,) = race(scheme, poly_modulus_degree, ops=(op,), repeat=repeat)
    m = r.metrics
    out = {"scheme": scheme, "op": op, "N": poly_modulus_degree, "verdict": r.artifacts["verdict"], "bars": {}}
    for lib in ("seal", "openfhe"):
        key = "openfhe_over_seal.candidate" if lib == "openfhe" else "openfhe_over_seal.baseline"
        t = r.timings.get(key) or r.timings.get(lib)
        if t is not None:
            out["bars"][lib] = (1e3 * t.median, 1e3 * (t.median - t.q1), 1e3 * (t.q3 - t.median))
    out["ratio"] = m.get("openfhe_over_seal")
    out["ratio_iqr"] = (m.get("openfhe_over_seal_low"), m.get("openfhe_over_seal_high"))
    return out


def backend_race(*, repeat: int | None = None):
    """Pick scheme, op and ring dimension -> bars for OpenFHE and SEAL with IQR error bars, ratio, verdict."""
    import ipywidgets as w
    import plotly.graph_objects as go

    from ..he.benchmark import OPS

    scheme = w.Dropdown(options=["ckks", "bfv", "bgv"], value="ckks", description="scheme")
    op = w.Dropdown(options=list(OPS), value="multiply_relin", description="op")
    ring = w.Dropdown(options=[8192, 16384, 32768], value=8192, description="N")
    run = w.Button(description="Race", button_style="primary")
    verdict = w.HTML()
    fig = figure_widget(
        data=[
            go.Bar(
                x=["SEAL", "OpenFHE"],
                y=[0, 0],
                marker_color=["#1f77b4", "#ff7f0e"],
                error_y=dict(type="data", symmetric=False, array=[0, 0], arrayminus=[0, 0]),
            )
        ],
        layout=go.Layout(title="median time per op (ms), IQR error bars", height=340, yaxis=dict(title="ms")),
    )

    def redraw(*_):
        chosen_op = op.value if not (op.value == "rescale" and scheme.value != "ckks") else "multiply_relin"
        d = race_data(scheme.value, chosen_op, ring.value, repeat)
        bars = d["bars"]
        names = [n for n in ("seal", "openfhe") if n in bars]
        with fig.batch_update():
            fig.data[0].x = [{"seal": "SEAL", "openfhe": "OpenFHE"}[n] for n in names]
            fig.data[0].y = [bars[n][0] for n in names]
            fig.data[0].error_y.arrayminus = [bars[n][1] for n in names]
            fig.data[0].error_y.array = [bars[n][2] for n in names]
            fig.layout.title = f"{d['scheme'].upper()} {d['op']} at N={d['N']} (single thread)"
        ratio = (
            f"OpenFHE/SEAL = {d['ratio']:.2f} (IQR {d['ratio_iqr'][0]:.2f}-{d['ratio_iqr'][1]:.2f})"
            if d["ratio"]
            else ""
        )
        verdict.value = f"<b>{d['verdict']}</b> {ratio}"

    run.on_click(redraw)
    box = w.VBox([w.HBox([scheme, op, ring, run]), verdict, fig])
    box.redraw, box.figure = redraw, fig
    return box


# -- inference explorer ----------------------------------------------------------------------------
@lru_cache(maxsize=32)
def inference_data(
    model: str = "mlp",
    backend: str = "seal",
    mode: str = "batched",
    batch_size: int | None = None,
    n_samples: int | None = None,
    repeat: int | None = 1,
) -> dict[str, Any]:
    """Accuracy, latency, throughput, overhead and ciphertext size of one encrypted-inference run."""
    from ..he.inference import run

    r = run(model=model, backend=backend, mode=mode, batch_size=batch_size, n_samples=n_samples, repeat=repeat)
    m = r.metrics
    return {
        "model": model,
        "backend": backend,
        "mode": mode,
        "insecure": r.insecure,
        "encrypted_ms": 1e3 * m["latency_s"],
        "plaintext_ms": 1e3 * r.timings["overhead.baseline"].median,
        **{
            k: m[k]
            for k in (
                "accuracy_plain",
                "accuracy_encrypted",
                "accuracy_gap_points",
                "overhead",
                "throughput_per_s",
                "per_sample_s",
                "input_ciphertext_bytes",
                "batch_size",
                "samples",
            )
        },
    }


def inference_explorer(*, model: str = "mlp", n_samples: int | None = None):
    """Backend, packing mode and batch -> accuracy, latency, overhead, ciphertext size."""
    import ipywidgets as w
    import plotly.graph_objects as go

    pick_model = w.Dropdown(options=["mlp", "logreg"], value=model, description="model")
    back = w.ToggleButtons(options=["seal", "openfhe"], value="seal", description="backend")
    mode = w.ToggleButtons(options=["batched", "single"], value="batched", description="packing")
    batch = w.Dropdown(options=[512, 1024, 2048, 4096], value=4096, description="batch")
    run = w.Button(description="Run encrypted", button_style="primary")
    summary = w.HTML()
    fig = figure_widget(
        data=[go.Bar(x=["plaintext", "encrypted"], y=[0, 0], marker_color=["#999", "#d95f02"])],
        layout=go.Layout(title="latency per call (ms, log scale)", height=320, yaxis=dict(type="log", title="ms")),
    )

    def redraw(*_):
        size = batch.value if mode.value == "batched" else None
        count = n_samples if mode.value == "batched" else (n_samples or 10)  # single mode: a few samples
        d = inference_data(pick_model.value, back.value, mode.value, size, count)
        with fig.batch_update():
            fig.data[0].y = [d["plaintext_ms"], d["encrypted_ms"]]
            fig.layout.title = f"{d['model']} on {d['backend']}, {d['mode']}: overhead {d['overhead']:.0f}x"
        summary.value = (
            f"accuracy encrypted {100 * d['accuracy_encrypted']:.1f}% vs plaintext {100 * d['accuracy_plain']:.1f}% "
            f"({d['samples']} test samples) &middot; {d['throughput_per_s']:.0f} samples/s &middot; "
            f"{1e3 * d['per_sample_s']:.2f} ms per sample &middot; input ciphertexts "
            f"{d['input_ciphertext_bytes'] / 2**20:.1f} MiB"
        )

    run.on_click(redraw)
    box = w.VBox([w.HBox([pick_model, back]), w.HBox([mode, batch, run]), summary, fig])
    box.redraw, box.figure = redraw, fig
    return box
