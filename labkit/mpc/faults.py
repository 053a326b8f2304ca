"""Faults: what happens when a party dies mid-protocol, or the rendezvous is unusable.

:func:`party_crash` starts a long secure computation (repeated secret-shared
multiplications), kills one party with SIGKILL once it has joined, and
reports how the run ended: which error, after how long, and whether any
party process is still alive. The launcher stops the survivors within a
short grace period, so a crash never turns into a hang.

References
----------
PyTorch documentation, "Distributed communication package" (gloo: a peer's
closed connection fails pending send/recv; timeouts bound the rest).
"""

from __future__ import annotations

import time
from typing import Any

from .. import config, validate
from ..errors import InvalidInput, LabkitError
from ..results import Result
from .launcher import check_parties, run_parties
from .supervisor import PartyFailed


def long_task(party: Any, private: Any) -> float:
    """Party side of :func:`party_crash`: keep multiplying secret-shared vectors (each needs a round trip) until told to stop."""
    x = party.share(private if party.rank == 0 else None, shape=(64,), src=0)
    y = x
    stop = time.monotonic() + party.options["seconds"]
    while time.monotonic() < stop:
        y = (y * x).sum().expand(64) * 0.0 + x  # one Beaver multiplication and a reveal-free sum per loop
    return float(y.sum().get_plain_text().item())


def party_crash(*, parties: int = 2, victim: int = 1, after: float = 0.3, timeout: float = 30.0) -> Result:
    """Kill party ``victim`` ``after`` seconds into a protocol; report the error and the cleanup.

    Parameters
    ----------
    parties : {2, 3}
    victim : int
        The rank killed (SIGKILL).
    after : float
        Seconds after the victim joined the protocol.
    timeout : float
        Seconds for the whole run.

    Returns
    -------
    Result
        metrics: ``detected_seconds`` (from the kill to the launcher's error),
        ``survivors_alive`` (party processes still running afterwards: 0),
        ``error_rank`` (the party the error names); artifacts: the error message.
    """
    check_parties(parties)
    victim = validate.integer("victim", victim, low=0, high=parties - 1)
    timeout = validate.positive("timeout", timeout, high=3600)
    after = validate.non_negative("after", after)
    if after >= timeout:
        raise InvalidInput(f"after must be below the timeout ({timeout:g} s), not {after!r}.")
    import psutil

    private = [[0.5] * 64] + [None] * (parties - 1)
    try:
        run_parties(
            "labkit.mpc.faults:long_task",
            private,
            options={"seconds": timeout},
            provider="TFP",
            kill_party=(victim, after),
            timeout=timeout,
        )
    except PartyFailed as exc:
        error = exc
    else:  # pragma: no cover - the victim was killed, the run cannot succeed
        raise LabkitError("the run finished although a party was killed")
    elapsed = error.raised_at - (error.injected_at or error.raised_at)
    alive = [pid for pid in error.pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    result = Result(
        "mpc", "party_crash", params={"parties": parties, "victim": victim, "after": after, "fast": config.fast()}
    )
    result.metrics["detected_seconds"] = elapsed  # from the SIGKILL to the launcher's error
    result.metrics["survivors_alive"] = len(alive)
    result.metrics["error_rank"] = error.rank if error.rank is not None else -1
    result.artifacts["error"] = str(error)
    result.artifacts["error_type"] = type(error).__name__
    return result
