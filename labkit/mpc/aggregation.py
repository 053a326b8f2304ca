"""Secure aggregation: the parties learn the sum of the clients' updates and nothing else.

Each client (the caller here, standing in for many devices) encodes its
update with CrypTen's fixed-point encoder and splits it into one additive
share per party: ``parties - 1`` uniformly random ring elements from the
operating system's CSPRNG and one correction share, so the shares add up to
the encoded update modulo 2**64. Party p's process receives only the p-th
share of every update. The parties load them as CrypTen arithmetic shares,
add them locally and reveal only the total. Any ``parties - 1`` of them
together see uniformly random numbers, whatever the updates were.

References
----------
Bonawitz et al., "Practical Secure Aggregation for Privacy-Preserving
Machine Learning", CCS 2017 (the task).
Corrigan-Gibbs & Boneh, "Prio: Private, Robust, and Scalable Computation of
Aggregate Statistics", NSDI 2017 (clients secret-share to non-colluding servers).
Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine
Learning", NeurIPS 2021 (fixed-point arithmetic shares on the 64-bit ring).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import numpy as np

from .. import bench, config, validate
from ..errors import InvalidInput
from ..results import Outcome, Result
from . import network
from .backend import load as load_crypten
from .inference import add_costs
from .launcher import check_parties, run_parties

PRECISION_BITS = 16  # CrypTen's default fixed-point precision
MAX_ABS = 1e9  # keeps every sum of up to MAX_CLIENTS updates far from the 2**47 fixed-point range
MAX_CLIENTS = 1000
MAX_ELEMENTS = 2_000_000  # clients x values: keeps the share files small


def _check_updates(updates: Any) -> np.ndarray:
    try:
        arrays = [np.asarray(u, dtype=np.float64) for u in updates]
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"updates must be a sequence of numeric arrays of one shape: {exc}.") from None
    if not 1 <= len(arrays) <= MAX_CLIENTS:
        raise InvalidInput(f"give between 1 and {MAX_CLIENTS} client updates, not {len(arrays)}.")
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise InvalidInput(f"every update must have the same shape; got {sorted(shapes)}.")
    stacked = np.stack(arrays)
    if stacked[0].size == 0 or stacked.size > MAX_ELEMENTS:
        raise InvalidInput(f"updates must hold 1 to {MAX_ELEMENTS} values in total, not {stacked.size}.")
    validate.finite_array("updates", stacked)
    if np.abs(stacked).max() > MAX_ABS:
        raise InvalidInput(f"update values must lie within +-{MAX_ABS:g} (fixed-point range); scale them down.")
    return stacked


def client_shares(update: np.ndarray, parties: int) -> list[Any]:
    """Split one update into ``parties`` additive shares on CrypTen's 64-bit ring (client side).

    The first ``parties - 1`` shares are uniform 64-bit integers from
    ``secrets`` (the OS CSPRNG); the last makes them add up to the update
    encoded by CrypTen's ``FixedPointEncoder`` (wrapping modulo 2**64).
    """
    crypten = load_crypten()
    import torch

    encoded = crypten.encoder.FixedPointEncoder(precision_bits=PRECISION_BITS).encode(
        torch.as_tensor(np.ascontiguousarray(update), dtype=torch.float64)
    )
    shares = []
    for _ in range(parties - 1):
        raw = np.frombuffer(secrets.token_bytes(8 * encoded.numel()), dtype=np.int64).reshape(tuple(encoded.shape))
        shares.append(torch.from_numpy(raw.copy()))
    last = encoded.clone()
    for s in shares:
        last -= s  # int64 arithmetic wraps: this is subtraction modulo 2**64
    return [*shares, last]


def sum_task(party: Any, private: Any) -> dict[str, Any]:
    """Party side of :func:`secure_sum`: load this party's share of each update, add, reveal the total to everyone."""
    crypten, torch = party.crypten, party.torch
    MPCTensor = crypten.mpc.MPCTensor
    shares = private["shares"]

    def secure():
        total = MPCTensor.from_shares(shares[0], precision=PRECISION_BITS)
        for s in shares[1:]:
            total = total + MPCTensor.from_shares(s, precision=PRECISION_BITS)
        return total.get_plain_text()

    stacked = torch.stack(shares).double()

    def plain():
        return stacked.sum(dim=0)

    party.reset_comm_stats()
    t0 = time.perf_counter()
    total = secure()
    online = time.perf_counter() - t0
    stats = party.comm_stats()
    repeat = party.options["repeat"]
    ov = bench.overhead(secure, plain, repeat=repeat, warmup=0, names=("mpc", "plaintext")) if repeat else None
    return {
        "total": total.double().numpy(),
        "online_seconds": online,
        "rounds": stats["rounds"],
        "bytes": stats["bytes"],
        "overhead": ov.to_dict() if ov else None,
    }


