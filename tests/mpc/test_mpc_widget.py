"""The MPC widget: cost bars from measurements, and callbacks that redraw the figure."""

import pytest

from labkit.widgets import mpc as view

FAKE = {"compute_s": 0.2, "plain_s": 2e-4, "rounds": 12, "bytes": 1e6, "overhead": 1000.0, "agreement": 1.0}


def test_cost_bars_add_rounds_and_bytes_to_compute():
    bars = view.cost_bars(FAKE, rtt_ms=50, bandwidth_mbps=100)
    assert bars["labels"] == ["plaintext", "MPC (CrypTen)"]
    compute, latency, transfer = (bars["parts"][p][1] for p in view.PARTS)
    assert compute == pytest.approx(0.2)
    assert latency == pytest.approx(12 * 0.05)
    assert transfer == pytest.approx(1e6 * 8 / 100e6)
    assert bars["totals"][0] == pytest.approx(2e-4)  # plaintext: no network part


def test_cost_bars_include_he_when_given():
    he = {"compute_s": 1.0, "rounds": 1, "bytes": 16e6, "overhead": 5000.0}
    bars = view.cost_bars(FAKE, rtt_ms=1, bandwidth_mbps=1000, he=he)
    assert bars["labels"][-1] == "HE (CKKS, batched)"
    assert bars["totals"][-1] == pytest.approx(1.0 + 0.001 + 16e6 * 8 / 1e9)


def test_explorer_callbacks_redraw_the_figure():
    calls = []

    def fake_measure(model, parties, batch):
        calls.append((model, parties, batch))
        return {**FAKE, "rounds": 12 * (parties - 1), "bytes": 1e5 * batch}

    box = view.explorer(measure_fn=fake_measure, he_fn=lambda m, b, r: None)
    fig = box.figure
    before = fig.data[1].x[1]
    box.controls["rtt"].value = 100.0
    assert fig.data[1].x[1] == pytest.approx(12 * 0.1) and fig.data[1].x[1] != before
    box.controls["parties"].value = 3
    assert calls[-1][1] == 3 and fig.data[1].x[1] == pytest.approx(24 * 0.1)
    box.controls["batch"].value = 100
    assert fig.data[2].x[1] == pytest.approx(1e7 * 8 / (box.controls["bandwidth"].value * 1e6))
    assert "modelled" in box.children[-1].value


def test_explorer_runs_a_real_measurement():
    m = view.measure("breast_cancer_logreg", 2, 10)
    assert m["repeat"] == 2  # fast mode: the lab picked two interleaved passes
    assert m["rounds"] >= 1 and m["bytes"] > 0 and m["compute_s"] > m["plain_s"] > 0


def test_a_failed_run_is_shown_in_the_widget():
    from labkit.mpc.supervisor import PartyFailed

    def failing(model, parties, batch):
        if parties == 3:
            raise PartyFailed("party 2 killed by SIGKILL")
        return FAKE

    box = view.explorer(measure_fn=failing, he_fn=lambda m, b, r: None)
    box.controls["parties"].value = 3
    assert "run failed" in box.children[-1].value and "SIGKILL" in box.children[-1].value
