"""Notebook 04's exercise checks: a right and a wrong answer each."""

from __future__ import annotations

from labkit.exercises import check, exercises


def test_all_registered():
    ids = {e.id for e in exercises("04.")}
    assert ids == {"04.what_is_checked", "04.provenance_decision", "04.norm_excess", "04.orders_above_claim"}


def test_what_is_checked():
    assert check("04.what_is_checked", "instances")
    fb = check("04.what_is_checked", "pretty_public_inputs")
    assert not fb and "never checked" in fb.message


def test_provenance_decision():
    assert check("04.provenance_decision", "Reject")
    assert not check("04.provenance_decision", "accept")


def test_norm_excess():
    assert check("04.norm_excess", 1.25, norm=1.5, bound=1.0)
    assert check("04.norm_excess", 0.0, norm=0.8, bound=1.0)
    assert not check("04.norm_excess", 0.5, norm=1.5, bound=1.0)  # the norm difference, not squares
    assert not check("04.norm_excess", 1.25)  # no context: wrong form, not a crash


def test_orders_above_claim():
    assert check("04.orders_above_claim", 2.0, measured=5000.0)
    assert not check("04.orders_above_claim", 5000.0, measured=5000.0)
    assert not check("04.orders_above_claim", float("nan"), measured=5000.0)
