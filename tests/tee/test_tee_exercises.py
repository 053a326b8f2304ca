"""Notebook 07's exercise checks: a right and a wrong answer each."""

import pytest

from labkit.exercises import check


@pytest.mark.parametrize(
    ("exercise", "right", "wrong", "context"),
    [
        ("07.replay_reason", "stale_nonce", "bad_signature", {}),
        ("07.upgrade_policy", "signer", "measurement", {}),
        ("07.oblivious_touches", 17, 1, {}),
        ("07.leaked_fraction", 1.0, 0.47, {"measured": 1.0}),
        ("07.claim_boundary_mb", 93, 500, {}),
    ],
)
def test_right_and_wrong(exercise, right, wrong, context):
    assert check(exercise, right, **context)
    fb = check(exercise, wrong, **context)
    assert not fb and fb.message


def test_leaked_fraction_needs_the_measurement():
    assert not check("07.leaked_fraction", 1.0)
