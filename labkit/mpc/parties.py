"""Launch CrypTen parties as separate OS processes and collect what they reveal.

Each party is a fresh Python process (``python -m labkit.mpc.worker``) that
joins the others through a torch.distributed rendezvous over TCP (gloo
backend) at ``host:port``: 127.0.0.1 by default, another host's address when
the parties run on several machines. A party receives only its own owner's
private input (a separate file the other processes never open) and secret
shares it at its source; the parties then run a task function and return
what it reveals.

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

import atexit
import errno
import ipaddress
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, LabkitError

PROVIDERS = ("TTP", "TFP")
GRACE_SECONDS = 2.0  # after a party fails, how long the others get to notice before they are killed
_POLL = 0.02
_LIVE: set[Any] = set()


class PartyFailed(LabkitError):
    """A party process raised, crashed or was killed; the run was stopped and cleaned up.

    Attributes: ``rank`` (the first party that failed), ``details`` (one line per party),
    ``pids`` (every process the run started, all reaped).
    """

    def __init__(self, message: str, *, rank: int | None = None, details: Sequence[str] = (), pids=()):
        self.rank = rank
        self.details = list(details)
        self.pids = list(pids)
        text = message + ("\n" + "\n".join(self.details) if self.details else "")
        super().__init__(text)


class PartyTimeout(PartyFailed, TimeoutError):
    """The parties did not finish within the timeout; all were killed."""


class RendezvousError(LabkitError):
    """The rendezvous address cannot be used (port in use, unknown host, not reachable)."""


@dataclass
class PartyRun:
    """What a run of the parties returned.

    ``outputs[r]`` is what party r's task returned; ``party_info[r]`` holds its
    start-up and task seconds as it measured them; ``pids`` are the processes
    the run started (all exited).
    """

    outputs: list[Any]
    party_info: list[dict[str, Any]]
    wall_seconds: float
    host: str
    port: int
    provider: str
    pids: list[int] = field(default_factory=list)

    @property
    def parties(self) -> int:
        return len(self.outputs)

    @property
    def task_seconds(self) -> float:
        """The slowest party's task time (the protocol's wall time, without process start-up)."""
        return max(info["task_seconds"] for info in self.party_info)

    @property
    def startup_seconds(self) -> float:
        """The slowest party's start-up: interpreter, torch and CrypTen import, rendezvous."""
        return max(info["init_seconds"] for info in self.party_info)


def check_parties(parties: Any, *, allowed: Sequence[int] = (2, 3)) -> int:
    """Validate a party count (an int in ``allowed``)."""
    if isinstance(parties, bool) or not isinstance(parties, int) or parties not in allowed:
        raise InvalidInput(f"parties must be one of {', '.join(map(str, allowed))}, not {parties!r}.")
    return parties


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def check_rendezvous(host: str, port: int | None) -> tuple[str, int]:
    """Resolve ``host`` and check that rank 0 can listen on ``port`` here.

    Raises RendezvousError with what to change: an unknown host name, an
    address that is not one of this machine's (rank 0 must run on the
    rendezvous host), or a port already in use.
    """
    if not isinstance(host, str) or not host:
        raise InvalidInput(f"host must be a host name or IP address, not {host!r}.")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535):
        raise InvalidInput(f"port must be an int in 1-65535 or None (pick a free one), not {port!r}.")
    try:
        address = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
    except socket.gaierror as exc:
        raise RendezvousError(f"cannot resolve the rendezvous host {host!r} ({exc}); give an IP address.") from None
    if port is None:
        try:
            return address, free_port(address)
        except OSError as exc:
            raise RendezvousError(_bind_message(host, 0, exc)) from None
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((address, port))
        except OSError as exc:
            raise RendezvousError(_bind_message(host, port, exc)) from None
    return address, port


def _bind_message(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is already in use; pass another port, or port=None to pick a free one."
    if exc.errno == errno.EADDRNOTAVAIL:
        return (
            f"{host} is not an address of this machine, so party 0 cannot host the rendezvous here; "
            "run party 0 on that host, or use host='127.0.0.1' for a local run."
        )
    return f"cannot listen on {host}:{port} for the rendezvous: {exc}."


def _tail(path: Path, lines: int = 6) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:] if line.strip())


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "still running (killed by the launcher)"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


