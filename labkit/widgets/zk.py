"""Notebook 04's widget: choose visibility and model width, see what proving costs; tamper and watch it fail.

Controls: visibility of input, parameters and output; the hidden width of the
digits MLP; a "prove" button (a proof takes seconds, so sliders do not
re-prove on every move); a tamper menu whose "verify" button checks the last
proof after the chosen change. The figure shows times (log scale) and sizes
(log scale) beside plaintext inference, and the verdict in its title, with
the "not for production" warning when the reference string was generated here.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any

from .figure import figure_widget

NONE = "none (honest proof)"
TIME_BARS = ("plaintext", "witness", "prove", "verify", "setup")
SIZE_BARS = ("proof", "verifying key", "proving key", "reference string")


@lru_cache(maxsize=16)
def _built(width: int, input_vis: str, params_vis: str, output_vis: str):
    from ..zk import ZKModel
    from ..zk.models import digits_mlp

    model, data = digits_mlp(width=width)
    x = data.X_test[:1]
    vis = {"input": input_vis, "params": params_vis, "output": output_vis}
    return ZKModel(model, x, visibility=vis, scale=8), x


def cost_data(width: int, visibility: dict[str, str]) -> dict[str, Any]:
    """Build (or load) the circuit, prove one digit, verify: the numbers behind the figure."""
    import torch

    zk, x = _built(width, visibility["input"], visibility["params"], visibility["output"])
    proof = zk.prove(x)
    start = time.perf_counter()
    ok = zk.verify(proof)
    verify_s = time.perf_counter() - start
    xt = torch.as_tensor(x, dtype=torch.float32)
    start = time.perf_counter()
    with torch.no_grad():
        zk.model(xt)
    plain_s = time.perf_counter() - start
    sizes = zk.sizes()
    times = {
        "plaintext": plain_s,
        "witness": proof.witness_seconds,
        "prove": proof.seconds,
        "verify": verify_s,
        "setup": zk.circuit.build_timings.get("setup", 0.0),
    }
    return {
        "width": width,
        "visibility": dict(visibility),
        "verified": ok,
        "times": times,
        "sizes": {
            "proof": proof.size,
            "verifying key": sizes["vk"],
            "proving key": sizes["pk"],
            "reference string": sizes["srs"],
        },
        "ratio": proof.seconds / max(plain_s, 1e-9),
        "logrows": zk.logrows,
        "development_setup": zk.development_setup,
        "zk": zk,
        "proof": proof,
    }


def tamper_data(data: dict[str, Any], case: str) -> dict[str, Any]:
    """Verify the proof in ``data`` after ``case`` (or honest): ``{"case", "verified", "applicable"}``."""
    from ..zk.tampering import applicable, tamper

    zk, proof = data["zk"], data["proof"]
    if case == NONE:
        return {"case": case, "verified": zk.verify(proof), "applicable": True}
    if case not in applicable(zk) or case == "other_key":
        return {"case": case, "verified": None, "applicable": False}
    return {"case": case, "verified": zk.verify(tamper(zk, proof, case)), "applicable": True}


def _title(data: dict[str, Any], check: dict[str, Any] | None) -> str:
    vis = data["visibility"]
    head = (
        f"64-{data['width']}-10 MLP, input {vis['input']}, params {vis['params']}, output {vis['output']}: "
        f"prover {data['ratio']:.3g}x plaintext, logrows {data['logrows']}"
    )
    if check is not None:
        if not check["applicable"]:
            head += f"<br>tamper '{check['case']}': not applicable with this visibility"
        else:
            verdict = "VERIFIES" if check["verified"] else "REJECTED"
            head += f"<br>{check['case']}: {verdict}"
    if data["development_setup"]:
        head += "<br><span style='color:#b00020'>&#9888; not for production: reference string generated here</span>"
    return head


def build_figure(data: dict[str, Any], check: dict[str, Any] | None = None):
    """A FigureWidget: times (s, log) and sizes (bytes, log)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = figure_widget(make_subplots(rows=1, cols=2, subplot_titles=("time (s)", "size (bytes)")))
    fig.add_trace(
        go.Bar(x=list(TIME_BARS), y=[data["times"][k] for k in TIME_BARS], marker_color="#1b9e77", name="time"),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Bar(x=list(SIZE_BARS), y=[data["sizes"][k] for k in SIZE_BARS], marker_color="#7570b3", name="size"),
        row=1,
        col=2,
    )
    fig.update_yaxes(type="log")
    fig.update_layout(height=420, showlegend=False, title=_title(data, check), margin={"t": 110})
    return fig


def update_figure(fig, data: dict[str, Any], check: dict[str, Any] | None = None) -> None:
    """Redraw ``fig`` in place (one batched update)."""
    with fig.batch_update():
        fig.data[0].y = [data["times"][k] for k in TIME_BARS]
        fig.data[1].y = [data["sizes"][k] for k in SIZE_BARS]
        fig.layout.title.text = _title(data, check)


def explorer(*, width: int = 8, visibility: dict[str, str] | None = None, compute=cost_data, verify=tamper_data):
    """Visibility toggles, a width slider, prove and tamper controls wired to the figure.

    ``compute(width, visibility)`` and ``verify(data, case)`` default to
    :func:`cost_data` and :func:`tamper_data`; tests pass cheap stand-ins.
    """
    import ipywidgets as w

    vis = {"input": "private", "params": "public", "output": "public", **(visibility or {})}
    toggles = {
        part: w.ToggleButtons(options=["public", "private", "hashed"], value=vis[part], description=part)
        for part in ("input", "params", "output")
    }
    size = w.SelectionSlider(options=[4, 8, 16, 32, 64], value=width, description="hidden width")
    prove = w.Button(description="prove", button_style="primary")
    case = w.Dropdown(
        options=[NONE, "output", "public_input", "commitment", "proof_byte"], value=NONE, description="tamper"
    )
    check_button = w.Button(description="verify")
    status = w.HTML("hashed parameters cost a Poseidon hash of every weight: expect a much larger circuit.")
    state: dict[str, Any] = {"data": compute(width, vis)}
    fig = build_figure(state["data"])

    def run(_button=None) -> None:
        status.value = "proving..."
        state["data"] = compute(size.value, {p: t.value for p, t in toggles.items()})
        update_figure(fig, state["data"])
        status.value = "proved and verified" if state["data"]["verified"] else "the honest proof did NOT verify"

    def check(_button=None) -> None:
        result = verify(state["data"], case.value)
        update_figure(fig, state["data"], result)
        status.value = "" if result["applicable"] else "nothing to tamper with: that part is not public"

    prove.on_click(run)
    check_button.on_click(check)
    box = w.VBox([w.VBox(list(toggles.values())), w.HBox([size, prove]), w.HBox([case, check_button]), status, fig])
    box.run, box.check, box.figure, box.state = run, check, fig, state
    box.controls = {**toggles, "width": size, "tamper": case}
    return box
