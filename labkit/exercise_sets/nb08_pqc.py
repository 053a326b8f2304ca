"""Exercises of notebook 08_pqc_handshakes: hybrid key exchange, refusals, harvest now decrypt later, costs.

Most are predictions made before the cell that measures: the check reads the run's Result.
"""

from __future__ import annotations

from typing import Any

from labkit.exercises import metric_of, predicted, predicted_choice, register
from labkit.pqc.technique import TECHNIQUE

REASON_CODES = ["no_common_group", "unknown_ca", "expired", "hostname_mismatch", "tampered"]


def _extra_bytes(*, result=None, baseline=None, **_: Any) -> float:
    return metric_of(result, "bytes_client_to_server") - metric_of(baseline, "bytes_client_to_server")


register(
    "08.extra_bytes_up",
    "Predict before the first handshakes run: how many more bytes will the client send in its handshake with "
    "X25519MLKEM768 than with X25519? (within 5%)",
)(
    predicted(
        _extra_bytes,
        rel_tol=0.05,
        unit=" B",
        hint="Both send an X25519 share; the hybrid key share adds one ML-KEM-768 encapsulation key, whose size "
        "FIPS 203 fixes. Nothing else in the client's flight changes.",
    )
)


def _downgrade(*, result=None, **_: Any) -> str:
    if result is None:
        raise TypeError("pass result=<the refusals Result>")
    return next(r["reason"] for r in result.artifacts["rows"] if r["case"] == "downgrade")


register(
    "08.downgrade_reason",
    "Predict before the refusals run: a client that accepts only X25519MLKEM768 meets a server offering X25519 "
    "and P-256. Which reason code will labkit's HandshakeFailed carry? One of: " + ", ".join(REASON_CODES),
)(
    predicted_choice(
        _downgrade,
        REASON_CODES,
        hints={
            "tampered": "Nobody alters the messages here; the two sides simply offer different things.",
            "unknown_ca": "The certificate is never reached: key exchange comes first in TLS 1.3.",
            "expired": "The certificate is never reached: key exchange comes first in TLS 1.3.",
            "hostname_mismatch": "The certificate is never reached: key exchange comes first in TLS 1.3.",
        },
    )
)


def _readable(*, result=None, **_: Any) -> str:
    if result is None:
        raise TypeError("pass result=<the harvest-now-decrypt-later Result>")
    opened = [r["group"] for r in result.artifacts["rows"] if r["recovered"]]
    return {0: "none", 1: opened[0] if opened else "none"}.get(len(opened), "both")


register(
    "08.hndl_readable",
    "Predict before the recording is attacked: of two recorded sessions, one with X25519 and one with "
    "X25519MLKEM768, which will a future quantum attacker read: 'X25519', 'X25519MLKEM768', 'both' or 'none'?",
)(
    predicted_choice(
        _readable,
        ["X25519", "X25519MLKEM768", "both", "none"],
        hints={
            "x25519mlkem768": "Shor's algorithm breaks the X25519 half; does it recover the ML-KEM secret too?",
            "both": "The hybrid session's key depends on the ML-KEM secret as well; Shor's algorithm does not "
            "recover it.",
            "none": "Shor's algorithm computes discrete logarithms: what does that do to a purely classical "
            "elliptic-curve key exchange recorded today?",
        },
    )
)


def _segments(*, result=None, **_: Any) -> float:
    return metric_of(result, "client_hello_segments")


register(
    "08.hello_segments",
    "Predict before the ClientHello table runs: how many TCP segments (MSS 1460 B) will a ClientHello offering "
    "SecP384r1MLKEM1024 need? (ML-KEM-1024's encapsulation key is 1568 B; a P-384 share 97 B)",
)(
    predicted(
        _segments,
        abs_tol=0.0,
        unit=" segments",
        hint="Add the key share to the rest of the hello (a few hundred bytes of extensions and the host name), "
        "then divide by the segment size and round up.",
    )
)


def _slow_ratio(*, result=None, **_: Any) -> float:
    return metric_of(result, "model.pq_slow 3G.handshake_ratio")


register(
    "08.slow_link_ratio",
    "Predict before the claims check runs: on the 'slow 3G' link of the model, what handshake time ratio will "
    "X25519MLKEM768 + ML-DSA-65 have over X25519 + RSA-2048? (within a factor 1.5 either way; the claim: "
    f"{TECHNIQUE.claim.text})",
)(
    predicted(
        _slow_ratio,
        factor=1.5,
        unit="x",
        hint="On a slow link the bytes dominate, not the CPU: ML-DSA-65 certificates and signatures are "
        "kilobytes (public key 1952 B, signature 3309 B) where RSA-2048's are 256-270 B, and the server sends a chain.",
    )
)
