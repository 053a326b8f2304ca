"""Notebook 09's exercise checks: a right and a wrong answer each."""

from __future__ import annotations

from labkit.exercises import check

ROWS = [
    {"stack": "plain", "psnr": 80.0, "poison_caught": False, "overhead": 1.0},
    {"stack": "zk", "psnr": 78.0, "poison_caught": True, "overhead": 500.0},
    {"stack": "dp+secagg+zk+tls", "psnr": 5.0, "poison_caught": True, "overhead": 900.0},
]


def test_stops_poison():
    assert check("09.stops_poison", "zk")
    fb = check("09.stops_poison", "secagg")
    assert not fb and "unseen" in fb.message


def test_tls_stops():
    assert check("09.tls_stops", "eavesdropper")
    assert not check("09.tls_stops", "server")


def test_cheapest_safe_stack():
    assert check("09.cheapest_safe_stack", "dp+secagg+zk+tls", rows=ROWS)
    assert not check("09.cheapest_safe_stack", "zk", rows=ROWS)
    assert "not a stack" in check("09.cheapest_safe_stack", "sgx", rows=ROWS).message
    assert not check("09.cheapest_safe_stack", "zk")  # no rows: a message, not an exception


def test_key_holder():
    assert check("09.key_holder", "the enclave")
    fb = check("09.key_holder", "server")
    assert not fb and "quote" in fb.message
