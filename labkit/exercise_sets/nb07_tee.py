"""Exercises of notebook 07_tee_simulation: attestation reasons, sealing policy, side channel, cost model."""

from __future__ import annotations

import math

from labkit.exercises import choice, numeric, register
from labkit.tee.technique import TECHNIQUE

register(
    "07.replay_reason",
    "The host answers a fresh challenge with a genuine quote it recorded yesterday. Which reason code "
    "does the appraisal give? (a code from labkit.tee.verifier.REASONS)",
)(
    choice(
        ["stale_nonce"],
        hints={
            "bad_signature": "The old quote is genuine: its signature still verifies.",
            "measurement_mismatch": "It is the same honest enclave, so the measurement is fine.",
            "untrusted_platform": "The quote was signed by the real platform.",
        },
        default_hint="What in the quote ties it to *this* challenge?",
    )
)

register(
    "07.upgrade_policy",
    "A patched build (same vendor, higher security version, new measurement) must read the state the "
    "previous build sealed. Which sealing policy makes that possible: 'measurement' or 'signer'?",
)(
    choice(
        ["signer", "mrsigner"],
        hints={
            "measurement": "The measurement policy binds the key to the exact code: a new build has a new key.",
            "mrenclave": "MRENCLAVE binds to the exact code: a new build has a new key.",
        },
    )
)

register(
    "07.oblivious_touches",
    "How many lookup-table pages does the oblivious decode touch for each pixel?",
)(numeric(17, rel_tol=0.0, abs_tol=0.0))


@register(
    "07.leaked_fraction",
    "In your run against the leaky enclave, what fraction of the client's pixels did the host recover "
    "exactly from the page trace? (pass measured=<the Result's pixels_recovered>)",
)
def _leaked(answer, measured: float | None = None, **_):
    value = float(answer)
    if measured is None:
        return False, "Pass your run's value too: check(..., answer, measured=res.metrics['pixels_recovered'])."
    if math.isclose(value, measured, abs_tol=1e-6):
        return True, f"{value:g}: the trace gave the host every pixel although attestation passed."
    return False, f"Your run measured {measured:g}; read metrics['pixels_recovered'] from the leaky run."


@register(
    "07.claim_boundary_mb",
    "With the default cost model, up to what SGX working set (MB, within 5%) does the modelled overhead stay "
    f"inside the claim ({TECHNIQUE.claim.text}: a time ratio of at most {TECHNIQUE.claim.high:g})?",
)
def _claim_mb(answer, **_):
    from labkit.tee.costs import CostModel

    expected = CostModel().largest_working_set_within(TECHNIQUE.claim.high)
    value = float(answer)
    if math.isclose(value, expected, rel_tol=0.05):
        return True, f"About {expected:.0f} MB: the usable EPC. Beyond it, paging breaks the claim."
    return False, f"{value:g} MB is {'too high' if value > expected else 'too low'}; where does paging start?"
