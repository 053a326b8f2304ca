"""Exercises of notebooks 01 and 02: a right and a wrong answer each."""

from __future__ import annotations

import pytest

from labkit.exercises import check

RIGHT_WRONG = [
    ("01.max_modulus_8192", 218, 438, {}),
    ("01.chain_depth", 3, 5, {}),
    ("01.exact_scheme", "BGV", "ckks", {}),
    ("01.wraparound", 14463, 80000, {}),
    ("01.polynomial_depth", 2, 3, {}),
    ("02.slots", 4096, 8192, {}),
    ("02.bsgs_rotations", 14, 64, {}),
    ("02.claim_position", "above", "inside", {"measured": 600.0}),
    ("02.race_winner", "tie", "seal", {"verdict": "tie (within 10%)"}),
]


@pytest.mark.parametrize("exercise, right, wrong, context", RIGHT_WRONG, ids=[r[0] for r in RIGHT_WRONG])
def test_right_and_wrong(exercise, right, wrong, context):
    assert check(exercise, right, **context)
    assert not check(exercise, wrong, **context)


def test_context_is_required():
    assert not check("02.claim_position", "inside")  # no measured= -> "wrong form", not a crash
