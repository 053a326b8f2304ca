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


SAFE_PSNR_DB = 15.0


@register(
    "09.cheapest_safe_stack",
    "Predict before the comparison runs: of the stacks it measures (plain, dp, secagg, zk, tls, secagg+tee, "
    "dp+secagg, dp+secagg+zk+tls+tee), which is the cheapest (lowest overhead) that keeps the reconstruction "
    f"below {SAFE_PSNR_DB:g} dB PSNR and rejects the poisoned update? Name it as written here.",
)
def _cheapest_safe_stack(answer: Any, *, results: list | None = None, **_: Any) -> tuple[bool, str]:
    from labkit.capstone import table

    if results is None:
        raise TypeError("pass results=<the comparison's Results>")
    if not isinstance(answer, str):
        raise TypeError(f"give the stack name as text, not {type(answer).__name__}")
    rows = table(results)
    names = {r["stack"] for r in rows}
    given = answer.strip().lower()
    if given not in names:
        raise ValueError("name a stack of the comparison, e.g. 'secagg+tee'")
    safe = [r for r in rows if r["psnr"] < SAFE_PSNR_DB and r["poison_caught"]]
    best = min(safe, key=lambda r: r["overhead"])["stack"] if safe else None
    if given == best:
        return True, "Right: it is the only kind of stack that stops both attackers, and the cheapest of them."
    row = next(r for r in rows if r["stack"] == given)
    if not row["poison_caught"]:
        return False, "That stack lets the poisoned update in: which layer checks an update without seeing it?"
    if row["psnr"] >= SAFE_PSNR_DB:
        return False, "That stack leaves one client's update readable to the server: which layers hide or blur it?"
    return False, "That stack stops both attackers, but another that does is cheaper: compare their overheads."
