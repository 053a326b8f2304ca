import pytest

from labkit import exercises
from labkit.errors import InvalidInput


@pytest.mark.parametrize(
    "exercise, right, wrong, hint",
    [
        ("00.protects_in_use", "Homomorphic-Encryption", "TLS", "in transit"),
        ("00.threat_for_inversion", "honest but curious server", "Byzantine client", "see"),
        ("00.claimed_tee_ratio", 1.07, 7, "1 + p/100"),
    ],
)
def test_right_passes_wrong_gets_hint(exercise, right, wrong, hint):
    assert exercises.check(exercise, right).passed
    fb = exercises.check(exercise, wrong)
    assert not fb and hint in fb.message
    assert "Not yet" in fb._repr_html_() and "Correct" in exercises.check(exercise, right)._repr_html_()


def test_placeholder_and_wrong_type_are_feedback_not_errors():
    assert "Replace the ..." in exercises.check("00.claimed_tee_ratio", ...).message
    assert "wrong form" in exercises.check("00.protects_in_use", 42).message
    assert "wrong form" in exercises.check("00.claimed_tee_ratio", "a lot").message


def test_unknown_exercise_is_an_error():
    with pytest.raises(InvalidInput, match="unknown exercise"):
        exercises.check("00.nope", 1)


def test_listing_and_prompt():
    ids = [e.id for e in exercises.exercises("00.")]
    assert {"00.protects_in_use", "00.claimed_tee_ratio"} <= set(ids)
    assert "TEE" in exercises.prompt("00.claimed_tee_ratio")


def test_numeric_direction_hints():
    check = exercises.numeric(10.0, rel_tol=0.01)
    assert check(10.05)[0]
    assert "too low" in check(5)[1] and "too high" in check(20)[1]
    assert not check(float("nan"))[0]
