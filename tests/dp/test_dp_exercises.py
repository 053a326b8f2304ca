"""Notebook 06's exercise checks, each with a right and a wrong answer."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from labkit.exercises import check

TABLE = pd.DataFrame(
    {
        "epsilon": [0.5, 1.02, 8.0, math.inf],
        "accuracy": [0.70, 0.90, 0.95, 0.975],
        "private": [True, True, True, False],
    }
)


@pytest.mark.parametrize(
    "exercise, right, wrong, context",
    [
        ("06.tpr_bound", math.e * 0.05, 0.05, {}),
        ("06.more_noise", "down", "up", {}),
        ("06.bigger_batch", "up", "down", {}),
        ("06.audit_proves", "no", "yes", {}),
        ("06.accuracy_cost", 7.5, 2.0, {"table": TABLE}),
        ("06.overhead_vs_opacus", "above", "similar", {"measured": 2.5}),
        ("06.overhead_vs_opacus", "similar", "below", {"measured": 1.7}),
        ("06.overhead_vs_opacus", "below", "above", {"measured": 1.1}),
    ],
)
def test_right_and_wrong_answers(exercise, right, wrong, context):
    assert check(exercise, right, **context)
    feedback = check(exercise, wrong, **context)
    assert not feedback and feedback.message


def test_hints_for_missing_context_and_wrong_forms():
    assert not check("06.accuracy_cost", 7.5)  # no table: a hint, not a crash
    assert "percentage points" in check("06.accuracy_cost", 0.075, table=TABLE).message
    assert not check("06.overhead_vs_opacus", "much", measured=2.0)
    assert "lower bound" in check("06.audit_proves", "yes").message
