"""Fixtures shared by the DP tests: one store, and the fast digits sweep trained once per session."""

from __future__ import annotations

import pytest

from labkit import dp
from labkit.results import ResultStore

EPSILONS = (0.5, 2.0, 8.0)


@pytest.fixture(scope="session")
def dp_store(tmp_path_factory):
    return ResultStore(tmp_path_factory.mktemp("dp") / "results.sqlite")


@pytest.fixture(scope="session")
def digits_sweep(dp_store):
    return dp.sweep("digits", values=EPSILONS, store=dp_store, progress=False)
