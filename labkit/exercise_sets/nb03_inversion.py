"""Exercises of notebook 03_gradient_inversion: label leakage, PSNR, what defenses and secure aggregation do."""

from __future__ import annotations

import math
from typing import Any

from labkit.exercises import choice, numeric, register
from labkit.inversion.technique import THRESHOLD_DB, stopped

register(
    "03.label_entry",
    "At batch size 1, which entry of the classifier head's bias gradient gives the label away: "
    "the 'largest', the 'smallest' or the one 'closest to zero'?",
)(
    choice(
        ["smallest", "the smallest", "most negative", "negative", "the negative one"],
        hints={
            "largest": "The bias gradient is p - y: the true class has y = 1, so its entry is p - 1 < 0.",
            "closest to zero": "Entries of wrong classes are p_i, small and positive; the label's is p - 1.",
        },
        default_hint="Write the gradient of cross-entropy with respect to the logits: softmax(z) - onehot(y).",
    )
)

register(
    "03.psnr_from_mse",
    "A reconstruction of an image with pixels in [0, 1] has mean squared error 0.001. What is its PSNR in dB?",
)(numeric(30.0, rel_tol=0.01, unit=" dB", hint="PSNR = 10 log10(1 / MSE) for a data range of 1."))


register(
    "03.clipping_letter",
    "Clipping the update to a small norm barely slows Inverting Gradients down. Why? "
    "(a) clipping adds noise; (b) the attack matches gradient directions (cosine), and clipping only "
    "rescales; (c) the attack ignores the classifier head. Answer a, b or c.",
)(
    choice(
        ["b", "(b)"],
        hints={
            "a": "Clipping is deterministic: it multiplies the whole gradient by one number.",
            "c": "It does use the head (label recovery); the point is what clipping changes.",
        },
    )
)


def _aggregate_batch(answer: Any, *, n_clients: int, batch_size: int, **_: Any) -> tuple[bool, str]:
    expected = n_clients * batch_size
    if int(answer) == expected:
        return True, f"Yes: the mean of {n_clients} FedSGD updates is the gradient of a batch of {expected}."
    return False, "With FedSGD each update is a mean gradient; what is the weighted mean of means?"


register(
    "03.aggregate_batch",
    "With FedSGD, secure aggregation over n_clients clients holding batch_size images each shows the server "
    "the gradient of a batch of how many images?",
)(_aggregate_batch)


def _smallest_stopping(answer: Any, *, rows: list[dict], **_: Any) -> tuple[bool, str]:
    stopping = [r["value"] for r in rows if stopped(r["psnr"])]
    said_none = isinstance(answer, str) and answer.strip().lower() == "none"
    if not stopping:
        if said_none:
            return True, "Right: no setting in this sweep stopped the attack."
        return False, f"Look again: no row of this sweep has a PSNR below {THRESHOLD_DB:g} dB, so answer 'none'."
    expected = stopping[0]
    if not said_none and math.isclose(float(answer), float(expected), rel_tol=1e-6):
        return (
            True,
            f"Yes: {expected:g} is the weakest setting in your sweep that pushed PSNR below {THRESHOLD_DB:g} dB.",
        )
    return False, (
        f"Read the sweep table from the weakest setting down: the first row whose PSNR is below {THRESHOLD_DB:g} dB."
    )


register(
    "03.smallest_noise",
    "From your sweep, what is the smallest Gaussian noise sigma that brings the median PSNR below 12 dB? "
    "('none' if none does)",
)(_smallest_stopping)
