"""Exercises of notebook 00_start_here: threat models and what each technique protects."""

from __future__ import annotations

from labkit.exercises import choice, numeric, register

register(
    "00.protects_in_use",
    "Which technique lets a server compute on data it can never read? (one technique name)",
)(
    choice(
        ["homomorphic encryption", "he", "fhe", "ckks", "bgv", "bfv"],
        hints={
            "tls": "TLS protects data in transit; the server decrypts it on arrival.",
            "pqc": "Post-quantum TLS still protects transit only; the server sees the plaintext.",
            "differential privacy": "DP limits what the output reveals; the trainer still sees the data.",
            "dp": "DP limits what the output reveals; the trainer still sees the data.",
            "tee": "Close: a TEE hides data from the host, but the enclave itself computes on plaintext.",
        },
        default_hint="Look for the technique in the map whose data state is 'in use' and that never decrypts.",
    )
)

register(
    "00.threat_for_inversion",
    "Gradient inversion is an attack by which adversary of the threat models above?",
)(
    choice(
        ["honest but curious server", "curious server", "server"],
        hints={
            "byzantine client": "A Byzantine client sends bad updates; inversion needs to *see* updates.",
            "quantum attacker": "A future quantum attacker records traffic; inversion works on gradients today.",
        },
        default_hint="Who sees every client's gradient in plain federated learning?",
    )
)


register(
    "00.claimed_tee_ratio",
    "A TEE is claimed to cost 3-7%: as a time ratio against plaintext, what is the worst claimed case?",
)(numeric(1.07, rel_tol=0.002, hint="An overhead of p% is a time ratio of 1 + p/100."))


register(
    "00.extra_time_factor",
    "A TEE is claimed to cost 3-7%; your run measures a time ratio of 1.5. By what factor is the claimed "
    "worst-case extra time off (the report's 'off by a factor N')?",
)(
    numeric(
        50 / 7,
        rel_tol=0.01,
        hint="Compare extra time with extra time: a ratio of 1.5 is +50%, the claim allows at most +7%.",
    )
)
