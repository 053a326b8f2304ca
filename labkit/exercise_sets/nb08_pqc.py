"""Exercises of notebook 08_pqc_handshakes: hybrid key exchange, refusals, harvest now decrypt later, costs."""

from __future__ import annotations

import math
from typing import Any

from labkit.exercises import choice, numeric, register
from labkit.pqc.technique import TECHNIQUE
from labkit.report import verdict

register(
    "08.extra_bytes_up",
    "How many more bytes does the client send in its handshake with X25519MLKEM768 than with X25519?",
)(
    numeric(
        1184,
        rel_tol=0.0,
        abs_tol=0.5,
        unit=" B",
        hint="The hybrid key share carries the X25519 share plus one ML-KEM-768 encapsulation key (FIPS 203).",
    )
)

register(
    "08.downgrade_reason",
    "A client that accepts only X25519MLKEM768 meets a server offering X25519 and P-256. "
    "Which reason code does labkit's HandshakeFailed carry?",
)(
    choice(
        ["no_common_group", "no common group"],
        hints={
            "tampered": "Nobody altered the messages here; the two sides simply have no group in common.",
            "unknown_ca": "The certificate is never reached: key exchange fails first.",
            "x25519": "That would be a silent downgrade, which this client refuses.",
        },
        default_hint="Look at the .reason of the exception in the refusal table.",
    )
)

register(
    "08.hndl_readable",
    "Of the two recorded sessions, which key exchange lets a future quantum attacker read the recording?",
)(
    choice(
        ["X25519"],
        hints={
            "x25519mlkem768": "The hybrid session's key also depends on the ML-KEM secret, which Shor's "
            "algorithm does not recover.",
            "both": "Only one recording opened; look at the 'recovered' column.",
            "none": "One recording opened; look at the 'recovered' column.",
        },
        default_hint="Give the group name as written in the table.",
    )
)


@register(
    "08.hello_segments",
    "With a 1460-byte segment, how many TCP segments does a ClientHello of `hello_bytes` bytes need?",
)
def _hello_segments(answer: Any, *, hello_bytes: int | None = None, mss: int = 1460, **_: Any) -> tuple[bool, str]:
    if hello_bytes is None:
        raise ValueError("pass hello_bytes=<the ClientHello size you measured> to check")
    expected = math.ceil(hello_bytes / mss)
    if int(answer) == expected:
        return True, f"Right: {hello_bytes} B in {mss}-byte segments is {expected}."
    return False, "Divide the ClientHello size by the segment size and round up."


@register(
    "08.slow_link_ratio",
    "From the modelled table, what is the handshake time ratio of X25519MLKEM768 + ML-DSA-65 over "
    "X25519 + RSA-2048 on the 'slow 3G' link?",
)
def _slow_link_ratio(answer: Any, *, measured: float | None = None, **_: Any) -> tuple[bool, str]:
    if measured is None:
        raise ValueError("pass measured=<the model's ratio from your run> to check")
    value = float(answer)
    if math.isnan(value):
        return False, "That is NaN; give a number."
    if math.isclose(value, measured, rel_tol=0.01):
        claim = TECHNIQUE.claim
        return True, f"Right: {value:.3f}; against the claim ({claim.text}) on that link: {verdict(claim, measured)}."
    return False, "Read the handshake_ratio column of the row for ML-DSA-65 on 'slow 3G' (a ratio, not a percent)."
