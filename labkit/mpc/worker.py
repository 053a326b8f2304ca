"""One CrypTen party: the process :mod:`labkit.mpc.launcher` starts for each rank.

Run as ``python -m labkit.mpc.worker JOBDIR RANK`` with the torch.distributed
variables (``RANK``, ``WORLD_SIZE``, ``RENDEZVOUS``, ``DISTRIBUTED_BACKEND``)
in the environment. It reads the public job description and only its own
private input from JOBDIR, joins the rendezvous, runs the task and writes
what the task returned. Rank ``WORLD_SIZE`` is CrypTen's trusted dealer
(``TTPServer``) when the job uses the "TTP" provider.

A watchdog thread ends the process if the job's deadline passes or the
launcher that started it disappears, so no party outlives its run.

References
----------
Knott et al., "CrypTen: Secure Multi-Party Computation Meets Machine
Learning", NeurIPS 2021 (arXiv:2109.00984).
"""

from __future__ import annotations

import importlib
import os
import pickle
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

EXIT_WATCHDOG = 70


@dataclass
class Party:
    """What a task function sees: its rank, CrypTen, torch and the public options."""

    rank: int
    world_size: int
    crypten: Any
    torch: Any
    options: dict[str, Any] = field(default_factory=dict)
    dealer: dict[str, float] = field(default_factory=lambda: {"rounds": 0, "bytes": 0, "time": 0.0})

    def share(self, value: Any, *, shape: tuple[int, ...], src: int):
        """Secret-share ``value`` held by party ``src``; the others pass None and only know the shape."""
        torch = self.torch
        if self.rank == src:
            tensor = torch.as_tensor(value, dtype=torch.float64 if _is_float64(value) else torch.float32)
            if tuple(tensor.shape) != tuple(shape):
                raise ValueError(f"party {src}'s input has shape {tuple(tensor.shape)}, announced {tuple(shape)}")
        else:
            tensor = torch.zeros(shape)  # a placeholder: only its shape is used, nothing is sent
        return self.crypten.cryptensor(tensor, src=src)

    def comm_stats(self) -> dict[str, float]:
        """This party's communication with the other parties so far: rounds, bytes, seconds.

        CrypTen's counters, minus party 0's requests to the triple dealer, which are
        reported apart as ``dealer_rounds``, ``dealer_bytes`` (offline work in a real deployment).
        """
        total = self.crypten.communicator.get().get_communication_stats()
        stats = {k: total[k] - self.dealer[k] for k in ("rounds", "bytes", "time")}
        stats.update({f"dealer_{k}": v for k, v in self.dealer.items()})
        return stats

    def reset_comm_stats(self) -> None:
        """Zero this party's communication counters (and the dealer tally)."""
        self.crypten.communicator.get().reset_communication_stats()
        self.dealer.update(rounds=0, bytes=0, time=0.0)

    def count_dealer_traffic(self) -> None:
        """Tally party 0's requests to CrypTen's trusted dealer apart from the protocol's own traffic."""
        client = self.crypten.mpc.provider.ttp_provider.TTPClient.get()
        request = client.ttp_request
        communicator = self.crypten.communicator.get()

        def counted(*args, **kwargs):
            before = communicator.get_communication_stats()
            try:
                return request(*args, **kwargs)
            finally:
                after = communicator.get_communication_stats()
                for k in ("rounds", "bytes", "time"):
                    self.dealer[k] += after[k] - before[k]

        client.ttp_request = counted


def _is_float64(value: Any) -> bool:
    return getattr(value, "dtype", None) is not None and str(value.dtype) in ("float64", "torch.float64")


def _launcher_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a pid reused by another user
        return False
    return True


def _watchdog(deadline: float, launcher_pid: int) -> None:
    while True:
        if time.time() > deadline + 5 or not _launcher_alive(launcher_pid):
            os._exit(EXIT_WATCHDOG)
        time.sleep(0.2)


def _bounded_timeouts(dist: Any, seconds: float) -> None:
    """Give the rendezvous and every collective a finite timeout (torch's default is 30 minutes)."""
    td = timedelta(seconds=max(1.0, seconds))
    dist.init_process_group = partial(dist.init_process_group, timeout=td)
    dist.new_group = partial(dist.new_group, timeout=td)


def main(jobdir: str, rank: int) -> int:
    """Run one party of the job in ``jobdir``: join, run the task, write its output; returns the exit code."""
    t0 = time.perf_counter()
    root = Path(jobdir)
    job = pickle.loads((root / "job.pkl").read_bytes())
    threading.Thread(target=_watchdog, args=(job["deadline"], job["launcher_pid"]), daemon=True).start()
    world_size = job["world_size"]
    is_dealer = rank == world_size
    private = None if is_dealer else pickle.loads((root / f"input_{rank}.pkl").read_bytes())

    from labkit.mpc import backend

    crypten = backend.load()
    import torch
    import torch.distributed as dist

    torch.set_num_threads(job["threads"])
    _bounded_timeouts(dist, job["deadline"] - time.time() - 1.5)  # fail here before the launcher's deadline
    crypten.cfg.mpc.provider = job["provider"]
    crypten.cfg.communicator.verbose = True
    if is_dealer:
        crypten.mpc.provider.ttp_provider.TTPServer()  # serves triples until party 0 says "terminate"
        return 0
    crypten.init()
    (root / f"ready_{rank}").touch()
    init_seconds = time.perf_counter() - t0

    module_name, func_name = job["task"].split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    party = Party(rank, world_size, crypten, torch, job["options"])
    if job["provider"] == "TTP" and rank == 0:
        party.count_dealer_traffic()
    t1 = time.perf_counter()
    output = func(party, private)
    task_seconds = time.perf_counter() - t1
    result = {"output": output, "init_seconds": init_seconds, "task_seconds": task_seconds, "comm": party.comm_stats()}
    tmp = root / f"output_{rank}.tmp"
    tmp.write_bytes(pickle.dumps(result))
    tmp.replace(root / f"output_{rank}.pkl")
    crypten.uninit()  # party 0 tells the dealer to stop
    return 0


def run(jobdir: str, rank: int, env: dict[str, str] | None = None) -> None:  # pragma: no cover - party process
    """Entry point of a party process: set its environment, run :func:`main`, record any error, exit."""
    if env is not None:  # started from the fork server: take the launcher's rendezvous settings
        log = os.open(os.path.join(jobdir, f"log_{rank}.txt"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.environ.update(env)
    try:
        code = main(jobdir, rank)
    except BaseException as exc:
        Path(jobdir, f"error_{rank}.txt").write_text(
            "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)) + f"\n{type(exc).__name__}: {exc}"
        )
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip interpreter teardown: gloo threads may still hold sockets


if __name__ == "__main__":  # pragma: no cover - a party started by hand or by another launcher
    run(sys.argv[1], int(sys.argv[2]))
