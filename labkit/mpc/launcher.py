"""Launch CrypTen parties as separate OS processes and collect what they reveal.

This module prepares a run and gathers the parties' outputs; :mod:`labkit.mpc.rendezvous`
checks where they meet, :mod:`labkit.mpc.processes` starts them and
:mod:`labkit.mpc.supervisor` watches them while they run.

Each party is its own OS process (forked from a fork server that has
imported torch and CrypTen once, or a fresh ``python -m labkit.mpc.worker``)
that joins the others through a torch.distributed rendezvous over TCP (gloo
backend) at ``host:port``: 127.0.0.1 by default. For parties on several
machines, each machine calls :func:`run_parties` with party 0's address, the
same port and its own ``local_ranks`` and private input; nothing else is
configured: each machine finds the network interface that reaches party 0
itself, and a machine without party 0 waits for party 0 to answer before it
starts its parties (an unreachable host is an error at once, not a hang). A
party receives only its own owner's private input (a separate file the other
processes never open) and secret shares it at its source; the parties then
run a task function and return what it reveals.

The launcher never hangs: a party that exits with an error or dies
(e.g. killed) stops the run, the others get a short grace period to notice
and are then killed, and a run that exceeds ``timeout`` is killed as a whole.
Every process it starts is reaped before it returns or raises, and each
party also exits on its own if the launcher disappears.

References
----------
Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine
Learning", NeurIPS 2021 (arXiv:2109.00984).
PyTorch documentation, "Distributed communication package - torch.distributed"
(gloo backend, TCP initialisation).
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import validate
from ..errors import InvalidInput
from .processes import PartyProcess, kill_all, shutdown, start_party
from .rendezvous import RendezvousError, check_rendezvous, free_port, probe, resolve, route
from .supervisor import PartyFailed, PartyTimeout, RendezvousUnreachable, Supervisor

PROVIDERS = ("TTP", "TFP")
START_METHODS = ("forkserver", "subprocess")


@dataclass
class PartyRun:
    """What a run of the parties returned.

    ``outputs[r]`` is what party r's task returned; ``party_info[r]`` holds its
    start-up and task seconds as it measured them; ``pids`` are the processes
    the run started (all exited); ``interface`` is the network interface gloo
    used (the one that reaches party 0).
    """

    outputs: list[Any]
    party_info: list[dict[str, Any]]
    wall_seconds: float
    host: str
    port: int
    provider: str
    pids: list[int] = field(default_factory=list)
    interface: str | None = None

    @property
    def parties(self) -> int:
        """Number of parties in the run (the dealer not counted)."""
        return len(self.outputs)

    @property
    def task_seconds(self) -> float:
        """The slowest party's task time (the protocol's wall time, without process start-up)."""
        return max(info["task_seconds"] for info in self.party_info if info)

    @property
    def startup_seconds(self) -> float:
        """The slowest party's start-up: interpreter, torch and CrypTen import, rendezvous."""
        return max(info["init_seconds"] for info in self.party_info if info)


def check_parties(parties: Any, *, allowed: Sequence[int] = (2, 3)) -> int:
    """A party count: an int in ``allowed`` (bools and floats refused)."""
    value = validate.integer("parties", parties, low=min(allowed), high=max(allowed))
    return validate.choice("parties", value, allowed)


