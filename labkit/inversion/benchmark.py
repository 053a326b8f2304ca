"""``labkit bench inversion``: the gradient-inversion benchmark, seeded.

It measures, as medians over ``n_images`` private images (8 by default, 2 in fast mode):

1. the attacks at batch size 1: DLG, iDLG and Inverting Gradients on
   ``digits``, Inverting Gradients on ``patches32``; PSNR and seconds per image;
2. iDLG label recovery at batch size 1 on both data sets;
3. how PSNR falls with the batch size;
4. for each defense, the smallest setting that brings the median PSNR below
   12 dB, and the test accuracy that setting costs in federated training.

Every point goes into the ResultStore as it finishes, so a rerun resumes; the
summary Result ``inversion/benchmark`` (its table in ``artifacts["table"]``) is
returned for ``labkit bench`` to store.

References
----------
Zhu, Liu & Han, NeurIPS 2019; Zhao, Mopuri & Bilen, 2020; Geiping et al., NeurIPS 2020.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .. import config
from ..results import Result, ResultStore
from .sweep import KNOBS, default_values, frontier_point, sweep
from .technique import THRESHOLD_DB, stopped

BATCH_SIZES = (1, 2, 4, 8, 16, 32)


def label_recovery(data_name: str, n: int, *, rng: int | np.random.Generator | None = None) -> float:
    """Fraction of ``n`` random training images of ``data_name`` whose label iDLG reads off one gradient.

    ``rng`` seeds the model and the pick (None: ``LABKIT_SEED``).
    """
    import torch

    from ..fl.data import image_data
    from ..fl.hooks import batch_gradients
    from ..fl.models import make_model
    from .labels import recover_labels
    from .scenario import DEFAULT_ARCH

    seed = config.seed_from(rng)
    data = image_data(data_name)
    model = make_model(DEFAULT_ARCH[data_name], input_shape=data.image_shape, n_classes=data.n_classes, rng=seed)
    idx = np.random.default_rng(seed).choice(len(data.y_train), size=n, replace=False)
    hits = 0
    for i in idx:
        g = batch_gradients(model, torch.as_tensor(data.X_train[i : i + 1]), torch.as_tensor(data.y_train[i : i + 1]))
        hits += int(recover_labels(model, g)[0] == data.y_train[i])
    return hits / n


def benchmark(
    *,
    store: ResultStore,
    progress: bool = False,
    n_images: int | None = None,
    knobs: tuple[str, ...] = KNOBS,
    batch_sizes: tuple[int, ...] | None = None,
    rng: int | np.random.Generator | None = None,
) -> list[Result]:
    """Run the benchmark; return its summary Result.

    Parameters
    ----------
    store : ResultStore
        Where each point is looked up (a rerun resumes) and stored as it finishes.
    progress : bool
        Show tqdm bars.
    n_images : int, optional
        Private images per point (default 8, 2 in fast mode).
    knobs : tuple of str
        The defenses and protocol knobs to sweep (default: all).
    batch_sizes : tuple of int, optional
        Batch sizes of the iDLG batch sweep (default 1 to 32; 1 and 4 in fast mode).
    rng : int, numpy Generator or None
        The seed of every point (None: ``LABKIT_SEED``).

    Returns
    -------
    list of Result
        The summary ``inversion/benchmark``: PSNR and seconds per attack, label recovery, PSNR per
        batch size in ``metrics``; the table (one row per measurement) in ``artifacts["table"]``
        (:func:`format_table` lays it out).
    """
    n = int(config.pick(8, 2) if n_images is None else n_images)
    batch_sizes = batch_sizes or config.pick(BATCH_SIZES, (1, 4))
    seed = config.seed_from(rng)
    rows: list[dict[str, Any]] = []
    metrics: dict[str, float] = {}
    t0 = time.perf_counter()
    common = {"n_images": n, "rng": seed, "store": store, "progress": progress}
    attacks_b1 = (
        ("digits", "dlg", config.pick(100, 40)),
        ("digits", "idlg", config.pick(100, 40)),
        ("digits", "ig", config.pick(300, 150)),
        ("patches32", "ig", config.pick(400, 300)),
    )
    for data, kind, iters in attacks_b1:
        r = frontier_point(
            "batch_size", 1, data=data, attack_kind=kind, iterations=iters, measure_utility=False, **common
        )
        rows.append(
            {
                "what": f"{kind} batch 1 on {data}",
                "psnr_db": r.metrics["psnr"],
                "ssim": r.metrics["ssim"],
                "seconds_per_image": r.metrics["seconds"],
            }
        )
        metrics[f"{data}_{kind}_psnr"] = r.metrics["psnr"]
        metrics[f"{data}_{kind}_seconds"] = r.metrics["seconds"]
    for data in ("digits", "patches32"):
        metrics[f"{data}_label_recovery"] = label_recovery(data, max(n, 8), rng=seed)
        rows.append({"what": f"iDLG label recovery, batch 1, {data}", "value": metrics[f"{data}_label_recovery"]})
    for b in batch_sizes:
        r = frontier_point(
            "batch_size",
            b,
            data="digits",
            attack_kind="idlg",
            iterations=config.pick(100, 40),
            measure_utility=False,
            **common,
        )
        rows.append(
            {
                "what": f"idlg digits batch {b}",
                "psnr_db": r.metrics["psnr"],
                "ssim": r.metrics["ssim"],
                "label_accuracy": r.metrics["label_accuracy"],
            }
        )
        metrics[f"psnr_batch_{b}"] = r.metrics["psnr"]
    for knob in knobs:
        points = sweep(
            knob,
            default_values(knob),
            stop_below=THRESHOLD_DB,
            data="digits",
            attack_kind="ig",
            iterations=config.pick(300, 100),
            **common,
        )
        last = points[-1].metrics
        stops = stopped(last["psnr"])
        rows.append(
            {
                "what": f"defense {knob}",
                "smallest_setting": points[-1].params["value"] if stops else None,
                "psnr_db": last["psnr"],
                "accuracy": last.get("accuracy"),
                "accuracy_cost": last.get("accuracy_cost"),
                "baseline_accuracy": last.get("baseline_accuracy"),
                "stopped_attack": stops,
            }
        )
    result = Result(
        technique="inversion",
        name="benchmark",
        params={"n_images": n, "seed": seed, "fast": config.fast(), "knobs": list(knobs)},
        metrics={**metrics, "wall_seconds": time.perf_counter() - t0},
        artifacts={"table": rows},
    )
    return [result]


def format_table(result: Result) -> str:
    """Plain-text table of a benchmark Result's rows (``artifacts["table"]``)."""
    lines = []
    for row in result.artifacts["table"]:
        parts = [row["what"]]
        for k, v in row.items():
            if k == "what" or v is None:
                continue
            parts.append(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}")
        lines.append("  ".join(parts))
    return "\n".join(lines)
