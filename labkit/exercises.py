"""Checks for the notebooks' exercises: a learner's answer gets a pass or a specific hint.

Each exercise is registered under an id ``"NN.name"`` (NN = notebook number)
with its question and a checker. A notebook shows the question with
:func:`ask` before the learner's answer, then ``check(id, answer, **context)``
returns a :class:`Feedback` that renders green or orange in a notebook and is
truthy when it passes. Checkers never reveal the answer, and those that depend
on the learner's own run read the measurement from the run's
:class:`~labkit.results.Result` (``check(id, answer, result=res)``), never from
a number the learner types in.

Answers left as ``...`` (the student version's placeholder, see
:mod:`labkit.student`) are "not answered yet": the feedback repeats the
question and nothing raises. With ``LABKIT_EXERCISES_STRICT=1`` (the notebook
tests of the instructor version) any check that is not correct raises
:class:`ExerciseNotCorrect`; with ``LABKIT_EXERCISES_LOG=<file>`` every check
appends one JSON line (id, status, message) to that file.

>>> fb = check("00.protects_in_use", "homomorphic encryption")
>>> bool(fb), fb.status
(True, 'correct')
>>> bool(check("00.protects_in_use", "TLS"))
False
>>> check("00.protects_in_use", ...).status
'not answered'
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import InvalidInput

STRICT_ENV = "LABKIT_EXERCISES_STRICT"
LOG_ENV = "LABKIT_EXERCISES_LOG"
CORRECT, NOT_YET, UNANSWERED = "correct", "not yet", "not answered"


class ExerciseNotCorrect(AssertionError):
    """Raised by :func:`check` in strict mode (``LABKIT_EXERCISES_STRICT=1``) when an answer is not correct."""


@dataclass(frozen=True)
class Feedback:
    """The outcome of one check: correct, not yet (with a hint) or not answered yet (with the question)."""

    exercise: str
    passed: bool
    message: str
    status: str = ""

    def __post_init__(self):
        if not self.status:
            object.__setattr__(self, "status", CORRECT if self.passed else NOT_YET)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        label = {CORRECT: "PASS", NOT_YET: "NOT YET", UNANSWERED: "NOT ANSWERED YET"}[self.status]
        return f"{label} [{self.exercise}] {self.message}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour, mark = {
            CORRECT: ("#1b5e20", "&#10004; Correct"),
            NOT_YET: ("#e65100", "&#10070; Not yet"),
            UNANSWERED: ("#455a64", "&#9998; Not answered yet"),
        }[self.status]
        return (
            f"<div style='border-left:4px solid {colour};padding:4px 8px'>"
            f"<b style='color:{colour}'>{mark}</b> <code>{html.escape(self.exercise)}</code> "
            f"{html.escape(self.message)}</div>"
        )


@dataclass(frozen=True)
class Question:
    """An exercise's question, shown before the answer cell (plain text and HTML)."""

    exercise: str
    text: str

    def __str__(self) -> str:
        return f"Question [{self.exercise}]: {self.text}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return (
            "<div style='border-left:4px solid #1565c0;padding:4px 8px'>"
            f"<b style='color:#1565c0'>Question</b> <code>{html.escape(self.exercise)}</code> "
            f"{html.escape(self.text)}</div>"
        )


Checker = Callable[..., tuple[bool, str]]


@dataclass(frozen=True)
class Exercise:
    """One exercise: its id, question, checker and hint."""

    id: str
    prompt: str
    checker: Checker


_REGISTRY: dict[str, Exercise] = {}


def register(exercise_id: str, prompt: str) -> Callable[[Checker], Checker]:
    """Decorator: register ``checker(answer, **context) -> (passed, message)``."""

    def wrap(fn: Checker) -> Checker:
        if exercise_id in _REGISTRY:
            raise InvalidInput(f"exercise {exercise_id!r} is registered twice.")
        _REGISTRY[exercise_id] = Exercise(exercise_id, prompt, fn)
        return fn

    return wrap


def exercises(prefix: str = "") -> list[Exercise]:
    """Registered exercises whose id starts with ``prefix`` (e.g. "03.")."""
    _load(prefix[:2] if len(prefix) >= 2 else None)
    return [e for k, e in sorted(_REGISTRY.items()) if k.startswith(prefix)]


def prompt(exercise_id: str) -> str:
    """The question as the learner sees it."""
    return _get(exercise_id).prompt


def ask(exercise_id: str) -> Question:
    """Show the question (printed, so it appears wherever the call sits in a cell) and return it."""
    question = Question(exercise_id, prompt(exercise_id))
    print(question)
    return question


def check(exercise_id: str, answer: Any, **context: Any) -> Feedback:
    """Check a learner's answer.

    Never raises on a wrong or missing answer (only on an unknown id), except in strict
    mode (``LABKIT_EXERCISES_STRICT=1``), where anything but a correct answer raises
    :class:`ExerciseNotCorrect`.
    """
    ex = _get(exercise_id)
    if answer is ... or answer is None:
        fb = Feedback(
            exercise_id, False, f"Not answered yet. {ex.prompt} (Replace the ... with your answer.)", UNANSWERED
        )
    else:
        try:
            passed, message = ex.checker(answer, **context)
        except (TypeError, ValueError) as exc:
            passed, message = False, f"That answer has the wrong form: {exc}"
        fb = Feedback(exercise_id, bool(passed), message)
    _log(fb)
    if not fb.passed and os.environ.get(STRICT_ENV, "") not in ("", "0"):
        raise ExerciseNotCorrect(str(fb))
    return fb


