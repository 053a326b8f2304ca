"""The claims check: is post-quantum key exchange "under 5% vs RSA-2048"?

The claim (a 2025 practitioner guide) is read three ways, each measured here:

1. TLS with RSA-2048 certificates, hybrid X25519MLKEM768 against classical
   X25519 key exchange: the connection (handshake + first byte) and a
   transfer of realistic size, interleaved in one run.
2. Fully post-quantum TLS (X25519MLKEM768 + ML-DSA-65 certificates) against
   the same classical RSA-2048 deployment.
3. The primitive: ML-KEM-768 encapsulate + decapsulate against RSA-2048
   key transport (OAEP encrypt + decrypt of a 32-byte key).

Loopback hides round trips and bandwidth, so the measured bytes and CPU time
also go through :mod:`labkit.pqc.linkmodel` for named link profiles, beside
the published figure: ML-KEM + ML-DSA TLS, time-to-last-byte +<5% on fast
links and handshake +32% on slow links (a 2024 measurement study; see the anchors in labkit.pqc.technique).

References
----------
Practitioner guide (2025); the anchors are declared in labkit.pqc.technique.
NIST FIPS 203 (ML-KEM) and FIPS 204 (ML-DSA), 2024.
Sikeridis, Kampanakis & Devetsikiotis, "Post-Quantum Authentication in TLS 1.3: A Performance Study", NDSS 2020.
"""

from __future__ import annotations

from typing import Any

from .. import bench, config, report, validate
from ..errors import InvalidInput
from ..results import Result
from . import linkmodel
from .handshakes import Session, summarise
from .technique import TECHNIQUE

CLAIM = f"Post-quantum cryptography (ML-KEM): {TECHNIQUE.claim.text}"
PUBLISHED = TECHNIQUE.anchors[1]


def judged(ratio: float, low: float, high: float) -> str:
    """A measured ratio with its IQR, judged against the claim by :func:`labkit.report.verdict`.

    >>> judged(1.02, 0.99, 1.04)
    '+2.0% (IQR 0.99-1.04) -> holds'
    >>> judged(1.10, 0.90, 1.30)
    '+10.0% (IQR 0.9-1.3) -> inconclusive (IQR 0.9-1.3 straddles 1.05)'
    """
    head = f"{bench.format_ratio(ratio)} (IQR {low:.3g}-{high:.3g}) -> "
    return head + report.verdict(TECHNIQUE.claim, ratio, low, high)


def _pair(candidate: Session, baseline: Session, transfer: int, repeat: int, names: tuple[str, str]):
    cand_infos: list[dict] = []
    base_infos: list[dict] = []
    ov = bench.overhead(
        lambda: cand_infos.append(candidate.run(transfer)),
        lambda: base_infos.append(baseline.run(transfer)),
        repeat=repeat,
        names=names,
    )
    return ov, summarise(cand_infos)["metrics"], summarise(base_infos)["metrics"]


def _kem_vs_rsa(repeat: int) -> bench.Overhead:
    from .primitives import kem_ops

    mlkem, rsa = kem_ops("ML-KEM-768"), kem_ops("RSA-2048")

    def kem_round():
        _, ct = mlkem["encapsulate"]()
        return ct, mlkem["decapsulate"]()

    def rsa_round():
        rsa["encapsulate"]()
        return rsa["decapsulate"]()

    return bench.overhead(kem_round, rsa_round, repeat=repeat, names=("ML-KEM-768 encaps+decaps", "RSA-2048 OAEP"))


