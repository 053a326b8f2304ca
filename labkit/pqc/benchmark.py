"""The PQC benchmark: every (group, certificate) cell, 50 connections each, and the hybrid/classical ratios.

Run it with ``python -m labkit.pqc.benchmark`` (``labkit bench pqc`` calls :func:`main`).
Cells go to the ResultStore, so an interrupted run resumes where it stopped.

References
----------
Chen & Revels, "Robust benchmarking in noisy environments", 2016.
"""

from __future__ import annotations

import argparse
from typing import Any

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


def run(*, repeat: int = 50, store: ResultStore | None = None, progress: bool = True) -> Result:
    """The full sweep with ``repeat`` connections per cell, plus the hybrid/classical ratios."""
    result = sweep_mod.sweep(
        groups=sweep_mod.DEFAULT_GROUPS, certs_=sweep_mod.DEFAULT_CERTS, repeat=repeat, store=store, progress=progress
    )
    result.name = "benchmark"
    result.artifacts["ratios"] = ratios(result.artifacts["rows"])
    return result


def standard(*, store: ResultStore | None = None, progress: bool = True) -> list[Result]:
    """What ``labkit bench pqc`` runs: the sweep, and the interleaved claims check the report reads."""
    from .claimcheck import claims_check

    sweep_result = run(store=store, progress=progress)
    checked = claims_check()
    if store is not None:
        store.add_many([sweep_result, checked])
    return [sweep_result, checked]


def format_table(result: Result) -> str:
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labkit bench pqc", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50, help="connections per cell (default 50)")
    parser.add_argument("--store", default=None, help="ResultStore file (default: the lab's)")
    args = parser.parse_args(argv)
    store = ResultStore(args.store) if args.store else ResultStore()
    result = run(repeat=args.repeat, store=store)
    store.add(result)
    print(format_table(result))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
