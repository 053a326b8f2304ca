"""Widget of notebook 05: what private inference costs on a network you choose.

Parties, batch size and model select a real measurement (CrypTen parties on
loopback: compute, rounds, bytes, and the plaintext baseline from the same
run); round-trip time and bandwidth feed the network model
(:mod:`labkit.mpc.network`), so those two sliders redraw instantly. Optionally
the same inference under homomorphic encryption (``labkit.he``, CKKS, batched)
is shown beside it, with its ciphertext upload through the same link.

``measure``, ``he_measure`` and ``cost_bars`` are the plain functions the
tests call; :func:`explorer` builds the ipywidgets view around them.

References
----------
Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine
Learning", NeurIPS 2021 (rounds and bytes as MPC's cost measures).
Gilad-Bachrach et al., "CryptoNets", ICML 2016 (batched HE inference, the comparison).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from ..errors import InvalidInput, LabkitError
from .figure import figure_widget

MODELS = ("digits_mlp", "breast_cancer_logreg")
HE_MODEL = {"digits_mlp": "mlp", "breast_cancer_logreg": "logreg"}
BATCHES = (1, 10, 50, 100)
PARTS = ("compute (measured)", "rounds x RTT (modelled)", "bytes / bandwidth (modelled)")
COLOURS = ("#4c72b0", "#dd8452", "#55a868")


@lru_cache(maxsize=32)
def measure(model: str, parties: int, batch: int) -> dict[str, float]:
    """One real private-inference run on ``batch`` test samples; the numbers the view needs.

    Runs :func:`labkit.mpc.inference.sample_run` (which picks the number of passes);
    ``repeat`` in the answer is the number it used.
    """
    from ..mpc import inference

    if model not in MODELS:
        raise InvalidInput(f"model must be one of {MODELS}, not {model!r}.")
    r = inference.sample_run(model, parties=parties, batch=batch)
    return {
        "compute_s": r.metrics["compute_seconds"],
        "plain_s": r.timings["overhead.baseline"].median,
        "rounds": r.metrics["rounds"],
        "bytes": r.metrics["bytes_max_party"],
        "overhead": r.metrics["overhead"],
        "agreement": r.metrics["agreement"],
        "repeat": r.params["repeat"],
    }


@lru_cache(maxsize=16)
def he_measure(model: str, batch: int, repeat: int | None = None) -> dict[str, float] | None:
    """The same inference under CKKS (labkit.he, SEAL, batched packing), or None if HE is unavailable.

    ``repeat``: timed passes (the explorer passes the MPC run's; None: labkit.he's default).
    """
    try:
        from ..he import inference as he_inference

        r = he_inference.run(model=HE_MODEL[model], mode="batched", n_samples=batch, batch_size=batch, repeat=repeat)
    except (ImportError, KeyError, InvalidInput) as exc:
        return {"unavailable": str(exc)} if isinstance(exc, InvalidInput) else None
    return {
        "compute_s": r.metrics["latency_s"],
        "bytes": r.metrics["input_ciphertext_bytes"],
        "rounds": 1,
        "overhead": r.metrics["overhead"],
    }


def cost_bars(
    mpc: dict[str, float], *, rtt_ms: float, bandwidth_mbps: float, he: dict[str, float] | None = None
) -> dict[str, Any]:
    """Stacked costs (seconds) per technique on a link of ``rtt_ms`` and ``bandwidth_mbps``.

    Returns ``{"labels": [...], "parts": {part: [seconds per label]}, "totals": [...]}``;
    plaintext has no network part, HE sends its input ciphertexts once (one round trip).
    """
    from ..mpc import network

    link = network.custom(rtt_ms, bandwidth_mbps)
    labels = ["plaintext", "MPC (CrypTen)"]
    rows = [(mpc["plain_s"], 0.0, 0.0)]
    est = network.estimate(compute_s=mpc["compute_s"], rounds=mpc["rounds"], bytes_=mpc["bytes"], link=link)
    rows.append((est.compute_s, est.latency_s, est.transfer_s))
    if he and "compute_s" in he:
        he_est = network.estimate(compute_s=he["compute_s"], rounds=he["rounds"], bytes_=he["bytes"], link=link)
        labels.append("HE (CKKS, batched)")
        rows.append((he_est.compute_s, he_est.latency_s, he_est.transfer_s))
    parts = {name: [row[i] for row in rows] for i, name in enumerate(PARTS)}
    return {"labels": labels, "parts": parts, "totals": [sum(row) for row in rows], "link": str(link)}


def _summary(bars: dict[str, Any], mpc: dict[str, float]) -> str:
    totals = dict(zip(bars["labels"], bars["totals"]))
    plain = totals["plaintext"]
    text = [
        f"link: {bars['link']}",
        f"MPC: {mpc['rounds']:.0f} rounds, {mpc['bytes'] / 1e6:.2f} MB (busiest party), "
        f"modelled total {totals['MPC (CrypTen)'] * 1e3:.1f} ms = {totals['MPC (CrypTen)'] / plain:,.0f}x plaintext",
        f"measured overhead on loopback: {mpc['overhead']:,.0f}x",
    ]
    if "HE (CKKS, batched)" in totals:
        he = totals["HE (CKKS, batched)"]
        text.append(f"HE: modelled total {he * 1e3:.1f} ms = {he / plain:,.0f}x plaintext")
    return "<br>".join(text) + "<br><i>network parts are modelled from measured rounds and bytes</i>"


def explorer(
    *,
    measure_fn: Callable[[str, int, int], dict[str, float]] | None = None,
    he_fn: Callable[[str, int, int | None], dict[str, float] | None] | None = None,
    compare_he: bool = False,
):
    """Parties, RTT, bandwidth, batch size and model -> measured and modelled cost, against plaintext (and HE).

    Parameters
    ----------
    measure_fn : callable, optional
        ``(model, parties, batch) -> dict`` as :func:`measure` (the default) returns it.
    he_fn : callable, optional
        ``(model, batch, repeat) -> dict or None`` as :func:`he_measure` (the default).
    compare_he : bool
        Start with the HE comparison ticked.

    Returns
    -------
    ipywidgets.VBox
        With ``redraw``, ``figure`` and ``controls`` attributes for tests and notebooks.
    """
    import ipywidgets as w
    import plotly.graph_objects as go

    measure_fn = measure_fn or measure
    he_fn = he_fn or he_measure
    model = w.Dropdown(options=MODELS, value=MODELS[0], description="model")
    parties = w.ToggleButtons(options=[2, 3], value=2, description="parties")
    batch = w.Dropdown(options=BATCHES, value=10, description="batch")
    rtt = w.FloatLogSlider(
        value=0.5, base=10, min=-1, max=2.5, step=0.05, description="RTT ms", continuous_update=False
    )
    bandwidth = w.FloatLogSlider(
        value=1000, base=10, min=0, max=4, step=0.05, description="Mbit/s", continuous_update=False
    )
    he_box = w.Checkbox(value=compare_he, description="compare with HE (slower)")
    summary = w.HTML()
    fig = figure_widget(
        data=[go.Bar(name=name, orientation="h", y=[], x=[], marker_color=c) for name, c in zip(PARTS, COLOURS)],
        layout=go.Layout(
            barmode="stack",
            height=320,
            margin={"l": 140, "r": 20, "t": 40, "b": 40},
            xaxis={"title": "seconds per batch (log scale)", "type": "log"},
            title="private inference: measured compute + modelled network",
        ),
    )

    def redraw(*_):
        try:
            mpc = measure_fn(model.value, parties.value, batch.value)
            he = he_fn(model.value, batch.value, mpc.get("repeat")) if he_box.value else None
        except LabkitError as exc:  # a failed run is shown, not raised into the widget machinery
            summary.value = f"<b style='color:#b00020'>run failed:</b> {html.escape(str(exc))}"
            return
        bars = cost_bars(mpc, rtt_ms=rtt.value, bandwidth_mbps=bandwidth.value, he=he)
        with fig.batch_update():
            for trace, part in zip(fig.data, PARTS):
                trace.y = bars["labels"]
                trace.x = [max(v, 1e-7) for v in bars["parts"][part]]  # log axis: keep empty parts visible as ~0
        summary.value = _summary(bars, mpc)

    for control in (model, parties, batch, rtt, bandwidth, he_box):
        control.observe(redraw, names="value")
    redraw()
    box = w.VBox([w.HBox([model, parties, batch]), w.HBox([rtt, bandwidth, he_box]), fig, summary])
    box.redraw = redraw  # for tests and notebooks
    box.figure = fig
    box.controls = {
        "model": model,
        "parties": parties,
        "batch": batch,
        "rtt": rtt,
        "bandwidth": bandwidth,
        "he": he_box,
    }
    return box
