"""The PQC benchmark: every (group, certificate) cell, 50 connections each, the hybrid/classical ratios,
and the interleaved claims check the report reads.

``labkit bench pqc`` runs :func:`benchmark`. Cells go to the ResultStore as they are
measured, so an interrupted run resumes where it stopped.

References
----------
Chen & Revels, "Robust benchmarking in noisy environments", 2016.
"""

from __future__ import annotations

from typing import Any

from .. import config
from ..results import Result, ResultStore
from . import sweep as sweep_mod

HYBRID_PAIRS = (("X25519MLKEM768", "X25519"), ("SecP256r1MLKEM768", "secp256r1"))


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Hybrid over its classical half, per certificate: connection time and handshake bytes.

    Time ratios divide the two cells' interleaved overheads against the common
    X25519 + ECDSA baseline, which cancels most of the drift between cells.
    """
    cell = {(r["group"], r["cert"]): r for r in rows}
    out = []
    for hybrid, classical in HYBRID_PAIRS:
        for cert in dict.fromkeys(r["cert"] for r in rows):
            h, c = cell.get((hybrid, cert)), cell.get((classical, cert))
            if h and c:
                out.append(
                    {
                        "hybrid": hybrid,
                        "classical": classical,
                        "cert": cert,
                        # each cell's time was measured interleaved with the same baseline: compare those ratios
                        "time_ratio": h["overhead"] / c["overhead"],
                        "cpu_ratio": h["cpu_ms"] / c["cpu_ms"],
                        "bytes_ratio": (h["bytes_client_to_server"] + h["bytes_server_to_client"])
                        / (c["bytes_client_to_server"] + c["bytes_server_to_client"]),
                    }
                )
    return out


def run(
    *,
    groups: tuple[str, ...],
    certs: tuple[str, ...],
    repeat: int,
    store: ResultStore | None = None,
    progress: bool = False,
) -> Result:
    """The sweep over ``groups`` x ``certs`` with ``repeat`` connections per cell, plus the hybrid/classical ratios."""
    result = sweep_mod.sweep(groups=groups, certs_=certs, repeat=repeat, store=store, progress=progress)
    result.name = "benchmark"
    result.artifacts["ratios"] = ratios(result.artifacts["rows"])
    return result


def benchmark(*, store: ResultStore, progress: bool = False) -> list[Result]:
    """What ``labkit bench pqc`` runs: the sweep and the interleaved claims check the report reads.

    Full: every group of :data:`labkit.pqc.sweep.DEFAULT_GROUPS` with every certificate of
    :data:`~labkit.pqc.sweep.DEFAULT_CERTS`, 50 connections per cell. Fast mode: the groups
    X25519, X25519MLKEM768 and MLKEM768 with ECDSA P-256, RSA-2048 and ML-DSA-65 certificates,
    5 connections per cell (the cells the claims check's fallback reads are among them).

    Returns
    -------
    list of Result
        The sweep (name "benchmark", ``artifacts["rows"]`` and ``["ratios"]``) and the claims check
        (:func:`labkit.pqc.claimcheck.claims_check`). The sweep's cells are stored as they are measured.
    """
    from .claimcheck import claims_check

    groups = config.pick(sweep_mod.DEFAULT_GROUPS, sweep_mod.FAST_GROUPS)
    certs = config.pick(sweep_mod.DEFAULT_CERTS, sweep_mod.FAST_CERTS)
    repeat = config.pick(50, 5)
    sweep_result = run(groups=groups, certs=certs, repeat=repeat, store=store, progress=progress)
    return [sweep_result, claims_check()]


def format_table(result: Result) -> str:
    """The sweep as a plain-text table: one row per cell, then the hybrid/classical ratios."""
    lines = [
        f"{'group':<20}{'cert':<12}{'hs ms':>8}{'conn ms':>9}{'x base':>8}{'cpu ms':>8}{'cpu x':>7}"
        f"{'C->S B':>8}{'S->C B':>8}{'CH seg':>7}"
    ]
    for r in result.artifacts["rows"]:
        lines.append(
            f"{r['group']:<20}{r['cert']:<12}{r['latency_ms']:>8.2f}{r['connection_ms']:>9.2f}"
            f"{r['overhead']:>8.2f}{r['cpu_ms']:>8.2f}{r['cpu_ratio']:>7.2f}"
            f"{r['bytes_client_to_server']:>8}{r['bytes_server_to_client']:>8}"
            f"{r['client_hello_segments']:>7}"
        )
    lines.append("")
    lines.append(f"{'hybrid / classical':<44}{'time':>8}{'cpu':>8}{'bytes':>8}")
    for r in result.artifacts.get("ratios", []):
        lines.append(
            f"{r['hybrid'] + ' / ' + r['classical'] + ' (' + r['cert'] + ')':<44}"
            f"{r['time_ratio']:>8.3f}{r['cpu_ratio']:>8.3f}{r['bytes_ratio']:>8.2f}"
        )
    return "\n".join(lines)