def _kill(procs: Sequence[_Proc]) -> None:
    for p in procs:
        p.kill()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL is not ignorable
            pass
        _LIVE.discard(p)


@atexit.register
def _kill_leftovers() -> None:  # pragma: no cover - only on abnormal interpreter exit
    _kill(list(_LIVE))


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
    kill_party: tuple[int, float] | None = None,
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
        The rendezvous (party 0 listens there). ``port=None`` picks a free port.
    timeout : float
        Seconds for the whole run, start-up included; then every party is killed.
    provider : {"TTP", "TFP"}
        Where Beaver triples come from: "TTP" starts a separate dealer process
        that never sees the parties' messages; "TFP" lets party 0 make them
        (party 0 then knows every triple: for teaching only).
    threads : int
        torch threads per party (1 keeps parties from fighting over cores).
    kill_party : (rank, seconds), optional
        Fault injection: SIGKILL that party this many seconds after it joined the protocol.
    start_method : {"forkserver", "subprocess"}
        "forkserver" forks each party from a server process that imported
        torch and CrypTen once (fast after the first run; the server lives as
        long as this process); "subprocess" starts fresh interpreters
        (``python -m labkit.mpc.worker``, the same command a party on
        another host runs).

    Returns
    -------
    PartyRun

    Raises
    ------
    InvalidInput, RendezvousError, PartyFailed, PartyTimeout
    """
    parties = check_parties(len(private_inputs), allowed=(2, 3, 4, 5))
    if provider not in PROVIDERS:
        raise InvalidInput(f"provider must be one of {PROVIDERS}, not {provider!r}.")
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= 3600:
        raise InvalidInput(f"timeout must be a number of seconds in (0, 3600], not {timeout!r}.")
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise InvalidInput(f"threads must be a positive integer, not {threads!r}.")
    if start_method not in ("forkserver", "subprocess"):
        raise InvalidInput(f"start_method must be 'forkserver' or 'subprocess', not {start_method!r}.")
    if not isinstance(task, str) or ":" not in task:
        raise InvalidInput(f"task must be 'module:function', not {task!r}.")
    if kill_party is not None and not (0 <= kill_party[0] < parties and kill_party[1] >= 0):
        raise InvalidInput(f"kill_party must be (rank < {parties}, seconds >= 0), not {kill_party!r}.")
    address, port = check_rendezvous(host, port)

    jobdir = Path(tempfile.mkdtemp(prefix="labkit-mpc-"))  # mode 0700: only this user reads the inputs
    started = time.perf_counter()
    deadline = time.time() + timeout
    procs: list[_Proc] = []
    try:
        job = {"task": task, "world_size": parties, "provider": provider, "threads": threads,
               "deadline": deadline, "options": dict(options or {}), "launcher_pid": os.getpid()}  # fmt: skip
        (jobdir / "job.pkl").write_bytes(pickle.dumps(job))
        for rank, private in enumerate(private_inputs):
            (jobdir / f"input_{rank}.pkl").write_bytes(pickle.dumps(private))
        ranks = list(range(parties + (provider == "TTP")))  # the dealer is rank `parties`
        for rank in ranks:
            procs.append(_start(jobdir, rank, parties, address, port, threads, start_method))
        return _supervise(procs, jobdir, parties, deadline, timeout, kill_party, started, address, port, provider)
    finally:
        _kill(procs)
        shutil.rmtree(jobdir, ignore_errors=True)


class _Proc:
    """A party process, started from the fork server or as a fresh interpreter, behind one interface."""

    def __init__(self, handle: Any):
        self.handle = handle
        self.pid: int = handle.pid

    def poll(self) -> int | None:
        if isinstance(self.handle, subprocess.Popen):
            return self.handle.poll()
        return self.handle.exitcode

    def kill(self) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float) -> None:
        if isinstance(self.handle, subprocess.Popen):
            self.handle.wait(timeout=timeout)
        else:
            self.handle.join(timeout)


_CONTEXT: Any = None


def _forkserver() -> Any:
    """multiprocessing's fork server, asked to preload torch and CrypTen before it forks any party."""
    global _CONTEXT
    if _CONTEXT is None:
        import multiprocessing

        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["labkit.mpc._preload"])
        _CONTEXT = ctx
    return _CONTEXT


