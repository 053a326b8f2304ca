"""Exercises of notebook 06_dp_tradeoffs: what epsilon bounds, what moves it, and what the audit can show."""

from __future__ import annotations

import math

from labkit.dp.technique import PUBLISHED_EPOCH_RATIO, SIMILAR_FACTOR
from labkit.exercises import choice, numeric, predicted, predicted_choice, register

register(
    "06.tpr_bound",
    "A model is (1, 0)-DP. An attacker tests membership with a false-positive rate of 5%. "
    "What is the highest true-positive rate DP allows? (a number between 0 and 1)",
)(
    numeric(
        math.e * 0.05,
        rel_tol=0.02,
        hint="Every membership test of an (epsilon, delta)-DP model satisfies TPR <= exp(epsilon) * FPR + delta.",
    )
)

register(
    "06.more_noise",
    "Same data, batch size, clip norm and epochs, but a larger noise multiplier: does epsilon go 'up' or 'down'?",
)(
    choice(
        ["down", "lower", "decreases", "smaller"],
        hints={"up": "More noise hides each example better, so the privacy loss epsilon shrinks."},
        default_hint="Answer 'up' or 'down'.",
    )
)

register(
    "06.bigger_batch",
    "Same noise multiplier and epochs, but the expected batch doubles (sample rate 2q, half the steps): "
    "does epsilon go 'up' or 'down'?",
)(
    choice(
        ["up", "higher", "increases", "larger"],
        hints={
            "down": "Half the steps, but each example now joins twice as many batches per step: "
            "epsilon grows roughly like q * sqrt(steps), so try accounting.epsilon with both settings."
        },
        default_hint="Answer 'up' or 'down'; labkit.dp.accounting.epsilon can tell you.",
    )
)

register(
    "06.audit_proves",
    "The audit's empirical epsilon of a DP model is 0.0. Does that prove the model leaks nothing? 'yes' or 'no'",
)(
    choice(
        ["no"],
        hints={
            "yes": "The audit is a lower bound: it shows leakage when an attack finds some, never its absence. "
            "A stronger attack (canaries, many training runs) could find more."
        },
        default_hint="Answer 'yes' or 'no'.",
    )
)


def _accuracy_cost(*, results=None, **_):
    from labkit.dp import frontier

    if not results:
        raise TypeError("pass results=<the digits sweep's Results>")
    table = frontier(results)
    private = table[table["private"]]
    row = private.iloc[(private["epsilon"] - 1.0).abs().argmin()]
    return (float(table[~table["private"]]["accuracy"].iloc[0]) - float(row["accuracy"])) * 100


register(
    "06.accuracy_cost",
    "Predict before the sweep runs: how many percentage points of test accuracy will DP-SGD cost on digits "
    "at the sweep point closest to epsilon = 1 (non-private accuracy minus private)? (within 10 points counts)",
)(
    predicted(
        _accuracy_cost,
        abs_tol=10.0,
        unit=" points",
        hint="Give percentage points (7.5, not 0.075). Section 8's published anchors (Opacus MNIST at "
        "epsilon 1.16, Abadi et al. at 0.5-2) are a guide; digits has far fewer training examples than MNIST, "
        "and fewer examples need more noise per example for the same epsilon.",
    )
)


def _epoch_position(*, results=None, **_):
    import statistics

    from labkit.dp.benchmark import compare_epoch_ratio

    if not results:
        raise TypeError("pass results=<the digits sweep's Results>")
    return compare_epoch_ratio(statistics.median(r.metrics["overhead"] for r in results))


register(
    "06.overhead_vs_opacus",
    f"Predict before the sweep runs: Opacus reports a DP-SGD epoch at about {PUBLISHED_EPOCH_RATIO:g}x a "
    "non-private one (MNIST CNN, CPU). Will our per-epoch ratio on the small digits MLP be 'below', "
    f"'similar' (within a factor {SIMILAR_FACTOR:g}) or 'above'?",
)(
    predicted_choice(
        _epoch_position,
        ["below", "similar", "above"],
        hints={
            "below": "DP-SGD does strictly more work than SGD (per-example gradients, clipping, noise): what "
            "share of an epoch is that extra work when the model itself is tiny?",
            "similar": "The fixed per-step costs of DP-SGD weigh more when the model's own compute is small, "
            "as on a tiny MLP, than on a CNN whose convolutions dominate.",
            "above": "Per-example gradients are cheap when the model is tiny; compare the extra work with the "
            "epoch's fixed costs (data loading, the optimizer step).",
        },
    )
)
