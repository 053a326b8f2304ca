"""Notebook 08's widget: pick a key exchange and a certificate, see the handshake against X25519 + ECDSA.

Measured on loopback: handshake latency and bytes each way. Modelled for a
link the reader chooses (round-trip time, bandwidth): handshake time and time
to the last byte of a transfer. Handshakes are measured once per pairing and
cached; moving the link sliders only re-runs the model.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..pqc import linkmodel
from .figure import figure_widget

BASELINE = ("X25519", "ecdsa-p256")


@lru_cache(maxsize=64)
def _measure(group: str, cert: str, repeat: int) -> dict[str, float]:
    from ..pqc import handshake

    r = handshake(group=group, cert=cert, repeat=repeat)
    m = r.metrics
    return {
        "latency_ms": m["latency_s"] * 1e3,
        "up": int(m["bytes_client_to_server"]),
        "down": int(m["bytes_server_to_client"]),
        "hello_segments": m["client_hello_segments"],
        "signature_scheme": r.artifacts.get("signature_scheme") or "",
    }


def compare_data(
    group: str,
    cert: str,
    *,
    rtt_ms: float = 20.0,
    bandwidth_mbps: float = 50.0,
    transfer_kb: int = 1024,
    repeat: int = 5,
) -> dict[str, Any]:
    """The numbers behind the widget: measured and modelled, for the pick and the baseline.

    Returns a dict with ``measured`` ({"pick": {...}, "baseline": {...}}), ``modelled``
    (link model output, times in ms) and the ratios.
    """
    pick, base = _measure(group, cert, repeat), _measure(*BASELINE, repeat)
    link = linkmodel.Link(rtt_ms / 1e3, bandwidth_mbps * 1e6)
    model = linkmodel.compare(
        link,
        transfer=int(transfer_kb * 1024),
        candidate={"bytes_up": pick["up"], "bytes_down": pick["down"], "cpu": pick["latency_ms"] / 1e3},
        baseline={"bytes_up": base["up"], "bytes_down": base["down"], "cpu": base["latency_ms"] / 1e3},
    )
    modelled = {k: (v * 1e3 if k.endswith("_s") else v) for k, v in model.items()}
    return {
        "group": group,
        "cert": cert,
        "measured": {"pick": pick, "baseline": base},
        "modelled": modelled,
        "latency_ratio": pick["latency_ms"] / base["latency_ms"],
        "bytes_ratio": (pick["up"] + pick["down"]) / (base["up"] + base["down"]),
    }


def _traces(data: dict[str, Any]) -> dict[str, tuple[list, list]]:
    """y values per trace (pick, baseline) for the three panels."""
    m, mod = data["measured"], data["modelled"]
    return {
        "pick": ([m["pick"]["latency_ms"]], [m["pick"]["up"], m["pick"]["down"]], [mod["handshake_s"], mod["ttlb_s"]]),
        "baseline": (
            [m["baseline"]["latency_ms"]],
            [m["baseline"]["up"], m["baseline"]["down"]],
            [mod["baseline_handshake_s"], mod["baseline_ttlb_s"]],
        ),
    }


def _title(data: dict[str, Any]) -> str:
    mod = data["modelled"]
    return (
        f"{data['group']} + {data['cert']} vs X25519 + ECDSA: bytes x{data['bytes_ratio']:.2f}, "
        f"modelled handshake x{mod['handshake_ratio']:.2f}, time to last byte x{mod['ttlb_ratio']:.3f}"
    )


def build_figure(data: dict[str, Any]):
    """A FigureWidget with three panels: loopback latency, bytes each way, modelled times."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = figure_widget(
        make_subplots(
            rows=1,
            cols=3,
            subplot_titles=("handshake on loopback (ms)", "handshake bytes", "modelled on the link (ms)"),
        )
    )
    traces = _traces(data)
    xs = (["latency"], ["client->server", "server->client"], ["handshake", "time to last byte"])
    for name, colour in (("pick", "#d95f02"), ("baseline", "#7570b3")):
        for col, (x, y) in enumerate(zip(xs, traces[name]), start=1):
            fig.add_trace(
                go.Bar(
                    x=x,
                    y=y,
                    name="your pick" if name == "pick" else "X25519 + ECDSA",
                    marker_color=colour,
                    showlegend=col == 1,
                    legendgroup=name,
                ),
                row=1,
                col=col,
            )
    fig.update_layout(barmode="group", height=380, title=_title(data), margin={"t": 80})
    return fig


def update_figure(fig, data: dict[str, Any]) -> None:
    """Redraw ``fig`` in place (one batched update)."""
    traces = _traces(data)
    with fig.batch_update():
        for i, name in enumerate(("pick", "baseline")):
            for col in range(3):
                fig.data[i * 3 + col].y = traces[name][col]
        fig.layout.title.text = _title(data)


def explorer(*, group: str = "X25519MLKEM768", cert: str = "ml-dsa-65", repeat: int = 5):
    """Dropdowns (group, certificate) and link sliders (RTT, bandwidth, transfer) wired to the figure."""
    import ipywidgets as w

    from ..pqc import available_cert_types, available_groups

    g = w.Dropdown(options=available_groups(), value=group, description="key exchange")
    c = w.Dropdown(options=available_cert_types(), value=cert, description="certificate")
    rtt = w.FloatLogSlider(value=20, base=10, min=-0.5, max=2.7, description="RTT (ms)", readout_format=".3g")
    bw = w.FloatLogSlider(value=50, base=10, min=-1, max=4, description="Mbit/s", readout_format=".3g")
    kb = w.IntSlider(value=1024, min=1, max=8192, step=1, description="transfer KiB")

    def data() -> dict[str, Any]:
        return compare_data(
            g.value, c.value, rtt_ms=rtt.value, bandwidth_mbps=bw.value, transfer_kb=kb.value, repeat=repeat
        )

    fig = build_figure(data())

    def redraw(_change=None) -> None:
        update_figure(fig, data())

    for control in (g, c, rtt, bw, kb):
        control.observe(redraw, names="value")
    box = w.VBox([w.HBox([g, c]), w.HBox([rtt, bw, kb]), fig])
    box.redraw = redraw  # for tests and notebooks
    box.controls = {"group": g, "cert": c, "rtt": rtt, "bandwidth": bw, "transfer": kb}
    box.figure = fig
    return box
