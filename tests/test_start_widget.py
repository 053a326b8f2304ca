import pytest

from labkit import techniques
from labkit.errors import InvalidInput
from labkit.widgets import start


def test_claimed_ranges_are_ratios():
    ranges = dict((k, (lo, hi)) for k, lo, hi in start.claimed_ranges())
    assert ranges["tee"] == (1.03, 1.07) and ranges["he"] == (10.0, 100.0)
    assert all(1.0 <= lo <= hi for lo, hi in ranges.values())


def test_card_names_lab_and_threat():
    html = start.card("pqc")
    assert "08_pqc_handshakes" in html and "quantum" in html and "5%" in html
    with pytest.raises(InvalidInput, match="known"):
        start.card("crystal ball")


def test_every_technique_points_at_a_notebook_name():
    assert all(t.lab[:2].isdigit() for t in techniques.registry())


def test_explorer_callback_redraws_figure_and_card():
    box = start.explorer("he")
    colors = list(box.figure.data[0].marker.color)
    box.choose.value = "tee"
    new = list(box.figure.data[0].marker.color)
    keys = [k for k, _, _ in start.claimed_ranges()]
    assert new != colors and new[keys.index("tee")] != new[keys.index("he")]
    assert "Trusted execution" in box.panel.value
