"""Post-quantum TLS in the technique registry: identity, the claim, its readings, chart points, doctor checks.

Importing this module is cheap: OpenSSL, pyOpenSSL and the lab's TLS code load
only when a door is called.

References
----------
NIST FIPS 203 (ML-KEM) and FIPS 204 (ML-DSA), 2024.
RFC 8446, TLS 1.3; IETF draft-ietf-tls-ecdhe-mlkem.
"""

from __future__ import annotations

from .. import overview, report
from ..claims import Claim
from ..results import Result, ResultStore
from ..techniques import Check, Technique

HYBRID_VS_CLASSICAL = "TLS 1.3 connection, X25519MLKEM768 vs X25519, RSA-2048 cert"
FULL_PQ_VS_CLASSICAL = "TLS 1.3 connection, X25519MLKEM768 + ML-DSA-65 vs X25519 + RSA-2048"

#: The claims check's metrics read against the claim, each with the setting it measures.
CLAIM_READINGS = (
    ("handshake_overhead", HYBRID_VS_CLASSICAL),
    ("transfer_overhead", "connection + transfer, X25519MLKEM768 vs X25519, RSA-2048 cert"),
    ("pq_handshake_overhead", FULL_PQ_VS_CLASSICAL),
    ("kem_vs_rsa", "primitive: ML-KEM-768 encaps+decaps vs RSA-2048 OAEP key transport"),
)


def cell_ratio(cand: Result, base: Result, setting: str) -> report.Reading:
    """Two sweep cells, each timed interleaved against the same X25519 + ECDSA baseline: divide their ratios.

    The interval combines the cells' IQRs conservatively (candidate low / baseline high ... high / low).
    """
    t = TECHNIQUE
    c, b = cand.metrics, base.metrics
    ratio = c["overhead"] / b["overhead"]
    low = c["overhead_low"] / b["overhead_high"] if "overhead_low" in c and "overhead_high" in b else None
    high = c["overhead_high"] / b["overhead_low"] if "overhead_high" in c and "overhead_low" in b else None
    out = report.reading(
        "pqc.overhead",
        t.claim,
        cand,
        setting + " (loopback; two sweep cells, same baseline)",
        ratio,
        low=low,
        high=high,
        bench="pqc",
        lab=t.lab,
        anchors=t.anchors,
        note="interval: the two cells' IQRs combined",
    )
    out.spread = "range"
    out.verdict = out.verdict.replace("(IQR ", "(range ")
    return out


def readings(store: ResultStore) -> list[report.Reading]:
    """Hybrid ML-KEM TLS against classical key exchange with RSA-2048 certificates.

    From the newest claims check (``labkit bench pqc``); without one, from the sweep cells
    X25519MLKEM768 and X25519 with RSA-2048 (and X25519MLKEM768 with ML-DSA-65).
    """
    t = TECHNIQUE
    check = store.latest("pqc", "claims_check")
    out = []
    if check is not None:
        m = check.metrics
        for key, setting in CLAIM_READINGS:
            if key in m:
                low, high = report.iqr(check, key)
                out.append(
                    report.reading(
                        "pqc.overhead",
                        t.claim,
                        check,
                        setting + " (loopback)",
                        m[key],
                        low=low,
                        high=high,
                        bench="pqc",
                        lab=t.lab,
                        anchors=t.anchors,
                    )
                )
    cells = report.latest_by(
        [r for r in store.query("pqc", "sweep_cell")], lambda r: (r.params.get("group"), r.params.get("cert"))
    )
    cell = {(r.params.get("group"), r.params.get("cert")): r for r in cells}
    if not out:
        hybrid, classical = cell.get(("X25519MLKEM768", "rsa-2048")), cell.get(("X25519", "rsa-2048"))
        if hybrid is not None and classical is not None:
            out.append(cell_ratio(hybrid, classical, HYBRID_VS_CLASSICAL))
        full = cell.get(("X25519MLKEM768", "ml-dsa-65"))
        if full is not None and classical is not None:
            out.append(cell_ratio(full, classical, FULL_PQ_VS_CLASSICAL))
    return out or [report.missing("pqc.overhead", t.claim, "pqc", t.lab, t.anchors)]


