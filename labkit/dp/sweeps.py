"""Sweeps of DP-SGD over the privacy budget, the clip norm or the batch size, cached and resumable.

Every point of a sweep is one :func:`labkit.dp.train_private` run. Before
training a point, :func:`sweep` looks its exact parameters up in the
ResultStore (``store.latest("dp", "train_private", params)``) and reuses what
it finds, so an interrupted sweep resumes where it stopped and a finished one
reruns in seconds. :func:`frontier` turns the Results into a table with the
non-private model as its last row.

References
----------
Abadi et al., "Deep learning with differential privacy", CCS 2016 (accuracy against epsilon, section 5).
Ponomareva et al., "How to DP-fy ML: a practical guide to machine learning with differential privacy",
JAIR 2023 (what to sweep: noise, batch size, clip norm).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .. import config, validate
from ..errors import InvalidInput
from ..results import Result, ResultStore
from . import training

SWEEP_EPSILONS = (0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 10.0)
FAST_EPSILONS = (0.5, 2.0, 8.0)
#: The values each sweep varies by default: (full, fast mode).
DEFAULT_VALUES = {
    "target_epsilon": (SWEEP_EPSILONS, FAST_EPSILONS),
    "max_grad_norm": ((0.1, 0.3, 1.0, 3.0, 10.0), (0.1, 1.0)),
    "batch_size": ((32, 64, 128, 256, 512), (64, 256)),
}
FIXED_EPSILON = 3.0  # the budget held fixed while sweeping clip norm or batch size


def leak_setting() -> dict[str, Any]:
    """Settings chosen to overfit: 100 training digits, a wide net, many small-batch epochs.

    The non-private model memorises its 100 members (train accuracy 100%)
    and the membership attacks see it; use these with :func:`train_private`.
    """
    return {
        "dataset": "digits",
        "n_train": 100,
        "hidden": 64,
        "batch_size": 16,
        "lr": 0.1,
        "epochs": config.pick(30, 15),
    }


def sweep(
    dataset: str = "digits",
    *,
    over: str = "target_epsilon",
    values: Sequence[float] | None = None,
    store: ResultStore | None = None,
    recompute: bool = False,
    progress: bool = True,
    **fixed: Any,
) -> list[Result]:
    """Train one point per value of ``over``, reusing points already in the store.

    Parameters
    ----------
    dataset : {"digits", "breast_cancer"}
    over : {"target_epsilon", "max_grad_norm", "batch_size"}
        The parameter to vary.
    values : sequence, optional
        Its values; defaults: 7 budgets from 0.5 to 10 (3 in fast mode), or 5
        clip norms / batch sizes (2 in fast mode) at ``target_epsilon=3``.
    store : ResultStore, optional
        Where points are looked up and saved (default: the lab's store).
    recompute : bool
        Train every point again even if stored (a benchmark wants fresh timings).
    progress : bool
        Show a tqdm bar over the points.
    **fixed
        Any other :func:`labkit.dp.train_private` parameter, held fixed.

    Returns
    -------
    list of Result
        One per value, in the order of ``values``.
    """
    validate.choice("over", over, DEFAULT_VALUES)
    if over in fixed:
        raise InvalidInput(f"{over} is what this sweep varies; do not also pass it as a fixed parameter.")
    values = tuple(config.pick(*DEFAULT_VALUES[over]) if values is None else values)
    if not values:
        raise InvalidInput("values must hold at least one value to sweep.")
    if over != "target_epsilon" and "noise_multiplier" not in fixed:
        fixed.setdefault("target_epsilon", FIXED_EPSILON)
    # Validate every point before training any.
    plans = [training.plan(dataset, **{**fixed, over: v}) for v in values]
    store = store if store is not None else ResultStore()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(plans), desc=f"DP sweep over {over} ({dataset})")
    results, cached = [], 0
    try:
        for params in plans:
            found = None if recompute else store.latest(training.TECHNIQUE, training.NAME, params)
            if found is None:
                found = training.train_planned(params)
                store.add(found)
            else:
                cached += 1
            results.append(found)
            if bar is not None:
                bar.set_postfix(cached=cached)
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return results


def frontier(results: Sequence[Result]):
    """A pandas DataFrame of the sweep, one row per point plus the non-private model.

    The non-private row (``epsilon`` = inf) averages the baseline trained
    alongside each point: same data, same recipe, no clipping and no noise.
    """
    import pandas as pd

    if not results:
        raise InvalidInput("frontier needs at least one Result from sweep() or train_private().")
    rows = []
    for r in results:
        if r.technique != training.TECHNIQUE or r.name != training.NAME:
            raise InvalidInput(f"frontier takes dp/train_private Results, not {r.technique}/{r.name}.")
        m = r.metrics
        rows.append(
            {
                "target_epsilon": r.params.get("target_epsilon"),
                "epsilon": m["epsilon"],
                "delta": m["delta"],
                "max_grad_norm": r.params["max_grad_norm"],
                "batch_size": r.params["batch_size"],
                "noise_multiplier": m["noise_multiplier"],
                "accuracy": m["accuracy"],
                "attack_auc": m["attack_auc"],
                "attack_auc_se": m["attack_auc_se"],
                "attack_auc_calibrated": m["attack_auc_calibrated"],
                "tpr_at_low_fpr": m["tpr_at_low_fpr"],
                "empirical_epsilon": m["empirical_epsilon"],
                "overhead": m["overhead"],
                "private": True,
            }
        )

    def mean(key: str) -> float:
        return sum(r.metrics[key] for r in results) / len(results)

    rows.append(
        {
            "target_epsilon": None,
            "epsilon": math.inf,
            "delta": 0.0,
            "max_grad_norm": None,
            "batch_size": results[0].params["batch_size"],
            "noise_multiplier": 0.0,
            "accuracy": mean("baseline_accuracy"),
            "attack_auc": mean("baseline_attack_auc"),
            "attack_auc_se": mean("baseline_attack_auc_se"),
            "attack_auc_calibrated": mean("baseline_attack_auc_calibrated"),
            "tpr_at_low_fpr": mean("baseline_tpr_at_low_fpr"),
            "empirical_epsilon": mean("baseline_empirical_epsilon"),
            "overhead": 1.0,
            "private": False,
        }
    )
    return pd.DataFrame(rows)
