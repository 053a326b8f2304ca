"""Key-exchange groups x certificate types: latency and bytes of each pairing, against X25519 + ECDSA P-256.

Every cell is measured with :func:`labkit.bench.overhead`: the cell's
connection and the baseline's (X25519 key exchange, ECDSA P-256 certificate)
alternate in the same run, so machine load hits both alike. The timed unit is
one whole connection on loopback: TCP connect, TLS 1.3 handshake with full
certificate checks, and a one-byte request and reply (which also confirms
the server accepted the client's Finished). Beside wall time, each cell
records the CPU time the process (client and server threads) spent per
connection, which other programs on a busy machine disturb far less.
Bytes are those of the handshake
alone, counted by the client. Cells are stored in the ResultStore and reused
when the sweep is run again with the same parameters.

References
----------
Chen & Revels, "Robust benchmarking in noisy environments", 2016 (interleaved repeats, medians).
Sikeridis, Kampanakis & Devetsikiotis, "Post-Quantum Authentication in TLS 1.3: A Performance Study", NDSS 2020.
"""

from __future__ import annotations

from typing import Any

from .. import bench, config, validate
from ..errors import InvalidInput
from ..results import Result, ResultStore
from . import certs, tls
from .handshakes import Session, available_cert_types, available_groups, summarise

BASELINE = ("X25519", "ecdsa-p256")
DEFAULT_GROUPS = ("X25519", "secp256r1", "X25519MLKEM768", "SecP256r1MLKEM768", "MLKEM768", "MLKEM1024")
DEFAULT_CERTS = ("ecdsa-p256", "ed25519", "rsa-2048", "ml-dsa-44", "ml-dsa-65", "ml-dsa-87")
FAST_GROUPS = ("X25519", "X25519MLKEM768", "MLKEM768")
"""The groups of the fast-mode sweep."""
FAST_CERTS = ("ecdsa-p256", "rsa-2048", "ml-dsa-65")
"""The certificates of the fast-mode sweep."""


def measure_cell(
    group: str, cert: str, *, repeat: int, baseline: Session | None = None, transfer_bytes: int = 1
) -> Result:
    """Handshake cost of one (group, certificate) pair against the baseline, interleaved.

    Returns a Result named "sweep_cell" with latency, bytes, ClientHello size and
    ``metrics["overhead"]`` (median time ratio against X25519 + ECDSA P-256).
    """
    own_baseline = baseline is None
    base = baseline or Session(group=BASELINE[0], cert=BASELINE[1])
    infos: list[dict[str, Any]] = []
    base_infos: list[dict[str, Any]] = []
    try:
        with Session(group=group, cert=cert) as cell:
            ov = bench.overhead(
                lambda: infos.append(cell.run(transfer_bytes)),
                lambda: base_infos.append(base.run(transfer_bytes)),
                repeat=repeat,
                warmup=1,
                names=(f"{group}+{cert}", "X25519+ecdsa-p256"),
            )
            base_info = base.run(transfer_bytes)
    finally:
        if own_baseline:
            base.close()
    summary = summarise(infos)
    metrics = dict(summary["metrics"])
    metrics["baseline_cpu_s"] = summarise(base_infos)["metrics"]["cpu_s"]
    metrics["cpu_ratio"] = metrics["cpu_s"] / max(metrics["baseline_cpu_s"], 1e-9)
    metrics["connection_s"] = ov.candidate.median
    metrics["baseline_connection_s"] = ov.baseline.median
    metrics["baseline_bytes_total"] = base_info["handshake_bytes_sent"] + base_info["handshake_bytes_received"]
    metrics["bytes_total"] = metrics["bytes_client_to_server"] + metrics["bytes_server_to_client"]
    metrics["bytes_ratio"] = metrics["bytes_total"] / metrics["baseline_bytes_total"]
    artifacts = {k: v for k, v in summary["artifacts"].items() if k != "messages"}
    artifacts["group"] = tls.canonical_group(artifacts["group"])
    params = {"group": group, "cert": cert, "repeat": repeat, "transfer_bytes": transfer_bytes}
    result = Result("pqc", "sweep_cell", params=params, metrics=metrics, artifacts=artifacts)
    result.add_overhead("overhead", ov)
    return result


