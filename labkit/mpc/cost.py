"""What a private forward pass will cost, before any party starts: rounds, bytes per party, memory, seconds.

A model from a table per layer kind, measured on this lab's CrypTen 0.4.1
(2 and 3 parties, TTP triples, 16 fractional bits; one-layer models through
:func:`labkit.mpc.inference.private_inference`, bytes counted at both ends
as CrypTen's communicator counts them). A multiplication with a private
operand (linear, conv, per-channel affine) opens both masked operands in one
round (Beaver); three parties need a second round to truncate. ReLU is a
comparison (arithmetic to binary shares and a carry circuit); sigmoid, tanh
and GELU add CrypTen's exp and reciprocal iterations; a max over k values
is a tree of comparisons; softmax is a max, an exp and a reciprocal.

The figures are estimates: the Result of an assessment reports the measured
ones beside them (``estimate_rounds``, ``estimate_bytes_per_party``).

References
----------
Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine
Learning", NeurIPS 2021 (arXiv:2109.00984), sections 3-4 (protocols and their rounds).
Beaver, "Efficient Multiparty Protocols Using Circuit Randomization", CRYPTO 1991.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

# (rounds, bytes per party per output value), by parties: elementwise steps.
ELEMENTWISE = {
    2: {"relu": (9, 464), "sigmoid": (23, 752), "tanh": (23, 752), "square": (1, 16), "gelu": (26, 832)},
    3: {"relu": (16, 880), "sigmoid": (44, 1384), "tanh": (44, 1384), "square": (2, 24), "gelu": (53, 1560)},
}
# max over k values: rounds = a + b * log2(k); bytes per party per window tap
MAX_ROUNDS = {2: (26.0, 9.4), 3: (48.0, 15.4)}
MAX_TAP_BYTES = {2: 14850, 3: 40500}
# softmax over d values: rounds = a + b * ceil(log2(d)); bytes per party per value
SOFTMAX_ROUNDS = {2: (46, 10), 3: (100, 16)}
SOFTMAX_BYTES = {2: 1482, 3: 4134}
REVEAL_BYTES = {2: 8, 3: 16}  # per revealed value, one round
SHARE_BYTES = 8  # CrypTen's arithmetic shares: one int64 per value
PROCESS_BYTES = 300 * 2**20  # a party process with torch and CrypTen loaded (unique memory, measured ~270 MB)
WORKING_COPIES = 4  # a layer's output as shares, its masked copy, a float copy, a temporary
BYTES_PER_SECOND = 50e6  # CrypTen's local work per byte exchanged, on one core (measured ~60 MB/s)


def layer_cost(spec: dict[str, Any], out_shape: tuple[int, ...], *, parties: int, batch: int) -> tuple[float, float]:
    """(rounds, bytes per party) of one layer of a PlainModel's architecture on ``batch`` samples."""
    p = min(max(parties, 2), 3)
    kind = spec["kind"]
    out = batch * int(np.prod(out_shape))
    if kind in ("linear", "conv2d", "affine"):
        opened = batch * _padded_in(spec) + int(np.prod(spec["weight_shape"]))
        return (1, 16 * opened) if p == 2 else (2, 16 * opened + 8 * out)
    if kind in ELEMENTWISE[p]:
        rounds, per = ELEMENTWISE[p][kind]
        return rounds, per * out
    if kind == "maxpool":
        taps = int(np.prod(spec["kernel"]))
        a, b = MAX_ROUNDS[p]
        return a + b * math.log2(max(taps, 2)), MAX_TAP_BYTES[p] * taps * out
    if kind == "avgpool":
        return (0, 0) if p == 2 else (2, 24 * out)
    if kind == "softmax":
        return softmax_cost(int(np.prod(out_shape)), parties=parties, batch=batch)
    return 0, 0  # flatten, reshape: local


def softmax_cost(width: int, *, parties: int, batch: int) -> tuple[float, float]:
    """(rounds, bytes per party) of CrypTen's softmax over ``width`` values for ``batch`` samples."""
    p = min(max(parties, 2), 3)
    a, b = SOFTMAX_ROUNDS[p]
    return a + b * math.ceil(math.log2(max(width, 2))), SOFTMAX_BYTES[p] * width * batch


def _padded_in(spec: dict[str, Any]) -> int:
    shape = tuple(spec.get("in_shape", ()))
    if spec["kind"] == "conv2d" and len(shape) == 3:
        top, left, bottom, right = spec.get("padding", (0, 0, 0, 0))
        return shape[0] * (shape[1] + top + bottom) * (shape[2] + left + right)
    return int(np.prod(shape)) if shape else 0


def forward_cost(
    arch: list[dict[str, Any]], out_shapes: list[tuple[int, ...]], *, parties: int, batch: int, final: str | None
) -> dict[str, float]:
    """Rounds, bytes per party, the largest layer's bytes and the activations of one private pass.

    ``final``: "softmax" or "sigmoid" when the output step runs under MPC before the reveal.
    """
    rounds = bytes_ = peak = activations = 0.0
    for spec, shape in zip(arch, out_shapes):
        r, b = layer_cost(spec, shape, parties=parties, batch=batch)
        rounds, bytes_, peak = rounds + r, bytes_ + b, max(peak, b)
        activations += batch * int(np.prod(shape))
    width = int(np.prod(out_shapes[-1])) if out_shapes else 1
    if final == "softmax":
        r, b = softmax_cost(width, parties=parties, batch=batch)
    elif final == "sigmoid":
        r, b = layer_cost({"kind": "sigmoid"}, (width,), parties=parties, batch=batch)
    else:
        r, b = 0, 0
    p = min(max(parties, 2), 3)
    rounds, bytes_, peak = rounds + r + 1, bytes_ + b + REVEAL_BYTES[p] * batch * width, max(peak, b)
    return {"rounds": rounds, "bytes_per_party": bytes_, "peak_layer_bytes": peak, "activations": activations}


def memory_bytes(pass_cost: dict[str, float], n_parameters: int, *, parties: int) -> float:
    """Memory of a run: every party process (and the dealer, the fork server) with its shares and transients.

    Conservative: each process is counted as if started fresh (~270 MB unique with torch and CrypTen).
    Parties forked from the fork server share those pages: the 28x28 CNN with 2 parties on batches of
    150 was estimated at 1.34 GB and peaked at 0.27 GB unique (1.68 GB summed RSS, shared pages counted
    once per process).
    """
    per_party = (
        PROCESS_BYTES
        + WORKING_COPIES * SHARE_BYTES * pass_cost["activations"]
        + 3 * SHARE_BYTES * n_parameters  # the weights' shares and their Beaver masks
        + pass_cost["peak_layer_bytes"]  # triples and masked openings of the costliest layer
    )
    return parties * per_party + 2 * PROCESS_BYTES


def seconds(pass_cost: dict[str, float]) -> float:
    """Local compute of one private pass on this machine (the wire time is what :mod:`.network` models)."""
    return pass_cost["bytes_per_party"] / BYTES_PER_SECOND + 2e-4 * pass_cost["rounds"]


__all__ = ["forward_cost", "layer_cost", "memory_bytes", "seconds", "softmax_cost"]
