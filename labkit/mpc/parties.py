"""Launch CrypTen parties as separate OS processes and collect what they reveal.

Each party is its own OS process (forked from a fork server that has
imported torch and CrypTen once, or a fresh ``python -m labkit.mpc.worker``)
that joins the others through a torch.distributed rendezvous over TCP (gloo
backend) at ``host:port``: 127.0.0.1 by default. For parties on several
machines, each machine calls :func:`run_parties` with party 0's address, the
same port and its own ``local_ranks`` and private input. A party receives only its own owner's
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
import threading
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

    def __init__(
        self,
        message: str,
        *,
        rank: int | None = None,
        details: Sequence[str] = (),
        pids=(),
        injected_at: float | None = None,
    ):
        self.rank = rank
        self.details = list(details)
        self.pids = list(pids)
        self.injected_at = injected_at  # perf_counter() of an injected kill, if any
        self.raised_at = time.perf_counter()
        text = message + ("\n" + "\n".join(self.details) if self.details else "")
        super().__init__(text)


class PartyTimeout(PartyFailed, TimeoutError):
    """The parties did not finish within the timeout; all were killed."""


class RendezvousError(LabkitError):
    """The rendezvous address cannot be used (port in use, unknown host, not this machine's)."""


class RendezvousUnreachable(RendezvousError, PartyTimeout):
    """A party could not connect to party 0's rendezvous in time; the local parties were ended."""


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
        return max(info["task_seconds"] for info in self.party_info if info)

    @property
    def startup_seconds(self) -> float:
        """The slowest party's start-up: interpreter, torch and CrypTen import, rendezvous."""
        return max(info["init_seconds"] for info in self.party_info if info)


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
        The rendezvous (party 0 listens there). ``port=None`` picks a free port
        (only when party 0 runs here).
    timeout : float
        Seconds for the whole run, start-up included; then every party is killed.
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
    if 0 in local:
        address, port = check_rendezvous(host, port)
    else:  # party 0 listens elsewhere: only resolve its address
        if port is None:
            raise InvalidInput("give the port party 0 listens on when party 0 runs on another host.")
        address, _ = check_rendezvous(host, None)
    if 0 in local and provider == "TTP":
        local.append(parties)  # the dealer runs next to party 0

    jobdir = Path(tempfile.mkdtemp(prefix="labkit-mpc-"))  # mode 0700: only this user reads the inputs
    started = time.perf_counter()
    deadline = time.time() + timeout
    procs: dict[int, _Proc] = {}
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
            procs[rank] = _start(jobdir, rank, parties, address, port, threads, start_method)
        sup = _Supervisor(procs, jobdir, parties, fault, f"tcp://{address}:{port}")
        sup.wait(deadline, timeout)
        outputs: list[Any] = [None] * parties
        info: list[dict[str, Any]] = [{} for _ in range(parties)]
        for rank in local:
            if rank < parties:
                out = pickle.loads((jobdir / f"output_{rank}.pkl").read_bytes())
                outputs[rank] = out.pop("output")
                info[rank] = out
        wall = time.perf_counter() - started
        _kill(list(procs.values()))  # the dealer exits when party 0 says goodbye; make sure
        return PartyRun(
            outputs=outputs,
            party_info=info,
            wall_seconds=wall,
            host=address,
            port=port,
            provider=provider,
            pids=[p.pid for p in procs.values()],
        )
    finally:
        _kill(list(procs.values()))
        shutil.rmtree(jobdir, ignore_errors=True)


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
_PREP_LOCK = threading.Lock()


def _forkserver() -> Any:
    """multiprocessing's fork server, asked to preload torch and CrypTen before it forks any party."""
    global _CONTEXT
    if _CONTEXT is None:
        import multiprocessing

        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["labkit.mpc._preload"])
        _CONTEXT = ctx
    return _CONTEXT


def shutdown() -> bool:
    """Stop the party fork server (it otherwise lives as long as this process); True if one was stopped.

    The next run starts a new one. Uses multiprocessing's private ``_stop``; where that
    is missing, nothing is stopped and False is returned.
    """
    global _CONTEXT
    if _CONTEXT is None:
        return False
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    stop = getattr(server, "_stop", None)
    if stop is None or getattr(server, "_forkserver_pid", None) is None:
        return False
    stop()
    _CONTEXT = None
    return True


def _start_forked(target: Any, args: tuple) -> Any:
    """Start ``target(*args)`` from the fork server without re-running the caller's ``__main__``.

    A forkserver child normally re-imports the launching script as ``__mp_main__``
    (an unguarded script would then run again inside every party). Parties need
    nothing from ``__main__``, so the main-module entries are dropped from the
    preparation data handed to the child.
    """
    from multiprocessing import spawn

    ctx = _forkserver()
    process = ctx.Process(target=target, args=args, daemon=False)
    with _PREP_LOCK:
        original = spawn.get_preparation_data

        def without_main(name: str) -> dict:
            data = original(name)
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
            return data

        spawn.get_preparation_data = without_main
        try:
            process.start()
        finally:
            spawn.get_preparation_data = original
    return process


