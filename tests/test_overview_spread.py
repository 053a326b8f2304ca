"""overview.spread: an honest sentence about the stored ratios, for an empty, a one-point and a full store."""

from labkit import overview
from labkit.overview import Point


def _pt(tech: str, label: str, ratio: float) -> Point:
    return Point(tech, label, ratio, None, None, "measured", label, "00_start_here", "")


def test_empty_store_claims_no_spread():
    text = overview.spread([])
    assert text.startswith("Nothing measured yet") and "orders" not in text


def test_one_point_is_not_a_spread():
    text = overview.spread([_pt("tee", "sealing", 1.05)])
    assert "One point so far" in text and "1.05x" in text and "orders" not in text


def test_spread_counts_orders_of_magnitude_overall_and_per_row():
    text = overview.spread([_pt("tee", "sealing", 1.0), _pt("he", "batched", 1000.0), _pt("pqc", "handshake", 1.1)])
    first, *rows = text.splitlines()
    assert first.startswith("3 points, from 1x (tee: sealing) to 1e+03x (he: batched), 3.0 orders")
    # he and tee share the 'in use' row; pqc is alone in its row and gets no line of its own
    assert len(rows) == 1 and "3.0 orders" in rows[0]
