"""The depth planner: a compiled plan's ring dimension, modulus chain, and its cost and memory.

For a plan of multiplicative depth L whose values stay below 2^h in magnitude
(measured on the training data, doubled for unseen inputs), CKKS needs a chain
``[first | scale x L | special]`` with ``first - scale > h`` (the output must
fit under the last prime, and so must every unrescaled product on the way).
The planner takes the smallest ring dimension N whose 128-bit limit (HE
Standard, :mod:`labkit.he.security`) holds that chain with a scale of at least
:data:`MIN_SCALE_BITS` bits (per backend), then the largest scale (up to
:data:`MAX_SCALE_BITS`) that still fits: more scale bits cost nothing at a
fixed N (every RNS limb is one machine word) and buy precision. SEAL's
special prime is as wide as the first; OpenFHE picks its own (about 60 bits),
so its chains leave that room. Deeper than
N=32768 allows is a ``depth`` problem naming the depth needed.

Sizes follow SEAL's layout (OpenFHE's HYBRID key switching with one limb per
digit has the same count): a ciphertext is 2 polynomials x limbs x N x 8
bytes; the relinearisation key and each rotation key hold one such pair per
data limb, over every limb with the special prime.

References
----------
Albrecht et al., Homomorphic Encryption Standard, 2018 (Table 1).
Cheon, Kim, Kim & Song, CKKS, ASIACRYPT 2017 (rescaling, modulus chain).
Microsoft SEAL 4.x, ``examples/5_ckks_basics.cpp`` (choosing the chain).
Kim, Polyakov & Zucca, "Revisiting Homomorphic Encryption Schemes for Finite
Fields", ASIACRYPT 2021 (hybrid key switching sizes).
"""

from __future__ import annotations

import math

import numpy as np

from .linalg import bsgs_split
from .security import RING_DIMENSIONS, max_modulus_bits

#: The smallest scale the planner accepts, per backend: a fresh ciphertext's slot error is
#: about sigma * N / 2^scale; measured here at N=8192, SEAL 2.6e-4 at 25 bits and 7e-6 at 30,
#: OpenFHE 3.7e-3 at 25 bits and 1.6e-4 at 30 (its decryption adds noise).
MIN_SCALE_BITS = {"seal": 25, "openfhe": 30}
MAX_SCALE_BITS = 40
#: OpenFHE (HYBRID, one limb per digit) sizes its special modulus itself, about 60 bits plus
#: a few: measured here, Q + 64 bits must fit the limit. SEAL takes the chain as given.
OPENFHE_SPECIAL_BITS = 60
OPENFHE_SLACK_BITS = 4
MAX_DEPTH = 40  # labkit.he.params refuses deeper chains

# Seconds per operation at N=8192 with 5 RNS limbs on one core, measured here with SEAL
# (OpenFHE within ~1.5x); scaled by N/8192 * limbs/5 for other parameters.
_OP_SECONDS = {
    "encrypt": 5.5e-3,  # encode (FFT) and public-key encryption
    "decrypt": 0.5e-3,
    "scalar_mul_add": 0.4e-3,  # a plaintext-scalar product and an addition (the batched weighted sums)
    "plain_mul": 0.35e-3,
    "ct_mul": 6.0e-3,  # product, relinearisation, rescale
    "rotate": 3.0e-3,
}


def headroom_bits(max_magnitude: float) -> int:
    """Bits between the scale and the first prime: values (doubled for unseen inputs) must fit.

    >>> headroom_bits(0.9), headroom_bits(40.0)
    (2, 8)
    """
    return max(2, math.ceil(math.log2(2 * max(max_magnitude, 1e-9))) + 1)


def choose(
    depth: int, max_magnitude: float, *, min_slots: int = 1, security: int = 128, backend: str = "seal"
) -> dict | None:
    """Parameters for ``depth`` levels and values below ``max_magnitude``; None when N=32768 cannot hold them.

    Returns
    -------
    dict or None
        ``poly_modulus_degree``, ``depth``, ``scale_bits``, ``first_mod_bits``, ``special_mod_bits``
        (keyword arguments of :func:`labkit.he.context`) and ``modulus_bits`` (log2 QP).

    >>> p = choose(3, 10.0)
    >>> p["poly_modulus_degree"], p["depth"], p["scale_bits"] >= 30
    (8192, 3, True)
    >>> choose(60, 1.0) is None
    True
    """
    if depth > MAX_DEPTH:
        return None
    head = headroom_bits(max_magnitude)
    for n in RING_DIMENSIONS:
        if n // 2 < min_slots:
            continue
        room = max_modulus_bits(n, security) - (OPENFHE_SLACK_BITS if backend == "openfhe" else 0)
        best = None
        for scale in range(MIN_SCALE_BITS[backend], MAX_SCALE_BITS + 1):
            first = scale + head
            if first > 60:
                break
            special = max(first, OPENFHE_SPECIAL_BITS) if backend == "openfhe" else first
            total = first + depth * scale + special
            if total <= room:
                best = dict(
                    poly_modulus_degree=n,
                    depth=depth,
                    scale_bits=scale,
                    first_mod_bits=first,
                    special_mod_bits=special,
                    modulus_bits=total,
                )
        if best is not None:
            return best
    return None


