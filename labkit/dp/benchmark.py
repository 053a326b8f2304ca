"""The DP benchmark: the epsilon sweep on ``digits``, the per-epoch DP/non-DP time ratio, and the leak audit.

``labkit bench dp`` runs :func:`benchmark`. Every point is trained afresh (a
benchmark wants this run's timings) and stored in the ResultStore as it
finishes; the summary Result ``dp/benchmark`` (accuracy at epsilon about 1
and about 8, the epoch time ratio, the overfit setting's audit) is returned
for ``labkit bench`` to store.

References
----------
Yousefpour et al., "Opacus: user-friendly differential privacy library in PyTorch", 2021 (arXiv:2109.12298):
MNIST on CPU, DP epoch about 1.6x a non-private one.
Abadi et al., "Deep learning with differential privacy", CCS 2016: MNIST 90/95/97% at epsilon 0.5/2/8.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence

from .. import config, report
from ..errors import InvalidInput
from ..results import Result, ResultStore
from . import sweeps, training
from .technique import TECHNIQUE


def _closest(results: Sequence[Result], target: float) -> Result:
    return min(results, key=lambda r: abs(r.metrics["epsilon"] - target))


def benchmark(*, store: ResultStore, progress: bool = False, recompute: bool = True) -> list[Result]:
    """Sweep epsilon on digits, audit the overfit setting, and summarise in one Result.

    Parameters
    ----------
    store : ResultStore
        Where the sweep's points are looked up and stored as they finish.
    progress : bool
        Show a tqdm bar over the sweep's points.
    recompute : bool
        Train every point afresh (default: a benchmark wants this run's timings);
        False reuses points already in the store.

    Returns
    -------
    list of Result
        The summary ``dp/benchmark`` (7 target epsilons, 3 in fast mode).
    """
    epsilons = config.pick(sweeps.SWEEP_EPSILONS, sweeps.FAST_EPSILONS)
    start = time.perf_counter()
    results = sweeps.sweep("digits", values=epsilons, store=store, progress=progress, recompute=recompute)
    leak = sweeps.sweep(
        sweeps.leak_setting()["dataset"],
        values=(8.0,),
        store=store,
        progress=False,
        recompute=recompute,
        **{k: v for k, v in sweeps.leak_setting().items() if k != "dataset"},
    )[0]
    seconds = time.perf_counter() - start
    at1, at8 = _closest(results, 1.0), _closest(results, 8.0)
    ratios = [r.metrics["overhead"] for r in results]
    table = sweeps.frontier(results)
    summary = Result(
        technique=training.TECHNIQUE,
        name="benchmark",
        params={"dataset": "digits", "epsilons": [r.params["target_epsilon"] for r in results], "fast": config.fast()},
        metrics={
            "accuracy_eps1": at1.metrics["accuracy"],
            "epsilon_eps1": at1.metrics["epsilon"],
            "accuracy_eps8": at8.metrics["accuracy"],
            "epsilon_eps8": at8.metrics["epsilon"],
            "delta": at1.metrics["delta"],
            "baseline_accuracy": statistics.mean(r.metrics["baseline_accuracy"] for r in results),
            "overhead": statistics.median(ratios),
            "overhead_low": min(ratios),
            "overhead_high": max(ratios),
            "leak_baseline_attack_auc": leak.metrics["baseline_attack_auc"],
            "leak_baseline_empirical_epsilon": leak.metrics["baseline_empirical_epsilon"],
            "leak_dp_attack_auc": leak.metrics["attack_auc"],
            "leak_dp_epsilon": leak.metrics["epsilon"],
            "leak_dp_empirical_epsilon": leak.metrics["empirical_epsilon"],
            "seconds": seconds,
        },
        artifacts={
            "points": [r.id for r in results],
            "leak_point": leak.id,
            "table": table.replace({float("inf"): None}).to_dict(orient="records"),
        },
    )
    if any(r.insecure for r in results):
        summary.flag(training.NOT_FOR_PRODUCTION)
    return [summary]


def format_report(summary: Result) -> str:
    """The sweep table and the closing note, as plain text."""
    m = summary.metrics
    lines = [
        f"{'target eps':>10} {'eps':>7} {'accuracy':>9} {'attack AUC':>10} {'emp. eps':>9} {'DP/plain':>9}",
    ]
    for row in summary.artifacts["table"]:
        target = format(row["target_epsilon"], "g") if row["private"] else "no DP"
        eps = format(row["epsilon"], ".3g") if row["private"] else "inf"
        lines.append(
            f"{target:>10} {eps:>7} {row['accuracy']:>9.3f} {row['attack_auc']:>10.3f} "
            f"{row['empirical_epsilon']:>9.2f} {row['overhead']:>8.2f}x"
        )
    lines += [
        "",
        f"digits, delta={m['delta']:g}: accuracy {m['accuracy_eps1']:.1%} at eps={m['epsilon_eps1']:.2f}, "
        f"{m['accuracy_eps8']:.1%} at eps={m['epsilon_eps8']:.2f}, {m['baseline_accuracy']:.1%} without DP.",
        f"DP-SGD epoch / plain epoch: {m['overhead']:.2f}x (range over points {m['overhead_low']:.2f}-"
        f"{m['overhead_high']:.2f}); Opacus reports ~1.6x for its MNIST CNN on CPU.",
        f"Overfit setting (100 members): non-private attack AUC {m['leak_baseline_attack_auc']:.2f}, "
        f"empirical eps >= {m['leak_baseline_empirical_epsilon']:.2f}; DP model (eps={m['leak_dp_epsilon']:.2f}) "
        f"AUC {m['leak_dp_attack_auc']:.2f}, empirical eps >= {m['leak_dp_empirical_epsilon']:.2f}.",
        f"Total {m['seconds']:.0f} s{' (fast mode)' if summary.params['fast'] else ''}.",
    ]
    if summary.insecure:
        lines.append("Flag: not for production (Opacus secure_mode off: pseudo-random noise).")
    return "\n".join(lines)


# Published anchors (Opacus, Yousefpour et al. 2021): (source, epsilon, accuracy, non-private accuracy or None).
PUBLISHED_ACCURACY = (
    ("Opacus MNIST (delta=1e-5)", 1.16, 0.9463, 0.9894),
    ("Opacus MNIST (delta=1e-5)", 2.91, 0.9678, 0.9894),
    ("Opacus MNIST (delta=1e-5)", 6.86, 0.9709, 0.9894),
    ("Abadi et al. 2016, MNIST", 0.5, 0.90, None),
    ("Abadi et al. 2016, MNIST", 2.0, 0.95, None),
    ("Abadi et al. 2016, MNIST", 8.0, 0.97, None),
)


def claims(results: Sequence[Result]):
    """Published MNIST figures next to the nearest measured point of a sweep, as a DataFrame.

    Each row pairs a published (epsilon, accuracy) with the sweep point whose
    accountant epsilon is closest; ``cost`` columns are accuracy lost to DP in
    percentage points (where the source gives its non-private accuracy).
    """
    import pandas as pd

    if not results:
        raise InvalidInput("claims needs the Results of a sweep (labkit.dp.sweep).")
    base = statistics.mean(r.metrics["baseline_accuracy"] for r in results)
    rows = []
    for source, eps, acc, nonprivate in PUBLISHED_ACCURACY:
        ours = _closest(results, eps)
        rows.append(
            {
                "source": source,
                "published epsilon": eps,
                "published accuracy": acc,
                "published cost (pp)": None if nonprivate is None else round((nonprivate - acc) * 100, 2),
                "our epsilon": round(ours.metrics["epsilon"], 3),
                "our accuracy": round(ours.metrics["accuracy"], 4),
                "our cost (pp)": round((base - ours.metrics["accuracy"]) * 100, 2),
            }
        )
    return pd.DataFrame(rows)


def compare_epoch_ratio(measured: float) -> str:
    """ "below", "similar" or "above" Opacus's published DP/non-DP epoch ratio, judged by :func:`labkit.report.verdict`.

    The band of "similar" is the ``dp.anchor`` claim of :data:`labkit.dp.technique.TECHNIQUE`.

    >>> compare_epoch_ratio(1.7), compare_epoch_ratio(2.5), compare_epoch_ratio(1.1)
    ('similar', 'above', 'below')
    """
    claim, _ = TECHNIQUE.further_claims["dp.anchor"]
    found = report.verdict(claim, float(measured))
    if found == report.HOLDS:
        return "similar"
    return "above" if float(measured) > claim.high else "below"
