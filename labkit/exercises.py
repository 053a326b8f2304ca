"""Checks for the notebooks' exercises: a learner's answer gets a pass or a hint.

Each exercise is registered under an id ``"NN.name"`` (NN = notebook number)
with a checker. ``check(id, answer, **context)`` returns a :class:`Feedback`
that renders green or orange in a notebook and is truthy when it passes.
Checkers that depend on the learner's own measurements take them as context
(for example the ratio their run produced).

>>> fb = check("00.protects_in_use", "homomorphic encryption")
>>> bool(fb)
True
>>> bool(check("00.protects_in_use", "TLS"))
False
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import InvalidInput


@dataclass(frozen=True)
class Feedback:
    """The outcome of one check: passed or not, and what to do next."""

    exercise: str
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return f"{'PASS' if self.passed else 'NOT YET'} [{self.exercise}] {self.message}"

    def _repr_html_(self) -> str:
        colour, mark = ("#1b5e20", "&#10004; Correct") if self.passed else ("#e65100", "&#10070; Not yet")
        return (
            f"<div style='border-left:4px solid {colour};padding:4px 8px'>"
            f"<b style='color:{colour}'>{mark}</b> <code>{html.escape(self.exercise)}</code> "
            f"{html.escape(self.message)}</div>"
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


def check(exercise_id: str, answer: Any, **context: Any) -> Feedback:
    """Check a learner's answer; never raises on a wrong answer, only on a wrong id."""
    ex = _get(exercise_id)
    if answer is ... or answer is None:
        return Feedback(exercise_id, False, "Replace the ... with your answer and run the cell again.")
    try:
        passed, message = ex.checker(answer, **context)
    except (TypeError, ValueError) as exc:
        return Feedback(exercise_id, False, f"That answer has the wrong form: {exc}")
    return Feedback(exercise_id, bool(passed), message)


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