def _start(jobdir: Path, rank: int, parties: int, address: str, port: int, threads: int, method: str) -> _Proc:
    env = {
        "RANK": str(rank),
        "WORLD_SIZE": str(parties),
        "DISTRIBUTED_BACKEND": "gloo",
        "RENDEZVOUS": f"tcp://{address}:{port}",
        "OMP_NUM_THREADS": str(threads),
        "PYTHONUNBUFFERED": "1",
    }
    if _is_loopback(address):  # keep gloo's traffic on the loopback interface ("lo" on Linux, "lo0" elsewhere)
        env["GLOO_SOCKET_IFNAME"] = os.environ.get("GLOO_SOCKET_IFNAME", "lo" if sys.platform == "linux" else "lo0")
    if method == "forkserver":
        from . import worker

        proc = _Proc(_start_forked(worker.run, (str(jobdir), rank, env)))
    else:
        full_env = {**os.environ, **env}
        root = str(Path(__file__).resolve().parents[2])
        full_env["PYTHONPATH"] = root + (os.pathsep + full_env["PYTHONPATH"] if full_env.get("PYTHONPATH") else "")
        with open(jobdir / f"log_{rank}.txt", "wb") as log:
            proc = _Proc(
                subprocess.Popen(
                    [sys.executable, "-m", "labkit.mpc.worker", str(jobdir), str(rank)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=full_env,
                    start_new_session=True,  # immune to a terminal's Ctrl-C; the launcher ends it
                )
            )
    _LIVE.add(proc)
    return proc


class _Supervisor:
    """Polls the local party processes until all succeed, one fails, or the deadline passes."""

    def __init__(self, procs: dict[int, _Proc], jobdir: Path, parties: int, fault, rendezvous: str):
        self.procs, self.jobdir, self.parties = procs, jobdir, parties
        self.fault, self.rendezvous = fault, rendezvous
        self.injected_at: float | None = None

    def _inject(self, now: float, codes: dict[int, int | None], state: dict) -> None:
        rank, seconds, how = self.fault
        if state.get("at") is None and (self.jobdir / f"ready_{rank}").exists():
            state["at"] = now + seconds
        if state.get("at") is not None and now >= state["at"] and not state.get("done") and codes[rank] is None:
            os.kill(self.procs[rank].pid, signal.SIGSTOP if how == "stop" else signal.SIGKILL)
            self.injected_at = time.perf_counter()
            state["done"] = True

    def wait(self, deadline: float, timeout: float) -> None:
        first_failure: int | None = None
        grace_end = 0.0
        fault_state: dict[str, Any] = {}
        while True:
            now = time.time()
            codes = {r: p.poll() for r, p in self.procs.items()}
            if self.fault is not None:
                self._inject(now, codes, fault_state)
            if first_failure is None:
                # a party killed by a signal is the cause; the others' errors are how they noticed
                failed = sorted((r for r, c in codes.items() if c not in (None, 0)), key=lambda r: codes[r] > 0)
                if failed:
                    first_failure, grace_end = failed[0], now + GRACE_SECONDS
                elif all(c == 0 for r, c in codes.items() if r < self.parties):
                    return
            if first_failure is not None and (now >= grace_end or all(c is not None for c in codes.values())):
                self._fail(first_failure, codes)
            if now >= deadline:
                _kill(list(self.procs.values()))
                absent = [r for r in self.procs if not (self.jobdir / f"ready_{r}").exists() and r < self.parties]
                if absent and 0 not in self.procs:  # party 0 is remote and never answered
                    raise RendezvousUnreachable(
                        f"party {absent[0]} could not reach the rendezvous at {self.rendezvous} within {timeout:g} s: "
                        "is party 0 running there, and is the port reachable? Every local party was ended.",
                        rank=absent[0],
                        details=self._details(codes),
                        pids=self._pids(),
                        injected_at=self.injected_at,
                    )
                raise PartyTimeout(
                    f"the parties did not finish within {timeout:g} s (rendezvous {self.rendezvous}); all were "
                    "killed. A party may be stuck or unreachable; raise timeout for bigger workloads.",
                    details=self._details(codes),
                    pids=self._pids(),
                    injected_at=self.injected_at,
                )
            time.sleep(_POLL)

    def _fail(self, rank: int, codes: dict[int, int | None]) -> None:
        _kill(list(self.procs.values()))
        details = self._details(codes)
        text = " ".join(details)
        if "trying to connect to" in text or ("Connection refused" in text and codes.get(0) is None):
            raise RendezvousUnreachable(
                f"party {rank} could not reach the rendezvous at {self.rendezvous}: is party 0 running there, "
                "and is the port open? Every local party was ended.",
                rank=rank,
                details=details,
                pids=self._pids(),
                injected_at=self.injected_at,
            )
        raise PartyFailed(
            f"party {_name(rank, self.parties)} {_describe_exit(codes[rank])}; "
            "the run was stopped and every party process was ended.",
            rank=rank,
            details=details,
            pids=self._pids(),
            injected_at=self.injected_at,
        )

    def _pids(self) -> list[int]:
        return [p.pid for p in self.procs.values()]

    def _details(self, codes: dict[int, int | None]) -> list[str]:
        lines = []
        for rank, code in codes.items():
            error = _tail(self.jobdir / f"error_{rank}.txt", 1)
            if not error and code is not None and code > 0:
                error = _tail(self.jobdir / f"log_{rank}.txt", 2)
            text = f"  party {_name(rank, self.parties)}: {_describe_exit(code)}"
            lines.append(text + (f": {error}" if error else ""))
        return lines


def _name(rank: int, parties: int) -> str:
    return f"{rank} (the triple dealer)" if rank == parties else str(rank)


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
