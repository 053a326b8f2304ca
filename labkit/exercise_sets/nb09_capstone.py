"""Exercises of notebook 09_layered_defense: which layer stops which attacker, and at what cost."""

from __future__ import annotations

from typing import Any

from labkit.exercises import choice, register

register(
    "09.stops_poison",
    "Switched on alone, which layer keeps the Byzantine client's oversized update out of the model?",
)(
    choice(
        ["zk"],
        hints={
            "secagg": "Secure aggregation hides every update from the server, the poisoned one too: it gets in unseen.",
            "dp": "DP-SGD changes what honest clients send; the Byzantine client does not run it.",
            "tls": "TLS authenticates the client and protects the wire; an authenticated client can still lie.",
            "tee": "The enclave decrypts only the sum: the oversized update is added in, unseen, as with secagg.",
        },
        default_hint="Give one layer name: dp, secagg, zk, tls or tee.",
    )
)

register(
    "09.key_holder",
    "With secagg alone the lab simulates one key holder of the CKKS secret key. With secagg+tee, what is the "
    "only party that can decrypt: 'server', 'clients' or 'enclave'?",
)(
    choice(
        ["enclave", "the enclave", "attested enclave", "the attested enclave"],
        hints={
            "server": "The server adds ciphertexts; the key service never releases the key to it, only to a quote.",
            "clients": "Clients encrypt under the public key; the secret key went sealed to the key service.",
        },
        default_hint="Who passed attestation before the key service released the aggregation key?",
    )
)

register(
    "09.tls_stops",
    "Which attacker does the tls layer stop that no other layer stops: 'server', 'byzantine client' or 'eavesdropper'?",
)(
    choice(
        ["eavesdropper", "network eavesdropper", "network attacker", "man in the middle"],
        hints={
            "server": "The server terminates the TLS connection: it reads what the client sent.",
            "byzantine client": "The Byzantine client holds a valid certificate; TLS lets it in.",
        },
        default_hint="Think of who sits between the client and the server.",
    )
)


@register(
    "09.cheapest_safe_stack",
    "From your table, name the cheapest stack (lowest overhead) that keeps the reconstruction below 15 dB PSNR "
    "and rejects the poisoned update, as written in the 'stack' column.",
)
def _cheapest_safe_stack(answer: Any, *, rows: list[dict] | None = None, **_: Any) -> tuple[bool, str]:
    if rows is None:
        raise ValueError("pass rows=<labkit.capstone.table(results)> to check")
    if not isinstance(answer, str):
        raise TypeError(f"give the stack name as text, not {type(answer).__name__}")
    safe = [r for r in rows if r["psnr"] < 15.0 and r["poison_caught"]]
    if not safe:
        return False, "No stack in these rows stops both attackers: add the full stack to the comparison."
    best = min(safe, key=lambda r: r["overhead"])["stack"]
    if answer.strip().lower() == best:
        return True, f"Right: {best}, at {min(r['overhead'] for r in safe):.3g}x the plain round."
    if answer.strip().lower() not in {r["stack"] for r in rows}:
        return False, "That is not a stack in your table; copy its name from the 'stack' column."
    return False, "That stack fails one of the two tests, or another safe stack is cheaper: filter, then sort."
