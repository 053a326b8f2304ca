"""Notebook-01 lab functions: round trip, noise growth, parameter explorer."""

from __future__ import annotations

import pytest

import labkit.he as he
from labkit.errors import InsecureParameters, InvalidInput
from labkit.he import lab
from labkit.results import NOT_FOR_PRODUCTION

NEEDS_OPENFHE = pytest.mark.skipif(
    not he.available("openfhe"), reason="OpenFHE does not import here (CPython 3.10 only)"
)


@pytest.mark.parametrize("backend", ["seal", pytest.param("openfhe", marks=NEEDS_OPENFHE)])
def test_roundtrip_result(backend):
    r = lab.roundtrip(backend=backend, n_values=512, repeat=2)
    assert r.metrics["max_error"] < 1e-3 and r.metrics["security_bits"] == 128
    assert r.metrics["ciphertext_bytes"] == 2 * 3 * 8192 * 8  # 2 polynomials x 3 limbs x N x 8 bytes
    assert set(r.timings) == {"encrypt", "decrypt", "add", "multiply"} and not r.insecure
    exact = lab.roundtrip(backend=backend, scheme="bfv", n_values=512, repeat=2)
    assert exact.metrics["max_error"] == 0


def test_roundtrip_refuses_then_flags_insecure():
    with pytest.raises(InsecureParameters):
        lab.roundtrip(poly_modulus_degree=2048)
    r = lab.roundtrip(poly_modulus_degree=4096, allow_insecure=True, n_values=16, repeat=1)
    assert NOT_FOR_PRODUCTION in r.flags and r.metrics["security_bits"] == 0


@pytest.mark.parametrize("scheme", ["ckks", "bfv"])
def test_noise_growth_until_refused(scheme):
    r = lab.noise_growth(scheme=scheme)
    rows = r.artifacts["levels"]
    assert [row["levels_left"] for row in rows] == [2, 1, 0]
    assert r.metrics["refused"] and "depth" in r.artifacts["refused"]
    if scheme == "ckks":
        assert rows[-1]["error"] < 1e-3 and rows[-1]["bytes"] < rows[0]["bytes"]  # rescaling drops limbs
    else:
        assert all(row["error"] == 0 for row in rows)
        budgets = [row["noise_budget_bits"] for row in rows]
        assert budgets == sorted(budgets, reverse=True) and budgets[-1] > 0


def test_explore_points():
    weak = lab.explore(poly_modulus_degree=4096, modulus_bits=200, measure_ops=False)
    assert weak.metrics["security_bits"] == 0 and NOT_FOR_PRODUCTION in weak.flags
    good = lab.explore(poly_modulus_degree=8192, modulus_bits=218, scale_bits=30, repeat=1)
    assert good.metrics["security_bits"] == 128 and good.metrics["depth"] == 3
    assert good.metrics["precision_bits"] > 10 and good.metrics["multiply_ms"] > 0
    with pytest.raises(InvalidInput):
        lab.explore(modulus_bits=90, scale_bits=40)