def max_depth_at(n: int, max_magnitude: float, *, security: int = 128) -> int:
    """The deepest plan ring dimension ``n`` holds at the minimum scale (SEAL's chain)."""
    first = MIN_SCALE_BITS["seal"] + headroom_bits(max_magnitude)
    room = max_modulus_bits(n, security) - 2 * first
    return max(0, room // MIN_SCALE_BITS["seal"])


def ciphertext_bytes(n: int, limbs: int) -> int:
    """A fresh-size ciphertext: 2 polynomials x ``limbs`` x N x 8 bytes."""
    return 2 * limbs * n * 8


def key_bytes(n: int, depth: int, rotations: int) -> dict[str, int]:
    """Public, relinearisation and rotation key sizes for a chain of ``depth`` + 1 data limbs."""
    data, full = depth + 1, depth + 2
    switching = data * 2 * full * n * 8  # one pair of polynomials per data limb, over all limbs
    return {"public": 2 * full * n * 8, "relin": switching, "galois": rotations * switching}


def rotation_steps(plan, n: int = 8192) -> int:
    """Distinct rotation keys single mode uses (baby steps, giant steps, folds of every block).

    A first stage the client gathers (:class:`labkit.he.packing.Gathered`) needs none.
    """
    from .packing import Gathered

    steps: set[int] = set()
    skip_first = Gathered.worth_it(plan, n // 2)
    for index, stage in enumerate(plan.stages):
        if index == 0 and skip_first:
            continue
        p_in = 1 << (stage.n_in - 1).bit_length()
        p_out = 1 << (stage.n_out - 1).bit_length()
        baby, giant = bsgs_split(min(p_in, p_out))
        steps.update(range(1, baby))
        steps.update(g * baby for g in range(1, giant))
        step = p_out
        while step < p_in:
            steps.add(step)
            step *= 2
    return len(steps)


def cost(plan, params: dict, *, mode: str) -> dict[str, float]:
    """Operation counts, seconds and peak bytes of one encrypted pass in ``mode`` (a model, not a measurement).

    Each operation's time scales with N and with the RNS limbs its operands still hold;
    the batched peak follows :func:`labkit.he.packing.evaluate_batched`'s streaming (one
    stage's inputs and its outputs' powers alive at once), the single one counts the
    rotated copies of the diagonal method.
    """
    from .packing import Gathered

    n, depth = params["poly_modulus_degree"], params["depth"]
    ops = dict.fromkeys(_OP_SECONDS, 0)
    work = dict.fromkeys(_OP_SECONDS, 0.0)  # operations x limbs / 5

    def count(kind: str, number: int, limbs: int) -> None:
        ops[kind] += number
        work[kind] += number * limbs / 5

    limbs = depth + 1
    peak = 0
    gathered = mode == "single" and Gathered.worth_it(plan, n // 2)
    if mode == "batched":
        count("encrypt", plan.n_inputs, limbs)
    elif gathered:
        count("encrypt", int(np.diff(plan.stages[0].blocks[0][1].tocsr().indptr).max()), limbs)
    else:
        count("encrypt", 1, limbs)
    for index, stage in enumerate(plan.stages):
        after = max(1, limbs - stage.depth)
        squares = sum(1 for k in stage.powers if k > 1)
        if mode == "batched":
            count("scalar_mul_add", sum(m.nnz for _, m in stage.blocks), limbs)
            count("ct_mul", stage.n_out * squares, limbs - 1)
            width = len(stage.blocks) * stage.n_in
            kept = stage.n_out * max(1, len(stage.powers))
            peak = max(peak, width * ciphertext_bytes(n, limbs) + kept * ciphertext_bytes(n, after))
        elif index == 0 and gathered:
            count("plain_mul", ops["encrypt"], limbs)
            peak = max(peak, (ops["encrypt"] + 4) * ciphertext_bytes(n, limbs))
        else:
            p_in = 1 << (stage.n_in - 1).bit_length()
            p_out = 1 << (stage.n_out - 1).bit_length()
            baby, giant = bsgs_split(min(p_in, p_out))
            folds = max(0, (p_in // p_out).bit_length() - 1)
            count("plain_mul", len(stage.blocks) * baby * giant, limbs)
            count("rotate", len(stage.blocks) * (baby + giant + folds), limbs)
            count("ct_mul", squares, limbs - 1)
            peak = max(peak, (baby + 4) * ciphertext_bytes(n, limbs))
        limbs = after
    count("decrypt", plan.n_outputs if mode == "batched" else 1, limbs)
    seconds = sum(work[k] * _OP_SECONDS[k] for k in ops) * n / 8192
    return {"ops": ops, "seconds": seconds, "peak_ciphertext_bytes": peak}


def plaintext_cache_bytes(plan, params: dict) -> int:
    """Encoded weights single mode keeps: a plaintext (N x limbs words) per diagonal or gathered tap."""
    from .packing import Gathered

    n, depth = params["poly_modulus_degree"], params["depth"]
    total, limbs = 0, depth + 1
    gathered = Gathered.worth_it(plan, n // 2)
    for index, stage in enumerate(plan.stages):
        p_in = 1 << (stage.n_in - 1).bit_length()
        p_out = 1 << (stage.n_out - 1).bit_length()
        if index == 0 and gathered:
            count = int(np.diff(stage.blocks[0][1].tocsr().indptr).max())
        else:
            count = len(stage.blocks) * min(p_in, p_out)
        total += count * n * limbs * 8
        limbs = max(1, limbs - stage.depth)
    return total
