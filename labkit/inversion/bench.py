"""``labkit bench inversion``: the gradient-inversion benchmark with fixed seeds.

It measures, as medians over ``n_images`` private images (8 by default, 2 in fast mode):

1. the attacks at batch size 1: DLG, iDLG and Inverting Gradients on
   ``digits``, Inverting Gradients on ``patches32``; PSNR and seconds per image;
2. iDLG label recovery at batch size 1 on both data sets;
3. how PSNR falls with the batch size;
4. for each defense, the smallest setting that brings the median PSNR below
   12 dB, and the test accuracy that setting costs in federated training.

Every point goes into the ResultStore, so a rerun resumes.

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

THRESHOLD_DB = 12.0
BATCH_SIZES = (1, 2, 4, 8, 16, 32)


def _label_recovery(data_name: str, n: int, seed: int) -> float:
    import torch

    from ..fl.data import image_data
    from ..fl.hooks import batch_gradients
    from ..fl.models import make_model
    from .labels import recover_labels
    from .scenario import DEFAULT_ARCH

    data = image_data(data_name)
    model = make_model(DEFAULT_ARCH[data_name], input_shape=data.image_shape, n_classes=data.n_classes, seed=seed)
    idx = np.random.default_rng(seed).choice(len(data.y_train), size=n, replace=False)
    hits = 0
    for i in idx:
        g = batch_gradients(model, torch.as_tensor(data.X_train[i : i + 1]), torch.as_tensor(data.y_train[i : i + 1]))
        hits += int(recover_labels(model, g)[0] == data.y_train[i])
    return hits / n


def benchmark(
    *,
    n_images: int | None = None,
    store: ResultStore | None = None,
    knobs: tuple[str, ...] = KNOBS,
    batch_sizes: tuple[int, ...] | None = None,
    seed: int = 0,
    progress: bool = True,
) -> tuple[Result, list[dict[str, Any]]]:
    """Run the benchmark; return a summary Result and the table rows (also printed by :func:`main`)."""
    n = int(config.pick(8, 2) if n_images is None else n_images)
    store = store if store is not None else ResultStore()
    batch_sizes = batch_sizes or config.pick(BATCH_SIZES, (1, 4))
    rows: list[dict[str, Any]] = []
    metrics: dict[str, float] = {}
    t0 = time.perf_counter()
    common = {"n_images": n, "seed": seed, "store": store, "progress": progress}
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
        metrics[f"{data}_label_recovery"] = _label_recovery(data, max(n, 8), seed)
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
        stopped = points[-1]["psnr"] < THRESHOLD_DB
        last = points[-1]
        rows.append(
            {
                "what": f"defense {knob}",
                "smallest_setting": last["value"] if stopped else None,
                "psnr_db": last["psnr"],
                "accuracy": last.get("accuracy"),
                "accuracy_cost": last.get("accuracy_cost"),
                "baseline_accuracy": last.get("baseline_accuracy"),
                "stopped_attack": stopped,
            }
        )
    result = Result(
        technique="inversion",
        name="benchmark",
        params={"n_images": n, "seed": seed, "fast": config.fast(), "knobs": list(knobs)},
        metrics={**metrics, "wall_seconds": time.perf_counter() - t0},
        artifacts={"table": rows},
    )
    store.add(result)
    return result, rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """Plain-text table of the benchmark rows."""
    lines = []
    for row in rows:
        parts = [row["what"]]
        for k, v in row.items():
            if k == "what" or v is None:
                continue
            parts.append(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}")
        lines.append("  ".join(parts))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``labkit bench inversion`` (``--images N``)."""
    import argparse

    parser = argparse.ArgumentParser(prog="labkit bench inversion")
    parser.add_argument("--images", type=int, default=None, help="images per point (default 8; 2 in fast mode)")
    parser.add_argument("--store", default=None, help="ResultStore file (default under LABKIT_HOME)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: fairest on a shared machine)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    result, rows = benchmark(n_images=args.images, store=ResultStore(args.store) if args.store else None)
    print(format_table(rows))
    print(f"total {result.metrics['wall_seconds']:.0f} s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
