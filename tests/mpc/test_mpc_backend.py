"""The CrypTen backend and the smoke check: import on torch 2.x, a real 2-party add, cleanup, light imports."""

import subprocess
import sys
import time

import psutil
import pytest

from labkit.errors import InvalidInput
from labkit.mpc import backend, launcher, smoke
from labkit.mpc.supervisor import PartyTimeout


def test_import_labkit_mpc_is_light():
    code = (
        "import sys, labkit, labkit.mpc, labkit.mpc.launcher, labkit.mpc.smoke, labkit.mpc.technique; "
        "heavy = [m for m in ('torch', 'crypten', 'tenseal', 'openfhe', 'ezkl') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_load_is_idempotent_and_works():
    crypten = backend.load()
    assert backend.load() is crypten
    assert crypten.__version__ == "0.4.1"
    assert hasattr(crypten, "cryptensor") and hasattr(crypten.nn, "Linear")


def test_load_from_threads_returns_one_module():
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        mods = list(pool.map(lambda _: backend.load(), range(8)))
    assert all(m is mods[0] for m in mods)


@pytest.mark.parametrize("n", [2, 3])
def test_smoke_add_decrypts_the_sum(n):
    assert smoke.smoke_add(n) == pytest.approx(smoke.SMOKE_EXPECTED, abs=1e-3)


def test_smoke_add_is_fast_once_warm():
    smoke.smoke_add()
    start = time.perf_counter()
    assert smoke.smoke_add() == pytest.approx(11.0, abs=1e-3)
    assert time.perf_counter() - start < 5.0  # typically 0.2-0.6 s once the fork server is up


def test_smoke_add_leaves_no_party_behind():
    run = launcher.run_parties(
        "labkit.mpc.smoke:smoke_task", [list(smoke.SMOKE_A), list(smoke.SMOKE_B)], provider="TTP"
    )
    assert run.outputs == [pytest.approx(11.0, abs=1e-3)] * 2
    assert len(run.pids) == 3  # two parties and the triple dealer
    for pid in run.pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


@pytest.mark.slow  # starts fresh interpreters: ~3 s each on a loaded machine
def test_smoke_add_fresh_interpreters_agree():
    run = launcher.run_parties(
        "labkit.mpc.smoke:smoke_task", [[1.5, 2.5], [3.0, 4.0]], provider="TFP", start_method="subprocess"
    )
    assert run.outputs == [pytest.approx(11.0, abs=1e-3)] * 2
    assert all(not psutil.pid_exists(pid) for pid in run.pids)


@pytest.mark.parametrize("bad", [1, 4, "2", 2.0, True])
def test_smoke_add_rejects_bad_party_counts(bad):
    with pytest.raises(InvalidInput, match="parties must be"):
        smoke.smoke_add(bad)


def test_smoke_add_times_out_cleanly():
    with pytest.raises(PartyTimeout, match="did not finish within") as info:
        smoke.smoke_add(timeout=0.05)
    assert all(not psutil.pid_exists(pid) for pid in info.value.pids)


def test_fork_server_can_be_shut_down_and_restarted():
    from multiprocessing import forkserver

    smoke.smoke_add()
    pid = forkserver._forkserver._forkserver_pid
    assert pid is not None and psutil.pid_exists(pid)
    assert launcher.shutdown() is True
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert launcher.shutdown() is False
    assert smoke.smoke_add() == pytest.approx(11.0, abs=1e-3)  # a new server starts on demand