def _start(jobdir: Path, rank: int, parties: int, address: str, port: int, threads: int, method: str) -> _Proc:
    env = {
        "RANK": str(rank), "WORLD_SIZE": str(parties), "DISTRIBUTED_BACKEND": "gloo",
        "RENDEZVOUS": f"tcp://{address}:{port}", "OMP_NUM_THREADS": str(threads),
        "PYTHONUNBUFFERED": "1",
    }  # fmt: skip
    if _is_loopback(address):
        env["GLOO_SOCKET_IFNAME"] = os.environ.get("GLOO_SOCKET_IFNAME", "lo")
    if method == "forkserver":
        from . import worker

        handle = _forkserver().Process(target=worker.run, args=(str(jobdir), rank, env), daemon=False)
        handle.start()
        proc = _Proc(handle)
    else:
        full_env = {**os.environ, **env}
        root = str(Path(__file__).resolve().parents[2])
        full_env["PYTHONPATH"] = root + (os.pathsep + full_env["PYTHONPATH"] if full_env.get("PYTHONPATH") else "")
        with open(jobdir / f"log_{rank}.txt", "wb") as log:
            proc = _Proc(subprocess.Popen(
                [sys.executable, "-m", "labkit.mpc.worker", str(jobdir), str(rank)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=full_env,
                start_new_session=True,  # immune to a terminal's Ctrl-C; the launcher ends it
            ))  # fmt: skip
    _LIVE.add(proc)
    return proc


def _supervise(procs, jobdir, parties, deadline, timeout, kill_party, started, address, port, provider) -> PartyRun:
    kill_at: float | None = None
    first_failure: int | None = None
    grace_end: float | None = None
    while True:
        now = time.time()
        codes = [p.poll() for p in procs]
        if kill_party is not None and kill_at is None and (jobdir / f"ready_{kill_party[0]}").exists():
            kill_at = now + kill_party[1]
        if kill_at is not None and now >= kill_at and codes[kill_party[0]] is None:
            procs[kill_party[0]].kill()
            procs[kill_party[0]].wait(timeout=10)
            continue
        if first_failure is None:
            failed = [r for r, c in enumerate(codes) if c not in (None, 0)]
            if failed:
                first_failure = failed[0]
                grace_end = now + GRACE_SECONDS
        if all(c == 0 for c in codes[:parties]) and first_failure is None:
            break
        if first_failure is not None and (now >= grace_end or all(c is not None for c in codes)):
            _kill(procs)
            raise PartyFailed(
                f"party {_name(first_failure, parties)} {_describe_exit(codes[first_failure])}; "
                "the run was stopped and every party process was ended.",
                rank=first_failure, details=_details(procs, codes, jobdir, parties), pids=[p.pid for p in procs],
            )  # fmt: skip
        if now >= deadline:
            _kill(procs)
            raise PartyTimeout(
                f"the parties did not finish within {timeout:g} s (rendezvous tcp://{address}:{port}); "
                "all were killed. A party may be unreachable or stuck; raise timeout for bigger workloads.",
                details=_details(procs, codes, jobdir, parties), pids=[p.pid for p in procs],
            )  # fmt: skip
        time.sleep(_POLL)
    wall = time.perf_counter() - started
    results = [pickle.loads((jobdir / f"output_{r}.pkl").read_bytes()) for r in range(parties)]
    _kill(procs)  # the dealer, if any, exits once party 0 says goodbye; make sure
    return PartyRun(
        outputs=[r["output"] for r in results],
        party_info=[{k: v for k, v in r.items() if k != "output"} for r in results],
        wall_seconds=wall, host=address, port=port, provider=provider, pids=[p.pid for p in procs],
    )  # fmt: skip


def _name(rank: int, parties: int) -> str:
    return f"{rank} (the triple dealer)" if rank == parties else str(rank)


def _details(procs, codes, jobdir: Path, parties: int) -> list[str]:
    lines = []
    for rank, code in enumerate(codes):
        error = _tail(jobdir / f"error_{rank}.txt", 2) or _tail(jobdir / f"log_{rank}.txt", 2)
        lines.append(f"  party {_name(rank, parties)}: {_describe_exit(code)}" + (f": {error}" if error else ""))
    return lines


__all__ = [
    "PROVIDERS",
    "PartyFailed",
    "PartyRun",
    "PartyTimeout",
    "RendezvousError",
    "check_parties",
    "check_rendezvous",
    "free_port",
    "run_parties",
]
