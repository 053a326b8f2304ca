"""Session fixtures for the capstone tests: every default stack evaluated once, shared by all tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def capstone_store(tmp_path_factory):
    from labkit.results import ResultStore

    return ResultStore(tmp_path_factory.mktemp("capstone") / "results.sqlite")


@pytest.fixture(scope="session")
def stack_results(capstone_store):
    """Result per stack, keyed by stack name (plain, dp, secagg, zk, tls, secagg+tee, dp+secagg, all)."""
    from labkit.capstone import STACKS, compare

    results = compare(STACKS, store=capstone_store)
    return {r.artifacts["stack"]: r for r in results}


@pytest.fixture(scope="session")
def round_setup():
    from labkit.capstone import setup

    return setup()