def sweep(
    *,
    groups: tuple[str, ...] | None = None,
    certs_: tuple[str, ...] | None = None,
    repeat: int | None = None,
    store: ResultStore | None = None,
    progress: bool = True,
) -> Result:
    """Measure every (group, certificate) cell; returns a Result whose ``artifacts["rows"]`` is the table.

    Parameters
    ----------
    groups, certs_ : tuple of str, optional
        Defaults: :data:`DEFAULT_GROUPS` and :data:`DEFAULT_CERTS` that the bundled OpenSSL offers
        (fewer in fast mode).
    repeat : int, optional
        Connections per cell (and as many baseline ones), default 50 (5 in fast mode).
    store : ResultStore, optional
        Where cells are kept and looked up (default: the lab's store); a cell measured
        before with the same parameters is reused, so an interrupted sweep resumes.
    """
    groups = tuple(groups) if groups is not None else config.pick(DEFAULT_GROUPS, FAST_GROUPS)
    certs_ = tuple(certs_) if certs_ is not None else config.pick(DEFAULT_CERTS, FAST_CERTS)
    repeat = validate.integer("repeat", repeat if repeat is not None else config.pick(50, 5), low=1, high=5000)
    groups = tuple(tls.check_groups(list(groups)))
    certs_ = tuple(certs.check_cert_type(c) for c in certs_)
    missing = [g for g in groups if g not in available_groups()] + [
        c for c in certs_ if c not in available_cert_types()
    ]
    if missing:
        raise InvalidInput(f"not available with this OpenSSL: {', '.join(missing)}; leave them out.")
    store = store if store is not None else ResultStore()
    from tqdm.auto import tqdm

    rows = []
    cells = [(g, c) for g in groups for c in certs_]
    with Session(group=BASELINE[0], cert=BASELINE[1]) as base:
        for g, c in tqdm(cells, desc="handshake sweep", disable=not progress):
            params = {"group": g, "cert": c, "repeat": repeat, "transfer_bytes": 1}
            cell = store.latest("pqc", "sweep_cell", params)
            if cell is None:
                cell = measure_cell(g, c, repeat=repeat, baseline=base)
                store.add(cell)
            m = cell.metrics
            rows.append(
                {
                    "group": g,
                    "cert": c,
                    "latency_ms": m["latency_s"] * 1e3,
                    "connection_ms": m["connection_s"] * 1e3,
                    "overhead": m["overhead"],
                    "cpu_ms": m["cpu_s"] * 1e3,
                    "cpu_ratio": m["cpu_ratio"],
                    "bytes_client_to_server": m["bytes_client_to_server"],
                    "bytes_server_to_client": m["bytes_server_to_client"],
                    "bytes_ratio": m["bytes_ratio"],
                    "client_hello_bytes": m["client_hello_bytes"],
                    "client_hello_segments": m["client_hello_segments"],
                    "signature_scheme": cell.artifacts.get("signature_scheme"),
                }
            )
    params = {"groups": list(groups), "certs": list(certs_), "repeat": repeat}
    return Result("pqc", "sweep", params=params, metrics={"cells": len(rows)}, artifacts={"rows": rows})


def heatmap(rows: list[dict[str, Any]], value: str = "overhead", *, widget: bool = False):
    """A plotly heatmap of one column of the sweep table (groups down, certificates across)."""
    import plotly.graph_objects as go

    if not rows:
        raise InvalidInput("the sweep table is empty; run sweep() first.")
    if value not in rows[0]:
        raise InvalidInput(f"unknown column {value!r}; choose from {', '.join(rows[0])}.")
    groups = list(dict.fromkeys(r["group"] for r in rows))
    certs_ = list(dict.fromkeys(r["cert"] for r in rows))
    cell = {(r["group"], r["cert"]): r[value] for r in rows}
    z = [[cell.get((g, c)) for c in certs_] for g in groups]
    text = [[("" if v is None else f"{v:.3g}") for v in row] for row in z]
    fig_cls = go.FigureWidget if widget else go.Figure
    titles = {
        "overhead": "connection time / X25519+ECDSA",
        "latency_ms": "handshake latency (ms)",
        "cpu_ratio": "CPU time per connection / X25519+ECDSA",
        "bytes_ratio": "handshake bytes / X25519+ECDSA",
    }
    fig = fig_cls(
        go.Heatmap(
            z=z, x=certs_, y=groups, text=text, texttemplate="%{text}", colorscale="Viridis", colorbar={"title": value}
        )
    )
    fig.update_layout(
        title=titles.get(value, value),
        xaxis_title="certificate",
        yaxis_title="key exchange",
        height=360,
        margin={"l": 140, "r": 20, "t": 50, "b": 50},
    )
    return fig