def claims_check(
    *,
    repeat: int | None = None,
    transfer_bytes: int | None = None,
    profiles: tuple[str, ...] = tuple(linkmodel.PROFILES),
) -> Result:
    """Measure the claim three ways and model it on slower links.

    Parameters
    ----------
    repeat : int, optional
        Interleaved pairs per comparison (default 50, 8 in fast mode).
    transfer_bytes : int, optional
        The "realistic transfer": default 1 MiB (256 KiB in fast mode), about a web page.
    profiles : tuple of str
        Link profiles of :data:`labkit.pqc.linkmodel.PROFILES` to model.

    Returns
    -------
    Result
        ``metrics``: ``handshake_overhead`` (ratio), ``transfer_overhead``, ``pq_handshake_overhead``,
        ``pq_transfer_overhead``, ``kem_vs_rsa`` (ratio < 1 means ML-KEM is faster), ``handshake_cpu_ratio``
        and ``pq_handshake_cpu_ratio`` (CPU time per connection, less disturbed by load), and per profile
        ``model.<profile>.handshake_ratio`` / ``ttlb_ratio``; ``artifacts["verdicts"]``: text per reading.
    """
    repeat = validate.integer("repeat", repeat if repeat is not None else config.pick(50, 8), low=2, high=5000)
    transfer_bytes = validate.integer(
        "transfer_bytes",
        transfer_bytes if transfer_bytes is not None else config.pick(1 << 20, 256 << 10),
        low=1,
        high=64 << 20,
    )
    unknown = [p for p in profiles if p not in linkmodel.PROFILES]
    if unknown:
        raise InvalidInput(f"unknown link profile(s) {unknown}; choose from {', '.join(linkmodel.PROFILES)}.")

    result = Result(
        "pqc", "claims_check", params={"repeat": repeat, "transfer_bytes": transfer_bytes, "profiles": list(profiles)}
    )
    measured: dict[str, Any] = {}
    with (
        Session(group="X25519", cert="rsa-2048") as classical,
        Session(group="X25519MLKEM768", cert="rsa-2048") as hybrid,
        Session(group="X25519MLKEM768", cert="ml-dsa-65") as full_pq,
    ):
        for key, cand in (("", hybrid), ("pq_", full_pq)):
            label = "X25519MLKEM768+" + ("rsa-2048" if cand is hybrid else "ml-dsa-65")
            ov, cm, bm = _pair(cand, classical, 1, repeat, (label, "X25519+rsa-2048"))
            result.add_overhead(f"{key}handshake_overhead", ov)
            measured[key] = (ov, cm, bm)
            ov_t, _, _ = _pair(
                cand, classical, transfer_bytes, repeat, (f"{label} +transfer", "X25519+rsa-2048 +transfer")
            )
            result.add_overhead(f"{key}transfer_overhead", ov_t)
    result.add_overhead("kem_vs_rsa", _kem_vs_rsa(repeat * 4))

    verdicts = {}
    for key, label in (("", "hybrid key exchange"), ("pq_", "hybrid + ML-DSA-65")):
        ov, cm, bm = measured[key]
        result.metrics[f"{key}extra_bytes"] = (
            cm["bytes_client_to_server"]
            + cm["bytes_server_to_client"]
            - bm["bytes_client_to_server"]
            - bm["bytes_server_to_client"]
        )
        result.metrics[f"{key}handshake_cpu_ratio"] = cm["cpu_s"] / max(bm["cpu_s"], 1e-9)
        for what in ("handshake_overhead", "transfer_overhead"):
            verdicts[f"{key}{what}"] = f"{label}, {what.split('_')[0]} on loopback: " + judged(
                result.metrics[f"{key}{what}"], result.metrics[f"{key}{what}_low"], result.metrics[f"{key}{what}_high"]
            )
        for name in profiles:
            rtt, bw = linkmodel.PROFILES[name]
            model = linkmodel.compare(
                linkmodel.Link(rtt, bw),
                candidate={
                    "bytes_up": cm["bytes_client_to_server"],
                    "bytes_down": cm["bytes_server_to_client"],
                    "cpu": ov.candidate.median,
                },
                baseline={
                    "bytes_up": bm["bytes_client_to_server"],
                    "bytes_down": bm["bytes_server_to_client"],
                    "cpu": ov.baseline.median,
                },
                transfer=transfer_bytes,
            )
            result.metrics[f"model.{key}{name}.handshake_ratio"] = model["handshake_ratio"]
            result.metrics[f"model.{key}{name}.ttlb_ratio"] = model["ttlb_ratio"]
    kem = result.metrics["kem_vs_rsa"]
    verdicts["kem_vs_rsa"] = (
        f"ML-KEM-768 encaps+decaps vs RSA-2048 key transport: {bench.format_ratio(kem)} "
        f"({'faster' if kem < 1 else 'slower'}) -> "
        + report.verdict(TECHNIQUE.claim, kem, result.metrics["kem_vs_rsa_low"], result.metrics["kem_vs_rsa_high"])
    )
    result.artifacts.update(claim=CLAIM, published=PUBLISHED, verdicts=verdicts)
    return result


def model_table(result: Result) -> list[dict[str, Any]]:
    """Rows (configuration, profile, handshake ratio, time-to-last-byte ratio) from :func:`claims_check`."""
    rows = []
    for key, label in (("", "X25519MLKEM768 + RSA-2048"), ("pq_", "X25519MLKEM768 + ML-DSA-65")):
        for name in result.params["profiles"]:
            rows.append(
                {
                    "configuration": label,
                    "link": name,
                    "handshake_ratio": result.metrics[f"model.{key}{name}.handshake_ratio"],
                    "ttlb_ratio": result.metrics[f"model.{key}{name}.ttlb_ratio"],
                }
            )
    return rows
