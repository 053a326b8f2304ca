"""Notebook 05's exercise checks, each with a right and a wrong answer."""

import pytest

from labkit.exercises import check


@pytest.mark.parametrize(
    "exercise, right, wrong, context",
    [
        ("05.shares_to_reconstruct", 3, 2, {}),
        ("05.leaky_provider", "TFP", "TTP", {}),
        ("05.sum_error_bound", 8 * 2**-16, 2**-16, {}),
        ("05.wan_bottleneck", "rounds", "compute", {"parts": {"compute_s": 0.2, "latency_s": 0.6, "transfer_s": 0.07}}),
        ("05.published_ratio", "below", "similar", {"measured": 80.0}),
        ("05.published_ratio", "similar", "above", {"measured": 400.0}),
        ("05.published_ratio", "above", "below", {"measured": 2000.0}),
    ],
)
def test_right_and_wrong_answers(exercise, right, wrong, context):
    assert check(exercise, right, **context)
    feedback = check(exercise, wrong, **context)
    assert not feedback and feedback.message


def test_context_is_required_and_bad_forms_get_hints():
    assert not check("05.wan_bottleneck", "rounds")  # missing parts: a hint, not a crash
    assert not check("05.published_ratio", "much", measured=10.0)
    assert "dealer" in check("05.leaky_provider", "TTP").message
