"""The notebook 08 widget: data function and callback."""

from __future__ import annotations

import pytest

from labkit.widgets import pqc as view


def test_compare_data_measures_and_models():
    d = view.compare_data("X25519MLKEM768", "ml-dsa-65", rtt_ms=100, bandwidth_mbps=1, transfer_kb=64, repeat=2)
    assert d["measured"]["pick"]["up"] - d["measured"]["baseline"]["up"] == 1184
    assert d["bytes_ratio"] > 5
    slow = d["modelled"]["handshake_ratio"]
    fast = view.compare_data("X25519MLKEM768", "ml-dsa-65", rtt_ms=100, bandwidth_mbps=1000, transfer_kb=64, repeat=2)[
        "modelled"
    ]["handshake_ratio"]
    assert slow > fast  # extra kilobytes cost more on a thin link
    assert d["modelled"]["handshake_s"] > 200  # at least two round trips of 100 ms


def test_widget_callback_updates_figure():
    box = view.explorer(group="X25519", cert="ecdsa-p256", repeat=2)
    fig = box.figure
    before_up = fig.data[1].y[0]
    box.controls["group"].value = "X25519MLKEM768"  # the observer redraws
    assert fig.data[1].y[0] - before_up == 1184
    before = fig.data[2].y[0]
    box.controls["rtt"].value = 300
    assert fig.data[2].y[0] > before
    assert "X25519MLKEM768" in fig.layout.title.text


def test_bad_link_refused():
    from labkit.errors import InvalidInput

    with pytest.raises(InvalidInput):
        view.compare_data("X25519", "ecdsa-p256", rtt_ms=-5)