def _log(fb: Feedback) -> None:
    path = os.environ.get(LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"id": fb.exercise, "status": fb.status, "message": fb.message}) + "\n")


def _get(exercise_id: str) -> Exercise:
    _load(exercise_id[:2])
    if exercise_id not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise InvalidInput(f"unknown exercise {exercise_id!r}; known: {known}.")
    return _REGISTRY[exercise_id]


def _load(notebook: str | None) -> None:
    """Import the exercise sets of one notebook ("03"), or of all when None.

    Sets live in ``labkit/exercise_sets/nbNN_*.py``, one per notebook, and are
    imported only when asked for, so checking lab 00 never loads torch.
    """
    import importlib
    import pkgutil

    from . import exercise_sets

    for info in pkgutil.iter_modules(exercise_sets.__path__):
        if notebook is None or info.name.startswith(f"nb{notebook}"):
            importlib.import_module(f"{exercise_sets.__name__}.{info.name}")


# -- reusable checkers ------------------------------------------------------------
def numeric(expected: float, *, rel_tol: float = 0.05, abs_tol: float = 0.0, unit: str = "", hint: str = "") -> Checker:
    """A number within tolerance of ``expected``; the hint says higher or lower (plus ``hint``)."""

    def checker(answer: Any, **_: Any) -> tuple[bool, str]:
        value = float(answer)
        if math.isnan(value):
            return False, "That is NaN; give a number."
        if math.isclose(value, expected, rel_tol=rel_tol, abs_tol=abs_tol):
            return True, f"{value:g}{unit} is right."
        direction = "too high" if value > expected else "too low"
        return False, f"{value:g}{unit} is {direction}. " + (hint or "Look again at how it is computed.")

    return checker


def choice(correct: Iterable[str], hints: dict[str, str] | None = None, *, default_hint: str = "") -> Checker:
    """A text answer from a set of accepted spellings (case and spacing ignored)."""
    accepted = {_norm(c) for c in correct}
    hint_map = {_norm(k): v for k, v in (hints or {}).items()}

    def checker(answer: Any, **_: Any) -> tuple[bool, str]:
        if not isinstance(answer, str):
            raise TypeError(f"give the answer as text, not {type(answer).__name__}")
        key = _norm(answer)
        if key in accepted:
            return True, "That's it."
        return False, hint_map.get(key, default_hint or "Not this one; reread the section above.")

    return checker


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").replace("_", " ").split())


def metric_of(result: Any, key: str) -> float:
    """A number from a Result's metrics (the run's measurement a prediction is checked against)."""
    metrics = getattr(result, "metrics", None)
    if metrics is None:
        raise TypeError("pass the run's Result: check(..., result=<the Result>)")
    if key not in metrics:
        raise ValueError(f"that Result has no metric {key!r}; pass the Result of the run this exercise names")
    return float(metrics[key])


def predicted(
    measure: Callable[..., float],
    *,
    rel_tol: float = 0.0,
    abs_tol: float = 0.0,
    factor: float | None = None,
    unit: str = "",
    hint: str,
) -> Checker:
    """A predicted number checked against the run: ``measure(**context)`` reads it from the Result(s).

    The tolerance is stated in every message (relative, absolute, or within a ``factor``
    either way); a wrong prediction gets the direction and ``hint``, never the measured value.
    """
    if factor is not None:
        tolerance = f"within a factor {factor:g} either way"
    elif rel_tol:
        tolerance = f"within {rel_tol:.0%}"
    else:
        tolerance = f"within {abs_tol:g}{unit}"

    def checker(answer: Any, **context: Any) -> tuple[bool, str]:
        value = float(answer)
        if math.isnan(value):
            return False, "That is NaN; give a number."
        truth = float(measure(**context))
        if factor is not None:
            ok = value > 0 and truth > 0 and abs(math.log(value / truth)) <= math.log(factor)
        else:
            ok = math.isclose(value, truth, rel_tol=rel_tol, abs_tol=abs_tol)
        if ok:
            return True, f"Your prediction {value:g}{unit} matches the run ({truth:.4g}{unit}; {tolerance})."
        direction = "too high" if value > truth else "too low"
        return False, f"Your prediction {value:g}{unit} is {direction} ({tolerance} counts). {hint}"

    return checker


def predicted_choice(measure: Callable[..., str], options: Iterable[str], hints: dict[str, str]) -> Checker:
    """A predicted category (one of ``options``) checked against what ``measure(**context)`` reads from the run.

    A wrong prediction gets the hint written for that wrong option, never the right one.
    """
    names = [_norm(o) for o in options]
    hint_map = {_norm(k): v for k, v in hints.items()}

    def checker(answer: Any, **context: Any) -> tuple[bool, str]:
        if not isinstance(answer, str):
            raise TypeError(f"give the answer as text, not {type(answer).__name__}")
        given = _norm(answer)
        if given not in names:
            raise ValueError("answer one of " + ", ".join(repr(o) for o in options))
        truth = _norm(measure(**context))
        if given == truth:
            return True, f"Your prediction '{answer}' is what the run shows."
        return False, hint_map.get(given, "The run disagrees with that prediction; reread the section above.")

    return checker
