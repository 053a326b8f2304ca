"""Exercises of notebook 06_dp_tradeoffs: what epsilon bounds, what moves it, and what the audit can show."""

from __future__ import annotations

import math

from labkit.dp.technique import PUBLISHED_EPOCH_RATIO, SIMILAR_FACTOR
from labkit.exercises import choice, numeric, register

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


@register(
    "06.accuracy_cost",
    "From your sweep table: how many percentage points of test accuracy did DP cost at the point closest to "
    "epsilon = 1? (pass table=<the frontier DataFrame>)",
)
def _accuracy_cost(answer, *, table=None, **_):
    if table is None:
        raise TypeError("call check(..., table=<labkit.dp.frontier(results)>)")
    private = table[table["private"]]
    row = private.iloc[(private["epsilon"] - 1.0).abs().argmin()]
    nonprivate = float(table[~table["private"]]["accuracy"].iloc[0])
    truth = (nonprivate - float(row["accuracy"])) * 100
    value = float(answer)
    if math.isclose(value, truth, abs_tol=0.6):
        return True, f"Yes: {nonprivate:.1%} without DP, {row['accuracy']:.1%} at epsilon {row['epsilon']:.2f}."
    if math.isclose(value, truth / 100, abs_tol=0.006):
        return False, "That looks like a fraction; give percentage points (e.g. 7.5, not 0.075)."
    return False, f"{value:g} is {'too high' if value > truth else 'too low'}: non-private accuracy minus DP accuracy."


@register(
    "06.overhead_vs_opacus",
    f"Opacus reports a DP-SGD epoch at about {PUBLISHED_EPOCH_RATIO:g}x a non-private one (MNIST CNN, CPU). Is your "
    f"measured per-epoch ratio 'below', 'similar' (within a factor {SIMILAR_FACTOR:g}) or 'above'? "
    "(pass measured=<your ratio>)",
)
def _overhead_vs_opacus(answer, *, measured=None, **_):
    from labkit.dp.benchmark import compare_epoch_ratio

    if measured is None:
        raise TypeError("call check(..., measured=<your per-epoch DP/non-DP ratio>)")
    truth = compare_epoch_ratio(measured)
    given = str(answer).strip().lower()
    if given not in ("below", "similar", "above"):
        raise ValueError("answer 'below', 'similar' or 'above'")
    if given == truth:
        return True, f"Right: {measured:.2f}x against ~{PUBLISHED_EPOCH_RATIO:g}x."
    return (
        False,
        f"Compare {measured:.2f}x with {PUBLISHED_EPOCH_RATIO:g}x (similar means within a factor {SIMILAR_FACTOR:g}).",
    )