def points(results: list[Result]) -> list[overview.Point]:
    """The claims check's two handshake ratios, and every hybrid or ML-KEM sweep cell against X25519 + ECDSA."""
    out: list[overview.Point] = []
    for r in results:
        if r.name == "claims_check":
            out += [
                overview.point(r, label, key)
                for key, label in (
                    ("handshake_overhead", "TLS 1.3, X25519MLKEM768 vs X25519 (RSA-2048 cert)"),
                    ("pq_handshake_overhead", "TLS 1.3, X25519MLKEM768 + ML-DSA-65 vs X25519 + RSA-2048"),
                )
                if key in r.metrics
            ]
        elif r.name == "sweep_cell" and "MLKEM" in str(r.params.get("group")) and "overhead" in r.metrics:
            label = f"TLS 1.3, {r.params.get('group')} + {r.params.get('cert')} vs X25519 + ECDSA P-256"
            out.append(overview.point(r, label, "overhead"))
    return out


def smoke_primitives() -> str:
    """``labkit doctor``: an ML-KEM-768 round trip and an ML-DSA-65 signature, a forgery refused.

    References
    ----------
    NIST FIPS 203 (ML-KEM) and FIPS 204 (ML-DSA), 2024.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric import mldsa, mlkem

    kem = mlkem.MLKEM768PrivateKey.generate()
    shared, ciphertext = kem.public_key().encapsulate()
    if kem.decapsulate(ciphertext) != shared:
        raise RuntimeError("ML-KEM-768 decapsulation gave another shared secret")
    signer = mldsa.MLDSA65PrivateKey.generate()
    sig = signer.sign(b"labkit doctor")
    signer.public_key().verify(sig, b"labkit doctor")
    try:
        signer.public_key().verify(sig, b"labkit doctoR")
    except InvalidSignature:
        pass
    else:
        raise RuntimeError("ML-DSA-65 accepted a signature over another message")
    return f"ML-KEM-768 encaps/decaps ({len(ciphertext)} B ciphertext); ML-DSA-65 sign/verify, forgery refused"


def smoke_tls() -> str:
    """``labkit doctor``: one real TLS 1.3 handshake on loopback that must negotiate X25519MLKEM768."""
    from .handshakes import handshake

    group = handshake(group="X25519MLKEM768").artifacts.get("group")
    if group != "X25519MLKEM768":
        raise RuntimeError(f"negotiated {group!r} instead of X25519MLKEM768")
    return f"TLS 1.3 on 127.0.0.1 negotiated {group}"


TECHNIQUE = Technique(
    key="pqc",
    title="Post-quantum TLS (hybrid X25519+ML-KEM, ML-DSA)",
    data_state="in transit",
    protects="traffic recorded today stays confidential against a future quantum computer",
    adversary="future quantum attacker (harvest now, decrypt later)",
    notebooks=("08_pqc_handshakes",),
    protection="confidentiality in transit",
    best_use="transport, signing, key exchange",
    color="#e6ab02",
    claim=Claim("under 5% overhead vs RSA-2048", 1.0, 1.05),
    anchors=(
        "ML-KEM-768: public key 1,184 B, ciphertext 1,088 B",
        "ML-KEM + ML-DSA TLS (2024 study): time-to-last-byte +<5% on fast links, handshake +32% on slow links",
    ),
    bench_title="post-quantum TLS handshakes and the claims check",
    checks=(
        Check(
            "cryptography ML-KEM/ML-DSA",
            "ML-KEM-768 and ML-DSA-65 round trips",
            ("cryptography",),
            "labkit.pqc.technique:smoke_primitives",
        ),
        Check(
            "pyOpenSSL X25519MLKEM768",
            "hybrid TLS 1.3 handshake on loopback",
            ("pyopenssl", "cryptography"),
            "labkit.pqc.technique:smoke_tls",
        ),
    ),
    benchmark="labkit.pqc.benchmark:benchmark",
    readings=readings,
    points=points,
    support="labkit.pqc.assess:support",
    assess="labkit.pqc.assess:assess",
)
