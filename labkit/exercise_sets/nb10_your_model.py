"""Exercises of notebook 10_your_model: read your own assessment report.

Every answer is a reading of the learner's own run, checked against the
:class:`labkit.assessment.Assessment` passed as ``assessment=``: the checker
reads the numbers from its Results, never from a number the learner types in
as a measurement, and a wrong reading gets a hint that says where to look, not
what is there.
"""

from __future__ import annotations

import math
from typing import Any

from labkit.exercises import register

DATA_STATE = "in use"


def _assessment(assessment: Any) -> Any:
    if assessment is None or not hasattr(assessment, "result"):
        raise TypeError("pass your assessment: check(..., assessment=<what labkit.assess returned>)")
    return assessment


def _ran(assessment: Any, key: str) -> Any:
    r = assessment.result(key)
    if r is None or not r.metrics.get("supported"):
        raise ValueError(f"your assessment has no {key} run; assess with techniques including {key!r} first")
    return r


def _in_state(assessment: Any, state: str) -> dict[str, float]:
    """Overhead of every technique that ran and protects data in ``state``."""
    from labkit import techniques

    out = {}
    for r in assessment.results:
        if r.metrics.get("supported") and r.metrics.get("overhead") and techniques.get(r.technique).data_state == state:
            out[r.technique] = float(r.metrics["overhead"])
    return out


@register(
    "10.cheapest_in_use",
    f"Of the techniques your assessment ran that protect data {DATA_STATE}, which one cost the least time "
    "(the lowest overhead against plaintext)? Give its key as the report writes it (e.g. 'he').",
)
def _cheapest_in_use(answer: Any, *, assessment: Any = None, **_: Any) -> tuple[bool, str]:
    from labkit import techniques

    a = _assessment(assessment)
    if not isinstance(answer, str):
        raise TypeError(f"give the technique's key as text, not {type(answer).__name__}")
    costs = _in_state(a, DATA_STATE)
    if not costs:
        raise ValueError(f"your assessment ran no technique that protects data {DATA_STATE}")
    given = answer.strip().lower()
    keys = [t.key for t in techniques.registry()]
    if given not in keys:
        raise ValueError("give a technique's key: " + ", ".join(keys))
    if given == min(costs, key=costs.get):
        return True, "Right: the cheapest protection of data in use for this workload, in this run."
    state = techniques.get(given).data_state
    if state != DATA_STATE:
        return False, (
            f"{given} protects data {state}, not {DATA_STATE}: the report's reading groups the techniques "
            "by data state; look under 'Data in use'."
        )
    if given not in costs:
        return (
            False,
            f"{given} did not run in this assessment (see its row of the support table): pick among those that ran.",
        )
    return (
        False,
        f"{given} ran, but another technique protecting data {DATA_STATE} has a lower overhead: compare the cost lines.",
    )


@register(
    "10.dp_accuracy_cost",
    "By how many percentage points did DP-SGD lower your model's test accuracy at the epsilon its Result "
    "reports (accuracy without DP minus accuracy with DP, in points, e.g. 2.5; a drop is positive)? "
    "Within 0.5 points counts.",
)
def _dp_accuracy_cost(answer: Any, *, assessment: Any = None, **_: Any) -> tuple[bool, str]:
    r = _ran(_assessment(assessment), "dp")
    value = float(answer)
    if math.isnan(value):
        return False, "That is NaN; give a number of percentage points."
    truth = 100.0 * (r.metrics["accuracy_plain"] - r.metrics["accuracy_private"])
    if abs(value - truth) <= 0.5:
        return True, f"{value:g} points is what your report says (at epsilon {r.metrics['epsilon']:.3g})."
    if abs(100.0 * value - truth) <= 0.5 and abs(truth) > 0.5:
        return False, "Give percentage points (2.5, not 0.025)."
    if abs(value + truth) <= 0.5 and abs(truth) > 0.5:
        return False, "Mind the sign: without DP minus with DP (a drop is a positive number)."
    return False, (
        "Not what your report says. In the differential-privacy section read accuracy_plain and accuracy_private "
        "(the reading by threat model writes both as percentages) and subtract."
    )


_CROSSED = {"batch 1": (True, False), "realistic batch": (False, True), "both": (True, True), "neither": (False, False)}


@register(
    "10.inversion_band",
    "Without a defense, where did the gradient-inversion attack on your data reconstruct samples above the lab's "
    "safe band (PSNR above safe_band_db in the inversion Result's parameters)? Answer 'batch 1', "
    "'realistic batch', 'both' or 'neither'.",
)
def _inversion_band(answer: Any, *, assessment: Any = None, **_: Any) -> tuple[bool, str]:
    r = _ran(_assessment(assessment), "inversion")
    if not isinstance(answer, str):
        raise TypeError(f"give the answer as text, not {type(answer).__name__}")
    given = " ".join(answer.strip().lower().replace("_", " ").split())
    given = {"batch": "realistic batch", "batch1": "batch 1", "one": "batch 1"}.get(given, given)
    if given not in _CROSSED:
        raise ValueError("answer 'batch 1', 'realistic batch', 'both' or 'neither'")
    band = float(r.params["safe_band_db"])
    truth = (r.metrics["psnr_batch1"] > band, r.metrics["psnr_batch"] > band)
    if _CROSSED[given] == truth:
        return True, f"Right: that is how the undefended attack compares with the {band:g} dB band here."
    wrong = sum(x != y for x, y in zip(_CROSSED[given], truth))
    return False, (
        f"{'One' if wrong == 1 else 'Both'} of your two readings {'is' if wrong == 1 else 'are'} off. Compare "
        f"psnr_batch1 and psnr_batch in the inversion section of your report with the safe band, {band:g} dB: "
        "above it, the attack crossed."
    )


@register(
    "10.tee_overhead_kind",
    "The report labels every number measured, simulated or modelled. Which label does the TEE's overhead "
    "carry in your report?",
)
def _tee_overhead_kind(answer: Any, *, assessment: Any = None, **_: Any) -> tuple[bool, str]:
    r = _ran(_assessment(assessment), "tee")
    if not isinstance(answer, str):
        raise TypeError(f"give the label as text, not {type(answer).__name__}")
    given = answer.strip().lower()
    if given not in ("measured", "simulated", "modelled", "modeled"):
        raise ValueError("answer 'measured', 'simulated' or 'modelled'")
    truth = (r.artifacts.get("provenance") or {}).get("overhead", "measured")
    if given.replace("modeled", "modelled") == truth:
        return True, "Right: the label says what the number is worth as evidence."
    return False, (
        "Look at the small coloured label beside the TEE's cost line (and its overhead row). Ask: does this "
        "lab have enclave hardware, and was the ratio timed or computed from a cost model?"
    )
