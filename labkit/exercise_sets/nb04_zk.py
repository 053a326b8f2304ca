"""Exercises of notebook 04_zk_proofs: what a proof covers, provenance, the update bound, the cost."""

from __future__ import annotations

from labkit.exercises import choice, metric_of, numeric, predicted, register
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


register(
    "04.norm_excess",
    "A client's update has L2 norm 3.0; the public bound is 2.0. What excess does the client's honest proof "
    "state (the circuit's output)?",
)(
    numeric(
        3.0**2 - 2.0**2,
        rel_tol=0.02,
        abs_tol=0.07,
        hint="The circuit computes relu(sum(u^2) - bound^2): squares, not the norm itself, so no square root "
        "is needed inside the circuit.",
    )
)


def _prover_ratio(*, result=None, **_):
    # Against warm, steady-state inference (what a serving loop runs): the interleaved ratio divides by a
    # plaintext call that follows a cache-flushing proof, so it swings with the machine (600x to 2,000x seen
    # here on one MLP) where the warm ratio stays within one power of ten.
    return metric_of(result, "overhead_warm")


register(
    "04.prover_ratio",
    f"Predict before the cost cell runs: how many times longer than plain inference (warm, as a serving loop "
    f"runs it) will proving one inference take here? The claim says at most {CLAIMED_HIGH:g}x. "
    "(within a factor 10 either way counts)",
)(
    predicted(
        _prover_ratio,
        factor=10,
        unit="x",
        hint="Plain inference of this small MLP takes microseconds; the prover commits to every cell of the "
        "circuit's table (thousands of rows) with elliptic-curve multi-exponentiations. Think in powers of ten.",
    )
)
