"""Watch the party processes of one run: all succeed, one fails, or the deadline passes.

A party that exits with an error or dies (e.g. killed) stops the run: the
others get :data:`GRACE_SECONDS` to notice and are then killed, and a run that
exceeds its deadline is killed as a whole. Every process is reaped before the
error is raised (:class:`PartyFailed`, :class:`PartyTimeout`,
:class:`RendezvousUnreachable`).

References
----------
PyTorch documentation, "Distributed communication package" (gloo: a peer's
closed connection fails pending send/recv; timeouts bound the rest).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import LabkitError
from .processes import PartyProcess, kill_all
from .rendezvous import RendezvousError

GRACE_SECONDS = 2.0  # after a party fails, how long the others get to notice before they are killed
POLL_SECONDS = 0.02


class PartyFailed(LabkitError):
    """A party process raised, crashed or was killed; the run was stopped and cleaned up.

    Attributes: ``rank`` (the first party that failed), ``details`` (one line per party),
    ``pids`` (every process the run started, all reaped), ``injected_at`` and
    ``raised_at`` (``perf_counter()`` of an injected fault and of the error).
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


class RendezvousUnreachable(RendezvousError, PartyTimeout):
    """A party could not connect to party 0's rendezvous in time; the local parties were ended."""


def describe_exit(code: int | None) -> str:
    """An exit code in words ("killed by SIGKILL", "exited with code 1")."""
    if code is None:
        return "still running (killed by the launcher)"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


def party_name(rank: int, parties: int) -> str:
    """A rank as the messages name it (rank ``parties`` is the triple dealer)."""
    return f"{rank} (the triple dealer)" if rank == parties else str(rank)


def _tail(path: Path, lines: int = 6) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:] if line.strip())


class Supervisor:
    """Polls the local party processes until all succeed, one fails, or the deadline passes.

    Parameters
    ----------
    procs : dict
        Rank to :class:`PartyProcess` (the dealer, when local, has rank ``parties``).
    jobdir : Path
        The run's folder: parties write ``ready_R``, ``error_R.txt`` and ``log_R.txt`` there.
    parties : int
        Number of parties (the dealer not counted).
    fault : (rank, seconds, "kill" | "stop") or None
        Fault injection, that many seconds after the party joined the protocol.
    rendezvous : str
        The rendezvous URL, for messages.
    """

    def __init__(self, procs: dict[int, PartyProcess], jobdir: Path, parties: int, fault, rendezvous: str):
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
        """Return when every party exited cleanly; raise (after killing them all) otherwise."""
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
                kill_all(list(self.procs.values()))
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
            time.sleep(POLL_SECONDS)

    def _fail(self, rank: int, codes: dict[int, int | None]) -> None:
        kill_all(list(self.procs.values()))
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
        if "waiting for clients" in text and 0 in self.procs:  # party 0's store: the others never joined
            raise PartyTimeout(
                f"the other parties did not join party 0's rendezvous at {self.rendezvous} in time: start them "
                "with that address and port (host=, port=), and check that they can reach this machine. "
                "Every local party was ended.",
                rank=0,
                details=details,
                pids=self._pids(),
                injected_at=self.injected_at,
            )
        raise PartyFailed(
            f"party {party_name(rank, self.parties)} {describe_exit(codes[rank])}; "
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
            text = f"  party {party_name(rank, self.parties)}: {describe_exit(code)}"
            lines.append(text + (f": {error}" if error else ""))
        return lines


__all__ = [
    "GRACE_SECONDS",
    "PartyFailed",
    "PartyTimeout",
    "RendezvousUnreachable",
    "Supervisor",
    "describe_exit",
    "party_name",
]
