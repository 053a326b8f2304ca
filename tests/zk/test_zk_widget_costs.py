"""The widget's callbacks redraw the figure; cost measurement and the claims check on a small real run."""

from __future__ import annotations

import pytest

from labkit.widgets import zk as zkw


def _fake(width, visibility):
    base = float(width)
    return {
        "width": width,
        "visibility": dict(visibility),
        "verified": True,
        "ratio": 1000 * base,
        "logrows": 10,
        "times": dict(zip(zkw.TIME_BARS, [1e-5, 1e-3, base, 1e-2, 2 * base])),
        "sizes": dict(zip(zkw.SIZE_BARS, [5e3, 1e4, 1e7 * base, 3e5])),
        "development_setup": True,
    }


def _fake_verify(data, case):
    return {"case": case, "verified": case == zkw.NONE, "applicable": True}


def test_widget_callbacks_update_the_figure():
    box = zkw.explorer(width=4, compute=_fake, verify=_fake_verify)
    fig = box.figure
    assert list(fig.data[0].y)[2] == 4.0
    box.controls["width"].value = 16
    box.controls["params"].value = "hashed"
    box.run()
    assert list(fig.data[0].y)[2] == 16.0 and list(fig.data[1].y)[2] == 1.6e8
    assert "params hashed" in fig.layout.title.text and "not for production" in fig.layout.title.text
    box.controls["tamper"].value = "proof_byte"
    box.check()
    assert "REJECTED" in fig.layout.title.text


def test_real_cost_data_and_tamper_on_a_small_mlp():
    data = zkw.cost_data(4, {"input": "private", "params": "public", "output": "public"})
    assert data["verified"] and data["times"]["prove"] > data["times"]["plaintext"]
    assert data["sizes"]["proving key"] > data["sizes"]["verifying key"] > 0
    assert zkw.tamper_data(data, zkw.NONE)["verified"] is True
    assert zkw.tamper_data(data, "proof_byte")["verified"] is False
    assert zkw.tamper_data(data, "output")["verified"] is False
    assert zkw.tamper_data(data, "public_input")["applicable"] is False  # the input is private


def test_measure_costs_result_and_claims_check(tmp_path):
    from labkit.results import NOT_FOR_PRODUCTION, ResultStore
    from labkit.zk.costs import claims_check, measure_costs, sweep

    r = measure_costs(width=4, repeat=1)  # same circuit as the widget test: cached
    m = r.metrics
    assert r.technique == "zk" and NOT_FOR_PRODUCTION in r.flags
    assert m["overhead"] > 50 and m["overhead_warm"] > 50  # far above the claimed 5x-50x
    assert m["verify_ms"] < 1000 and m["proof_bytes"] > 1000 and m["pk_bytes"] > m["vk_bytes"]
    assert m["same_prediction"] and m["output_max_abs_error"] < 0.1
    check = claims_check(r)
    assert check.name == "claims_check" and check.artifacts["costs_result"] == r.id
    assert check.artifacts["prover_verdict"].endswith("(costlier than claimed)")
    assert check.metrics["orders_of_magnitude_above_claim"] > 0
    assert check.artifacts["verify_verdict"] == "holds"
    store = ResultStore(tmp_path / "r.sqlite")
    store.add(r)
    again = sweep(widths=[4], store=store, progress=False)  # resumes: no new measurement
    assert [x.id for x in again] == [r.id]


def test_measure_costs_validates_repeat():
    from labkit.errors import InvalidInput
    from labkit.zk.costs import measure_costs

    with pytest.raises(InvalidInput, match="repeat"):
        measure_costs(width=4, repeat=0)
