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


register(
    "03.aggregate_batch",
    "With FedSGD, secure aggregation over 8 clients holding 4 images each shows the server the gradient of a "
    "batch of how many images?",
)(
    numeric(
        32,
        rel_tol=0,
        abs_tol=0.01,
        unit=" images",
        hint="Each FedSGD update is the mean gradient of that client's batch, and the server sees only the "
        "(weighted) mean of the updates: what is the mean of equal-sized batch means the mean gradient of?",
    )
)

NOISE_SIGMA = 0.1  # a sweep point of both modes' Gaussian-noise sweeps


def _noise_stops(answer: Any, *, results: list | None = None, **_: Any) -> tuple[bool, str]:
    if results is None:
        raise TypeError("pass results=<the Gaussian-noise sweep's Results>")
    psnrs = [
        r.metrics["psnr"]
        for r in results
        if r.params.get("knob") == "gaussian_noise" and math.isclose(float(r.params["value"]), NOISE_SIGMA)
    ]
    if not psnrs:
        raise ValueError(f"those Results hold no Gaussian-noise point at sigma {NOISE_SIGMA:g}")
    truth = "yes" if stopped(psnrs[0]) else "no"
    given = str(answer).strip().lower()
    if given not in ("yes", "no"):
        raise ValueError("answer 'yes' or 'no'")
    if given == truth:
        return True, f"Your prediction is what the sweep shows (stopped means a median PSNR below {THRESHOLD_DB:g} dB)."
    if given == "yes":
        return False, (
            "The run disagrees. Inverting Gradients matches gradient directions (cosine): noise of that size "
            "next to the gradient's own scale barely turns the direction. Look at the sweep's PSNR column."
        )
    return False, (
        "The run disagrees. Compare the noise's size with the gradient's: when the noise dominates, the "
        "direction the attack matches is mostly noise. Look at the sweep's PSNR column."
    )


register(
    "03.noise_stops",
    f"Predict before the defense sweep runs: does Gaussian noise with sigma {NOISE_SIGMA:g}, added to the "
    f"update, stop Inverting Gradients (median PSNR below {THRESHOLD_DB:g} dB)? 'yes' or 'no'",
)(_noise_stops)
