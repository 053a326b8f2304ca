"""Exercises of notebook 07_tee_simulation: attestation reasons, sealing policy, side channel, cost model."""

from __future__ import annotations

from labkit.exercises import choice, metric_of, numeric, predicted, register
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
    "The oblivious decode in this lab scans every row of the lookup table for each pixel, one row per page. "
    "If the pixels were 8-bit (one row per level, 0 to 255), how many pages would it touch per pixel?",
)(
    numeric(
        256,
        rel_tol=0.0,
        abs_tol=0.0,
        unit=" pages",
        hint="A linear scan touches every row, whatever the pixel: count the levels an 8-bit pixel can take "
        "(the digits' 0..16 gave one touch per level).",
    )
)


def _recovered(*, result=None, **_):
    return metric_of(result, "pixels_recovered")


register(
    "07.leaked_fraction",
    "Predict before the side-channel cell runs: against the leaky (but correctly attested) enclave, what "
    "fraction of the client's pixels will the host recover exactly from the page trace? (0 to 1, within 0.05)",
)(
    predicted(
        _recovered,
        abs_tol=0.05,
        hint="Attestation proves which code runs, not what the host observes. In the leaky decode the page a "
        "lookup touches is chosen by the pixel's value; how much of the pixel does the page number leave hidden?",
    )
)


def _boundary(*, result=None, **_):
    return metric_of(result, "claim_holds_up_to_mb")


register(
    "07.claim_boundary_mb",
    "Predict before the claims cell runs: with the default cost model, up to what SGX working set (MB) does "
    f"the modelled overhead stay inside the claim ({TECHNIQUE.claim.text}: a time ratio of at most "
    f"{TECHNIQUE.claim.high:g})? (within 10%)",
)(
    predicted(
        _boundary,
        rel_tol=0.10,
        unit=" MB",
        hint="Below the protected memory's size only memory encryption costs (a few percent); beyond it every "
        "page that does not fit is swapped in and out, encrypted. Section 7 gives the usable size.",
    )
)
