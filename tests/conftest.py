"""Shared test set-up: fast mode and a throw-away lab home for every test session."""

from __future__ import annotations

import os
import tempfile

import pytest

# Before labkit is imported anywhere: shrunken workloads, and a lab home that
# never touches the user's ~/.labkit.
os.environ["LABKIT_FAST"] = "1"
os.environ.setdefault("LABKIT_HOME", tempfile.mkdtemp(prefix="labkit-test-home-"))


@pytest.fixture(autouse=True)
def _strict_exercises_in_instructor_notebooks(request, monkeypatch):
    """The repository's notebooks (the instructor version) must answer every exercise correctly.

    With LABKIT_EXERCISES_STRICT=1 in the environment the notebook kernels inherit,
    a check that is not correct raises, so the notebook run in tests/test_notebooks.py
    fails (labkit.exercises). The student version's tests run without it.
    """
    if request.module.__name__.rpartition(".")[2] == "test_notebooks":
        monkeypatch.setenv("LABKIT_EXERCISES_STRICT", "1")
