"""Faults: crashes, hangs and bad rendezvous end in clear errors, never hangs or leftovers."""

import socket
import threading
import time

import psutil
import pytest

from labkit.errors import InvalidInput
from labkit.mpc import faults, launcher, rendezvous
from labkit.mpc.supervisor import PartyFailed, PartyTimeout, RendezvousUnreachable

SMOKE = "labkit.mpc.smoke:smoke_task"


def _gone(pids):
    return all(not psutil.pid_exists(p) or psutil.Process(p).status() == psutil.STATUS_ZOMBIE for p in pids)


@pytest.mark.parametrize("n, victim", [(2, 1), (3, 0)])
def test_killed_party_surfaces_within_30s_and_nothing_is_left(n, victim):
    start = time.perf_counter()
    result = faults.party_crash(parties=n, victim=victim, after=0.2, timeout=30)
    assert time.perf_counter() - start < 30
    assert result.metrics["detected_seconds"] < 5
    assert result.metrics["survivors_alive"] == 0
    assert result.metrics["error_rank"] == victim
    assert "SIGKILL" in result.artifacts["error"]


def test_hung_party_times_out_and_is_killed():
    with pytest.raises(PartyTimeout, match="did not finish within 3") as info:
        launcher.run_parties(
            "labkit.mpc.faults:long_task",
            [[0.5] * 64, None],
            options={"seconds": 30},
            provider="TFP",
            kill_party=(1, 0.1, "stop"),
            timeout=3,
        )
    assert _gone(info.value.pids)


def test_port_in_use_is_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(rendezvous.RendezvousError, match="already in use"):
            launcher.run_parties(SMOKE, [[1.0, 2.0], [3.0, 4.0]], port=port)


@pytest.mark.parametrize(
    "host, match", [("203.0.113.7", "not an address of this machine"), ("no-such-host.invalid", "cannot resolve")]
)
def test_bad_rendezvous_host_is_a_clear_error(host, match):
    with pytest.raises(rendezvous.RendezvousError, match=match):
        launcher.run_parties(SMOKE, [[1.0, 2.0], [3.0, 4.0]], host=host)


def test_unreachable_rendezvous_is_a_clear_error():
    port = rendezvous.free_port()  # nobody listens there
    with pytest.raises(RendezvousUnreachable, match="could not reach the rendezvous") as info:
        launcher.run_parties(SMOKE, [None, [3.0, 4.0]], port=port, local_ranks=[1], timeout=3)
    assert _gone(info.value.pids)


def test_parties_split_across_two_launchers_like_two_hosts():
    port = rendezvous.free_port()
    runs = {}

    def host(rank, private):
        runs[rank] = launcher.run_parties(SMOKE, private, port=port, local_ranks=[rank], provider="TTP", timeout=30)

    threads = [
        threading.Thread(target=host, args=(0, [[1.5, 2.5], None])),
        threading.Thread(target=host, args=(1, [None, [3.0, 4.0]])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(40)
    assert runs[0].outputs == [pytest.approx(11.0, abs=1e-3), None]
    assert runs[1].outputs == [None, pytest.approx(11.0, abs=1e-3)]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"timeout": 0}, "timeout"),
        ({"provider": "HE"}, "provider"),
        ({"threads": 0}, "threads"),
        ({"kill_party": (5, 0.1)}, "kill_party"),
        ({"local_ranks": [2]}, "local_ranks"),
        ({"port": 70000}, "port"),
        ({"start_method": "spawn"}, "start_method"),
    ],
)
def test_launcher_refuses_bad_arguments(kwargs, match):
    with pytest.raises(InvalidInput, match=match):
        launcher.run_parties(SMOKE, [[1.0, 2.0], [3.0, 4.0]], **kwargs)


def test_a_failing_task_reports_its_error():
    with pytest.raises(PartyFailed, match="exited with code 1") as info:
        launcher.run_parties("labkit.mpc.smoke:no_such_task", [[1.0], [2.0]], provider="TFP", timeout=20)
    assert "AttributeError" in str(info.value)
    assert _gone(info.value.pids)


def test_a_picked_port_taken_in_the_meantime_is_retried(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        real = launcher.check_rendezvous
        calls = []

        def racy(host, port):
            calls.append(port)
            return ("127.0.0.1", taken) if len(calls) == 1 else real(host, port)

        monkeypatch.setattr(launcher, "check_rendezvous", racy)
        run = launcher.run_parties(SMOKE, [[1.5, 2.5], [3.0, 4.0]], provider="TFP", timeout=30)
    assert run.outputs == [pytest.approx(11.0, abs=1e-3)] * 2
    assert len(calls) == 2 and run.port != taken


LAUNCHER = """
import sys, threading, time, psutil
from labkit.mpc import launcher

def report():
    me, stop = psutil.Process(), time.time() + float(sys.argv[1])
    while len(me.children(recursive=True)) < 5 and time.time() < stop:  # server, tracker, 2 parties, dealer
        time.sleep(0.2)
    time.sleep(0.5)
    print(" ".join(str(p.pid) for p in me.children(recursive=True)), flush=True)

threading.Thread(target=report, daemon=True).start()
launcher.run_parties("labkit.mpc.faults:long_task", [[0.5] * 64, None], options={"seconds": 60},
                    provider="TTP", timeout=120)
"""


@pytest.mark.slow  # boots a fork server in a fresh interpreter
def test_parties_exit_when_their_launcher_is_killed(tmp_path):
    import os
    import signal
    import subprocess
    import sys

    script = tmp_path / "launcher.py"
    script.write_text(LAUNCHER)
    proc = subprocess.Popen([sys.executable, str(script), "40"], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) >= 5  # fork server, resource tracker, two parties, dealer
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        deadline = time.time() + 10
        while time.time() < deadline and not _gone(pids):
            time.sleep(0.2)
        assert _gone(pids), [p for p in pids if psutil.pid_exists(p)]
    finally:
        if proc.poll() is None:
            proc.kill()