def run_parties(
    task: str,
    private_inputs: Sequence[Any],
    *,
    options: dict[str, Any] | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
    timeout: float = 60.0,
    provider: str = "TTP",
    threads: int = 1,
    local_ranks: Sequence[int] | None = None,
    kill_party: tuple | None = None,
    start_method: str = "forkserver",
) -> PartyRun:
    """Run ``task`` on ``len(private_inputs)`` CrypTen parties, one OS process each.

    Parameters
    ----------
    task : str
        ``"module:function"``; each party calls ``function(party, private)``
        with a :class:`labkit.mpc.worker.Party` and its own private input.
    private_inputs : sequence
        ``private_inputs[r]`` goes to party r only (None for a party without input).
    options : dict, optional
        Public parameters every party receives (shapes, model architecture, flags).
    host, port : str, int
        The rendezvous: party 0's address (a name or an IP address) and port.
        ``port=None`` picks a free port (only when party 0 runs here). On any
        other machine this is all there is to give: the interface that routes
        to ``host`` is found here and handed to gloo (``GLOO_SOCKET_IFNAME``,
        unless already set).
    timeout : float
        Seconds for the whole run, start-up and waiting for party 0 included;
        then every party is killed.
    provider : {"TTP", "TFP"}
        Where Beaver triples come from: "TTP" starts a separate dealer process
        (next to party 0) that never sees the parties' messages; "TFP" lets
        party 0 make them (party 0 then knows every triple: for teaching only).
    threads : int
        torch threads per party (1 keeps parties from fighting over cores).
    local_ranks : sequence of int, optional
        The parties to start on this machine (default: all). Parties on several
        hosts: every host makes the same call with the same ``host`` (party 0's
        address) and ``port``, its own ``local_ranks`` and its own private input.
    kill_party : (rank, seconds) or (rank, seconds, "kill" | "stop"), optional
        Fault injection, that many seconds after the party joined the protocol:
        "kill" sends SIGKILL (a crash), "stop" sends SIGSTOP (a hang).
    start_method : {"forkserver", "subprocess"}
        "forkserver" forks each party from a server process that imported
        torch and CrypTen once (fast after the first run; the server lives as
        long as this process); "subprocess" starts fresh interpreters
        (``python -m labkit.mpc.worker``).

    Returns
    -------
    PartyRun
        ``outputs[r]`` for the local ranks (None for the others).

    Raises
    ------
    InvalidInput, RendezvousError, PartyFailed, PartyTimeout
        :class:`RendezvousUnreachable` (a RendezvousError and a PartyTimeout) when
        party 0's host cannot be reached (at once, before any party starts) or
        does not answer on the port within ``timeout``.
    """
    parties = check_parties(len(private_inputs), allowed=(2, 3, 4, 5))
    validate.choice("provider", provider, PROVIDERS)
    timeout = validate.positive("timeout", timeout, high=3600)
    threads = validate.integer("threads", threads)
    validate.choice("start_method", start_method, START_METHODS)
    if not isinstance(task, str) or ":" not in task:
        raise InvalidInput(f"task must be 'module:function', not {task!r}.")
    local = sorted(set(range(parties) if local_ranks is None else local_ranks))
    if not local or any(not isinstance(r, int) or not 0 <= r < parties for r in local):
        raise InvalidInput(f"local_ranks must be party ranks below {parties}, not {local_ranks!r}.")
    fault = _check_fault(kill_party, local)
    picked = port is None and 0 in local
    for attempt in (1, 2):
        try:
            return _launch(
                task,
                private_inputs,
                options,
                host,
                port,
                timeout,
                provider,
                threads,
                local,
                fault,
                start_method,
                parties,
            )
        except PartyFailed as exc:  # a port picked here was taken by someone else before party 0 bound it
            if not (picked and attempt == 1 and ("EADDRINUSE" in str(exc) or "ddress already in use" in str(exc))):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _launch(
    task, private_inputs, options, host, port, timeout, provider, threads, local, fault, start_method, parties
) -> PartyRun:
    local = list(local)
    started = time.perf_counter()
    deadline = time.time() + timeout
    if 0 in local:
        address, port = check_rendezvous(host, port)
    else:  # party 0 listens elsewhere: resolve its address, never bind it here
        if port is None:
            raise InvalidInput("give the port party 0 listens on when party 0 runs on another host.")
        port = validate.integer("port", port, low=1, high=65535)
        address = resolve(host)
    interface = _interface(address, port, local[0])
    if 0 not in local:  # wait for party 0 before starting anything; an unreachable host fails at once
        why = probe(address, port, deadline=deadline)
        if why is not None:
            raise RendezvousUnreachable(
                f"party {local[0]} could not reach the rendezvous at tcp://{address}:{port} within "
                f"{time.perf_counter() - started:.1f} s: {why}. No party process was started.",
                rank=local[0],
            )
    if 0 in local and provider == "TTP":
        local.append(parties)  # the dealer runs next to party 0

    jobdir = Path(tempfile.mkdtemp(prefix="labkit-mpc-"))  # mode 0700: only this user reads the inputs
    procs: dict[int, PartyProcess] = {}
    try:
        job = {
            "task": task,
            "world_size": parties,
            "provider": provider,
            "threads": threads,
            "deadline": deadline,
            "options": dict(options or {}),
            "launcher_pid": os.getpid(),
        }
        (jobdir / "job.pkl").write_bytes(pickle.dumps(job))
        for rank in local:
            if rank < parties:
                (jobdir / f"input_{rank}.pkl").write_bytes(pickle.dumps(private_inputs[rank]))
        for rank in local:
            procs[rank] = start_party(jobdir, rank, parties, address, port, threads, start_method, interface)
        sup = Supervisor(procs, jobdir, parties, fault, f"tcp://{address}:{port}")
        sup.wait(deadline, timeout)
        outputs: list[Any] = [None] * parties
        info: list[dict[str, Any]] = [{} for _ in range(parties)]
        for rank in local:
            if rank < parties:
                out = pickle.loads((jobdir / f"output_{rank}.pkl").read_bytes())
                outputs[rank] = out.pop("output")
                info[rank] = out
        wall = time.perf_counter() - started
        kill_all(list(procs.values()))  # the dealer exits when party 0 says goodbye; make sure
        return PartyRun(
            outputs=outputs,
            party_info=info,
            wall_seconds=wall,
            host=address,
            port=port,
            provider=provider,
            pids=[p.pid for p in procs.values()],
            interface=interface,
        )
    finally:
        kill_all(list(procs.values()))
        shutil.rmtree(jobdir, ignore_errors=True)


def _interface(address: str, port: int, rank: int) -> str | None:
    """The interface that reaches party 0 (gloo advertises its address); no route is an error."""
    try:
        return route(address)[1]
    except OSError as exc:
        raise RendezvousUnreachable(
            f"party {rank} could not reach the rendezvous at tcp://{address}:{port}: this machine has no route "
            f"to {address} ({exc.strerror or exc}); check party 0's address and this machine's network.",
            rank=rank,
        ) from None


def _check_fault(kill_party: Any, local: list[int]) -> tuple[int, float, str] | None:
    if kill_party is None:
        return None
    try:
        rank, seconds, *rest = kill_party
        how = rest[0] if rest else "kill"
    except (TypeError, ValueError):
        rank, seconds, how = None, None, None
    if rank not in local or not isinstance(seconds, (int, float)) or seconds < 0 or how not in ("kill", "stop"):
        raise InvalidInput(f"kill_party must be (local rank, seconds >= 0[, 'kill' or 'stop']), not {kill_party!r}.")
    return int(rank), float(seconds), how


__all__ = [
    "PROVIDERS",
    "PartyFailed",
    "PartyRun",
    "PartyTimeout",
    "RendezvousError",
    "RendezvousUnreachable",
    "check_parties",
    "check_rendezvous",
    "free_port",
    "run_parties",
    "shutdown",
]