def secure_sum(
    updates: Any,
    *,
    parties: int = 2,
    repeat: int | None = None,
    links: tuple[network.Link, ...] = network.LINKS,
    host: str = "127.0.0.1",
    port: int | None = None,
    timeout: float | None = None,
) -> Outcome[np.ndarray]:
    """Sum the clients' update vectors without any party seeing an individual update.

    Parameters
    ----------
    updates : sequence of arrays (or one array, clients first)
        One update per client, all of one shape, values within +-1e9.
    parties : {2, 3}
        Number of aggregation servers (CrypTen parties). The sum stays private
        as long as at least one of them does not collude with the others.
    repeat : int, optional
        Interleaved secure/plaintext sums for the overhead (default 5, 3 fast; 0 skips).
    links, host, port, timeout
        As in :func:`labkit.mpc.private_inference`.

    Returns
    -------
    Outcome
        ``value``: the sum (ndarray, shape of one update), equal to the plain sum within
        ``n_clients * 2**-16`` (fixed-point rounding). ``result`` metrics: max_abs_error against the plain sum, rounds, bytes per party,
        online seconds, overhead, modelled latency.

    >>> secure_sum([[1.0, 2.0], [0.5, -1.0]], repeat=0).value.round(3).tolist()
    [1.5, 1.0]

    References
    ----------
    Bonawitz et al., CCS 2017; Corrigan-Gibbs & Boneh, NSDI 2017.
    """
    check_parties(parties)
    stacked = _check_updates(updates)
    repeat = config.pick(5, 3) if repeat is None else validate.integer("repeat", repeat, low=0, high=50)
    per_client = [client_shares(u, parties) for u in stacked]
    private = [{"shares": [shares[p] for shares in per_client]} for p in range(parties)]
    run = run_parties(
        "labkit.mpc.aggregation:sum_task",
        private,
        options={"repeat": repeat},
        provider="TFP",
        host=host,
        port=port,
        timeout=config.pick(120.0, 60.0) if timeout is None else timeout,
    )
    # provider TFP is safe here: a sum needs no Beaver triples, so no party generates any.
    total = run.outputs[0]["total"]
    plain = stacked.sum(axis=0)
    result = Result(
        technique="mpc",
        name="secure_sum",
        params={
            "clients": len(stacked),
            "size": int(stacked[0].size),
            "parties": parties,
            "repeat": repeat,
            "fast": config.fast(),
        },
        artifacts={
            "security_model": "semi-honest aggregation servers, at least one not colluding; "
            "clients split their updates with the OS CSPRNG",
            "pids": run.pids,
            "modelled": "latency_* metrics are modelled, not measured",
        },
    )
    result.metrics["clients"] = len(stacked)
    result.metrics["size"] = int(stacked[0].size)
    result.metrics["max_abs_error"] = float(np.abs(total - plain).max())
    result.metrics["error_bound"] = len(stacked) * 2.0**-PRECISION_BITS
    add_costs(result, run, run.outputs, links)
    return Outcome(total.reshape(stacked.shape[1:]), result)
