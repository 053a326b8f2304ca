"""Party processes: started from a fork server that preloaded torch and CrypTen, or as fresh interpreters.

:class:`PartyProcess` puts both kinds behind one interface; every one is
registered as live until :func:`kill_all` reaps it, and the registry kills
leftovers when the interpreter exits abnormally. The fork server lives as
long as this process unless :func:`shutdown` stops it.

References
----------
Python documentation, ``multiprocessing`` ("forkserver" start method,
``set_forkserver_preload``).
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .rendezvous import rendezvous_environment

_LIVE: set[PartyProcess] = set()


class PartyProcess:
    """A party process, started from the fork server or as a fresh interpreter, behind one interface.

    Registered as live until :func:`kill_all` reaps it.
    """

    def __init__(self, handle: Any):
        self.handle = handle
        self.pid: int = handle.pid
        _LIVE.add(self)

    def poll(self) -> int | None:
        """The exit code, or None while it runs (negative: killed by that signal)."""
        if isinstance(self.handle, subprocess.Popen):
            return self.handle.poll()
        return self.handle.exitcode

    def kill(self) -> None:
        """Send SIGKILL if it still runs."""
        if self.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float) -> None:
        """Reap it (up to ``timeout`` seconds)."""
        if isinstance(self.handle, subprocess.Popen):
            self.handle.wait(timeout=timeout)
        else:
            self.handle.join(timeout)


def kill_all(procs: Sequence[PartyProcess]) -> None:
    """Kill and reap ``procs``."""
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
    kill_all(list(_LIVE))


_CONTEXT: Any = None
_PREP_LOCK = threading.Lock()


def _forkserver() -> Any:
    """multiprocessing's fork server, asked to preload torch and CrypTen before it forks any party."""
    global _CONTEXT
    if _CONTEXT is None:
        import multiprocessing

        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["labkit.mpc.preload"])
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


def start_forked(target: Any, args: tuple) -> Any:
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


def start_party(
    jobdir: Path,
    rank: int,
    parties: int,
    address: str,
    port: int,
    threads: int,
    method: str,
    interface: str | None = None,
) -> PartyProcess:
    """Start party ``rank`` of the job in ``jobdir``, registered as live until reaped.

    ``method``: "forkserver" forks it from the fork server; "subprocess" runs
    ``python -m labkit.mpc.worker JOBDIR RANK`` in a new session. ``interface``:
    the network interface gloo uses (the one reaching party 0).
    """
    env = rendezvous_environment(rank, parties, address, port, threads, interface)
    if method == "forkserver":
        from . import worker

        return PartyProcess(start_forked(worker.run, (str(jobdir), rank, env)))
    full_env = {**os.environ, **env}
    root = str(Path(__file__).resolve().parents[2])
    full_env["PYTHONPATH"] = root + (os.pathsep + full_env["PYTHONPATH"] if full_env.get("PYTHONPATH") else "")
    with open(jobdir / f"log_{rank}.txt", "wb") as log:
        return PartyProcess(
            subprocess.Popen(
                [sys.executable, "-m", "labkit.mpc.worker", str(jobdir), str(rank)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=full_env,
                start_new_session=True,  # immune to a terminal's Ctrl-C; the launcher ends it
            )
        )


__all__ = ["PartyProcess", "kill_all", "shutdown", "start_forked", "start_party"]
