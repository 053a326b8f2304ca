"""Sweeps: accuracy rises with epsilon, points are cached in the ResultStore, and a rerun trains nothing."""

from __future__ import annotations

import itertools
import math

import pytest

from labkit import config, dp
from labkit.dp import training
from labkit.errors import InvalidInput

EPSILONS = (0.5, 2.0, 8.0)  # the digits_sweep fixture's (tests/dp/conftest.py)


@pytest.fixture(scope="module")
def store(dp_store):
    return dp_store


def test_accuracy_rises_with_epsilon(digits_sweep):
    acc = [r.metrics["accuracy"] for r in digits_sweep]
    eps = [r.metrics["epsilon"] for r in digits_sweep]
    assert eps == sorted(eps)
    assert acc[-1] > acc[0] + 0.03  # the budget buys accuracy
    assert all(b >= a - 0.03 for a, b in itertools.pairwise(acc))  # non-decreasing, allowing training noise
    base = digits_sweep[0].metrics["baseline_accuracy"]
    assert all(r.metrics["accuracy"] <= base + 0.02 for r in digits_sweep)


def test_every_point_reports_epsilon_with_delta_and_target(digits_sweep):
    for target, r in zip(EPSILONS, digits_sweep):
        assert r.metrics["delta"] < 1 / r.params["n_train"]
        assert r.metrics["epsilon"] <= target * 1.001
        assert r.metrics["epsilon"] == pytest.approx(r.metrics["epsilon_check"], rel=0.05)
        assert r.metrics["empirical_epsilon"] < r.metrics["epsilon"]


def test_second_run_recomputes_nothing(digits_sweep, store, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a cached point was trained again")

    monkeypatch.setattr(training, "train_planned", refuse)
    again = dp.sweep("digits", values=EPSILONS, store=store, progress=False)
    assert [r.id for r in again] == [r.id for r in digits_sweep]


def test_interrupted_sweep_resumes(store, monkeypatch):
    real_run = training.train_planned
    calls = []

    def counting(params, **kwargs):
        calls.append(params["target_epsilon"])
        return real_run(params, **kwargs)

    monkeypatch.setattr(training, "train_planned", counting)
    kw = dict(store=store, progress=False, epochs=2, batch_size=64)
    dp.sweep("breast_cancer", values=(1.0,), **kw)  # "interrupted" after one point
    dp.sweep("breast_cancer", values=(1.0, 4.0), **kw)
    assert calls == [1.0, 4.0]
    dp.sweep("breast_cancer", values=(1.0, 4.0), **kw, recompute=True)
    assert calls == [1.0, 4.0, 1.0, 4.0]


def test_frontier_table_has_nonprivate_row(digits_sweep):
    table = dp.frontier(digits_sweep)
    assert len(table) == len(EPSILONS) + 1
    last = table.iloc[-1]
    assert math.isinf(last["epsilon"]) and not last["private"]
    assert last["accuracy"] >= table["accuracy"].iloc[:-1].max() - 0.02
    assert list(table["private"]) == [True] * len(EPSILONS) + [False]


def test_clip_norm_sweep_holds_epsilon(store):
    results = dp.sweep(
        "breast_cancer", over="max_grad_norm", values=(0.1, 5.0), store=store, progress=False, epochs=2, batch_size=64
    )
    assert [r.params["max_grad_norm"] for r in results] == [0.1, 5.0]
    assert all(r.params["target_epsilon"] == dp.sweeps.FIXED_EPSILON for r in results)


def test_bad_sweeps_refused(store):
    with pytest.raises(InvalidInput, match="over"):
        dp.sweep("digits", over="lr", store=store, progress=False)
    with pytest.raises(InvalidInput, match="varies"):
        dp.sweep("digits", values=(1.0,), target_epsilon=1.0, store=store, progress=False)
    with pytest.raises(InvalidInput, match="target_epsilon"):
        dp.sweep("digits", values=(1.0, -2.0), store=store, progress=False)  # checked before any training
    with pytest.raises(InvalidInput):
        dp.frontier([])


def test_default_sweep_has_enough_points(monkeypatch):
    monkeypatch.setenv("LABKIT_FAST", "0")
    values = config.pick(*dp.sweeps.DEFAULT_VALUES["target_epsilon"])
    assert len(values) >= 6 and min(values) <= 0.5 and max(values) >= 10
