"""Exercises of notebook 04_zk_proofs: what a proof covers, provenance, the update bound, the cost."""

from __future__ import annotations

import math
from typing import Any

from labkit.exercises import choice, register
from labkit.zk.technique import TECHNIQUE

CLAIMED_HIGH = TECHNIQUE.claim.high  # the prover claim's upper end, declared once in the technique

register(
    "04.what_is_checked",
    "A proof file holds 'instances', 'proof' and 'pretty_public_inputs'. Besides the proof bytes, which field "
    "does the verifier check?",
)(
    choice(
        ["instances", "the instances", "public instances"],
        hints={
            "pretty_public_inputs": "Those human-readable copies are never checked by ezkl's verifier (the lab refuses a "
            "file whose copies disagree); decode claims from the field the SNARK does bind.",
            "proof": "The proof bytes are checked, yes; the question asks which other field is.",
        },
        default_hint="Look at which tampering made verification fail in the tamper table.",
    )
)

register(
    "04.provenance_decision",
    "A proof verifies under the published verifying key, but the parameter hash it states differs from the "
    "commitment the model owner published. Accept or reject?",
)(
    choice(
        ["reject"],
        hints={
            "accept": "With hashed parameters the keys depend only on the architecture: any weights give proofs "
            "that verify. Only the stated hash ties the proof to the published model.",
        },
        default_hint="Answer accept or reject.",
    )
)


@register(
    "04.norm_excess",
    "A client's update has L2 norm `norm`; the public bound is `bound`. What excess does the client's honest "
    "proof state?",
)
def _norm_excess(answer: Any, *, norm: float | None = None, bound: float | None = None, **_: Any) -> tuple[bool, str]:
    if norm is None or bound is None:
        raise ValueError("pass norm=<the update's norm> and bound=<the bound> to check")
    expected = max(0.0, norm**2 - bound**2)
    value = float(answer)
    if math.isnan(value):
        return False, "That is NaN; give a number."
    if math.isclose(value, expected, rel_tol=0.05, abs_tol=0.07):
        return True, f"Right: relu(norm^2 - bound^2) = {expected:.3f}; the server rejects any positive excess."
    return False, "The circuit computes relu(sum(u^2) - bound^2): squares, not the norm itself."


@register(
    "04.orders_above_claim",
    "By how many orders of magnitude (log10) does your measured prover/plaintext ratio exceed the claim's upper "
    f"end of {CLAIMED_HIGH:g}x?",
)
def _orders(answer: Any, *, measured: float | None = None, **_: Any) -> tuple[bool, str]:
    if measured is None:
        raise ValueError("pass measured=<your prover/plaintext ratio> to check")
    expected = math.log10(measured / CLAIMED_HIGH)
    value = float(answer)
    if math.isnan(value):
        return False, "That is NaN; give a number."
    if abs(value - expected) <= 0.15:
        return True, f"Right: {measured:.3g}x is about 10^{expected:.1f} times the claimed {CLAIMED_HIGH:g}x."
    return False, f"Compute log10(measured ratio / {CLAIMED_HIGH:g})."
