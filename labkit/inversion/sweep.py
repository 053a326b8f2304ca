"""The privacy-utility frontier: defense strength against attack success and model accuracy.

For each setting of one knob (a defense's strength, or a protocol setting:
batch size, local steps, the number of clients behind secure aggregation) the
sweep attacks ``n_images`` private batches and trains a federated model with
the same setting, then records one ``frontier_point`` Result: median PSNR,
SSIM and label accuracy of the attack, and the test accuracy it costs.
Points go into the ResultStore as they finish; a rerun with the same
parameters reuses them, so an interrupted sweep resumes where it stopped.

References
----------
Zhu, Liu & Han, "Deep Leakage from Gradients", NeurIPS 2019, figure 5 (defense sweeps).
Geiping et al., "Inverting Gradients", NeurIPS 2020, section 6 (batch size, local steps).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import config, validate
from ..errors import InvalidInput
from ..fl.secure_agg import PlainSum, SecureAggregator
from ..results import NOT_FOR_PRODUCTION, Result, ResultStore
from .defenses import DEFENSES, make_defense
from .scenario import defense_utility, run_scenario

PROTOCOL_KNOBS = {
    # knob: sweep values (weak to strong)
    "batch_size": [1, 2, 4, 8, 16, 32],
    "local_steps": [1, 2, 5, 10, 20],
    "secure_aggregation": [1, 2, 4, 8, 16, 32],  # number of clients summed
}
SWEEP_VERSION = 2  # bump when an attack, defense or scenario changes: stored points of older code are not reused
KNOBS = tuple(k for k in DEFENSES if k != "none") + tuple(PROTOCOL_KNOBS)


def default_values(knob: str) -> list[float]:
    """The sweep values of a knob, weakest first.

    >>> default_values("pruning")[:2]
    [0.2, 0.5]
    """
    validate.choice("knob", knob, KNOBS)
    values = PROTOCOL_KNOBS[knob] if knob in PROTOCOL_KNOBS else DEFENSES[knob][2]
    return list(values)


def _setting(knob: str, value: Any, secure_aggregator: SecureAggregator | None) -> dict[str, Any]:
    """Scenario and utility keyword arguments for one knob setting."""
    if knob == "batch_size":
        return {"scenario": {"batch_size": int(value)}, "utility": {"batch_size": int(value), "local_steps": 1}}
    if knob == "local_steps":
        return {"scenario": {"local_steps": int(value)}, "utility": {"local_steps": int(value)}}
    if knob == "secure_aggregation":
        agg = secure_aggregator or PlainSum()
        return {"scenario": {"n_clients": int(value), "secure_aggregator": agg}, "utility": {"secure_aggregator": agg}}
    d = make_defense(knob, value)
    return {"scenario": {"defense": d}, "utility": {"defense": d}}


def frontier_point(
    knob: str,
    value: Any,
    *,
    data: str = "digits",
    attack_kind: str = "ig",
    n_images: int | None = None,
    iterations: int | None = None,
    measure_utility: bool = True,
    utility_rounds: int | None = None,
    secure_aggregator: SecureAggregator | None = None,
    rng: int | np.random.Generator | None = None,
    store: ResultStore | None = None,
    progress: bool = False,
) -> Result:
    """Attack ``n_images`` batches at one knob setting (and measure utility): one Result.

    ``n_images`` defaults to 8 (2 in fast mode); image ``i`` is attacked with seed ``seed + i``,
    where ``seed`` comes from ``rng`` (None: ``LABKIT_SEED``). With a ``store``, a stored point
    with equal parameters is returned instead of recomputed.
    """
    validate.choice("knob", knob, KNOBS)
    n_images = validate.integer("n_images", config.pick(8, 2) if n_images is None else n_images)
    seed = config.seed_from(rng)
    params = {
        "knob": knob,
        "value": value,
        "data": data,
        "attack": attack_kind,
        "n_images": n_images,
        "iterations": iterations,
        "measure_utility": measure_utility,
        "utility_rounds": utility_rounds,
        "secure_aggregator": getattr(secure_aggregator, "name", None),
        "seed": seed,
        "fast": config.fast(),
        "version": SWEEP_VERSION,
    }
    if store is not None:
        found = store.latest("inversion", "frontier_point", params)
        if found is not None:
            return found
    setting = _setting(knob, value, secure_aggregator)
    rows = []
    for i in range(n_images):
        s = run_scenario(
            data=data,
            attack_kind=attack_kind,
            iterations=iterations,
            image_index=None,
            rng=seed + i,
            progress=progress,
            **setting["scenario"],
        )
        rows.append(s.result)
    med = {k: float(np.median([r.metrics[k] for r in rows])) for k in ("psnr", "ssim", "label_accuracy", "seconds")}
    result = Result(
        technique="inversion",
        name="frontier_point",
        params=params,
        metrics={**med, "psnr_max": float(max(r.metrics["psnr"] for r in rows))},
        artifacts={
            "psnr_per_image": [r.metrics["psnr"] for r in rows],
            "server_sees": rows[0].artifacts["server_sees"],
        },
    )
    if measure_utility:
        utility = defense_utility(arch="mlp", rounds=utility_rounds, rng=seed, **setting["utility"])
        result.metrics.update(utility.metrics)
    if any(r.insecure for r in rows):
        result.flag(NOT_FOR_PRODUCTION)
    if store is not None:
        store.add(result)
    return result


def sweep(
    knob: str,
    values: list[Any] | None = None,
    *,
    stop_below: float | None = None,
    store: ResultStore | None = None,
    progress: bool = False,
    **kwargs: Any,
) -> list[Result]:
    """Run :func:`frontier_point` for each value of ``knob``; return its ``frontier_point`` Results.

    Parameters
    ----------
    knob : str
        A defense name (``gaussian_noise``, ``clipping``, ``dp_sgd``, ``pruning``,
        ``quantization``) or a protocol knob (``batch_size``, ``local_steps``,
        ``secure_aggregation``).
    values : list, optional
        Settings, weakest first (default :func:`default_values`).
    stop_below : float, optional
        Stop after the first setting whose median PSNR is below this (dB):
        the rest are stronger still.
    store : ResultStore, optional
        Makes the sweep resumable.
    **kwargs
        Passed to :func:`frontier_point` (``data``, ``attack_kind``, ``n_images``...).
    """
    from tqdm.auto import tqdm

    values = default_values(knob) if values is None else list(values)
    if not values:
        raise InvalidInput("values is empty: give at least one setting to sweep.")
    found = []
    for v in tqdm(values, desc=f"sweep {knob}", disable=not progress):
        r = frontier_point(knob, v, store=store, **kwargs)
        found.append(r)
        if stop_below is not None and r.metrics["psnr"] < stop_below:
            break
    return found


def rows(results: list[Result]) -> list[dict[str, Any]]:
    """The ``frontier_point`` Results of :func:`sweep` as table rows: knob, value, every metric, what the server saw.

    >>> r = Result("inversion", "frontier_point", params={"knob": "pruning", "value": 0.5}, metrics={"psnr": 9.0})
    >>> rows([r])
    [{'knob': 'pruning', 'value': 0.5, 'psnr': 9.0, 'server_sees': None}]
    """
    return [
        {
            "knob": r.params["knob"],
            "value": r.params["value"],
            **r.metrics,
            "server_sees": r.artifacts.get("server_sees"),
        }
        for r in results
    ]
