"""MPC parties on separate hosts: two network namespaces joined by a veth link stand in for two machines.

Party 0 runs in one namespace (192.0.2.1), party 1 in another (192.0.2.2);
the addresses come from a documentation range and exist only inside those
namespaces, which the tests create and delete themselves. Each party is
started by its own launcher process in its own namespace with party 0's
address and port only, and holds only its own input. Skipped where
namespaces cannot be created (not root, no ``ip``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from labkit import datasets
from labkit.mpc import hosts, inference, models, rendezvous

PARTY0, PARTY1 = "192.0.2.1", "192.0.2.2"
SUM_VALUES = {0: [1.5, -2.25, 3.0, 1e-3], 1: [0.125, 4.0, -1.0, 2.5e-3]}
N_DIGITS = 20

PARTY = """
import json, sys, time
from labkit.mpc import hosts

what, rank, host, port = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
values = json.loads(sys.argv[5])
start = time.perf_counter()
try:
    if what == "sum":
        out = hosts.join_sum(values[str(rank)], rank=rank, host=host, port=port, timeout=float(sys.argv[6]))
        value = out.value.tolist()
    else:
        X = None
        if rank == 1:  # the data owner loads its samples here, in its own namespace only
            from labkit import datasets
            X = datasets.load("digits").X_test[: values["n"]]
        out = hosts.join_inference("digits_mlp", rank=rank, inputs=X, n=None if rank == 1 else values["n"],
                                   host=host, port=port, timeout=float(sys.argv[6]))
        value = None if out.value is None else out.value.tolist()
    print(json.dumps({"value": value, "interface": out.result.artifacts["interface"],
                      "seconds": time.perf_counter() - start}))
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc), "seconds": time.perf_counter() - start}))
"""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=20)


def _pids(ns: str) -> list[int]:
    return [int(p) for p in _ip("netns", "pids", ns, check=False).stdout.split()]


@pytest.fixture(scope="module")
def two_hosts():
    """Namespaces A (party 0, 192.0.2.1) and B (party 1, 192.0.2.2) with a veth link; deleted afterwards."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("creating network namespaces needs root and iproute2's `ip`")
    tag = f"lk{os.getpid() % 100000}"
    a, b = f"{tag}a", f"{tag}b"
    try:
        _ip("netns", "add", a)
        _ip("netns", "add", b)
        _ip("link", "add", f"{a}0", "type", "veth", "peer", "name", f"{b}0")
        _ip("link", "set", f"{a}0", "netns", a)
        _ip("link", "set", f"{b}0", "netns", b)
        for ns, address in ((a, PARTY0), (b, PARTY1)):
            _ip("-n", ns, "addr", "add", f"{address}/24", "dev", f"{ns}0")
            _ip("-n", ns, "link", "set", f"{ns}0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")
    except (subprocess.CalledProcessError, OSError) as exc:
        for ns in (a, b):
            _ip("netns", "delete", ns, check=False)
        pytest.skip(f"cannot create network namespaces here: {getattr(exc, 'stderr', '') or exc}")
    try:
        yield {"a": a, "b": b}
    finally:
        for ns in (a, b):
            for pid in _pids(ns):  # only processes inside our own namespaces
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            _ip("netns", "delete", ns, check=False)  # the veth pair goes with it


def _start(ns, tmp_path, what, rank, host, port, values, timeout):
    script = tmp_path / "party.py"
    script.write_text(PARTY)
    cmd = [sys.executable, str(script), what, str(rank), host, str(port), json.dumps(values), str(timeout)]
    return subprocess.Popen(["ip", "netns", "exec", ns, *cmd], stdout=subprocess.PIPE, text=True)


def _finish(proc, seconds=120):
    out, _ = proc.communicate(timeout=seconds)
    return json.loads(out.strip().splitlines()[-1])


def _no_process_left(*namespaces):
    deadline = time.time() + 10
    while time.time() < deadline and any(_pids(ns) for ns in namespaces):
        time.sleep(0.2)
    return not any(_pids(ns) for ns in namespaces)


def _across(two_hosts, tmp_path, what, values, timeout=60):
    """Party 0 in namespace A, party 1 in namespace B; each process is given only party 0's address and port."""
    port = 29500 + os.getpid() % 1000
    p0 = _start(two_hosts["a"], tmp_path, what, 0, PARTY0, port, values, timeout)
    p1 = _start(two_hosts["b"], tmp_path, what, 1, PARTY0, port, values, timeout)
    return _finish(p0), _finish(p1)


def test_secure_sum_across_namespaces_equals_loopback(two_hosts, tmp_path):
    start = time.perf_counter()
    a, b = _across(two_hosts, tmp_path, "sum", SUM_VALUES)
    seconds = time.perf_counter() - start
    assert "error" not in a and "error" not in b, (a, b)
    # each launcher found the interface that routes to party 0 by itself
    assert (a["interface"], b["interface"]) == (f"{two_hosts['a']}0", f"{two_hosts['b']}0")
    plain = np.add(SUM_VALUES[0], SUM_VALUES[1])
    across = np.array(b["value"])
    assert a["value"] == b["value"]
    error = float(np.abs(across - plain).max())
    assert error <= 2 * 2.0**-16
    port = rendezvous.free_port()  # the same two launchers on loopback
    loop = [_start_loopback(tmp_path, "sum", r, port, SUM_VALUES) for r in (0, 1)]
    loopback = [_finish(p) for p in loop]
    np.testing.assert_array_equal(across, loopback[1]["value"])  # fixed-point sums are exact: same bits
    assert _no_process_left(two_hosts["a"], two_hosts["b"])
    print(f"secure sum across namespaces: error {error:.2e}, {seconds:.1f} s for both launchers")


def _start_loopback(tmp_path, what, rank, port, values, timeout=60):
    script = tmp_path / "party.py"
    script.write_text(PARTY)
    cmd = [sys.executable, str(script), what, str(rank), "127.0.0.1", str(port), json.dumps(values), str(timeout)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)


def test_private_inference_across_namespaces_agrees_like_loopback(two_hosts, tmp_path):
    X = datasets.load("digits").X_test[:N_DIGITS]
    plain = models.load("digits_mlp").predict(X)
    loopback = inference.private_inference("digits_mlp", X, repeat=0).result.metrics["agreement"]
    owner, data = _across(two_hosts, tmp_path, "inference", {"n": N_DIGITS})
    assert "error" not in owner and "error" not in data, (owner, data)
    assert owner["value"] is None  # only the data owner learns the output
    agreement = float(np.mean(np.array(data["value"]) == plain))
    assert agreement == loopback
    assert agreement >= 0.95
    assert _no_process_left(two_hosts["a"], two_hosts["b"])
    print(f"private inference across namespaces: agreement {agreement} (loopback {loopback})")


@pytest.mark.parametrize(
    "host, within, match",
    [
        ("192.0.2.9", 6.0, "cannot be reached"),  # on the link, but no machine answers (ARP fails)
        ("198.51.100.1", 1.0, "no route"),  # no route from namespace B at all
    ],
)
def test_unreachable_party0_fails_fast_and_clearly(two_hosts, tmp_path, host, within, match):
    proc = _start(two_hosts["b"], tmp_path, "sum", 1, host, 29500, SUM_VALUES, 60)
    out = _finish(proc, 60)
    assert out.get("error") == "RendezvousUnreachable", out
    assert match in out["message"] and host in out["message"]
    assert out["seconds"] < within  # far below the 60 s timeout
    assert _no_process_left(two_hosts["b"])
    print(f"unreachable party 0 at {host}: failed after {out['seconds']:.2f} s")


def test_party0_alone_ends_when_nobody_joins(two_hosts, tmp_path):
    # 20 s: the rendezvous wait must be what ends it, not the launcher's timeout while torch still imports
    # (a party 0 on a loaded machine took more than 5 s to reach the rendezvous)
    proc = _start(two_hosts["a"], tmp_path, "sum", 0, PARTY0, 29400, SUM_VALUES, 20)
    out = _finish(proc, 90)
    assert out.get("error") == "PartyTimeout", out
    assert "did not join party 0's rendezvous" in out["message"]
    assert _no_process_left(two_hosts["a"])


# -- without namespaces -----------------------------------------------------------------------
def test_route_to_loopback_is_the_loopback_interface():
    import psutil

    source, interface = rendezvous.route("127.0.0.1")
    assert source == "127.0.0.1"
    addresses = [a.address for a in psutil.net_if_addrs()[interface]]
    assert "127.0.0.1" in addresses


def test_gloo_interface_follows_the_route_unless_the_user_set_one(monkeypatch):
    monkeypatch.delenv("GLOO_SOCKET_IFNAME", raising=False)
    assert rendezvous.gloo_environment("eth7") == {"GLOO_SOCKET_IFNAME": "eth7"}
    assert rendezvous.gloo_environment(None) == {}
    monkeypatch.setenv("GLOO_SOCKET_IFNAME", "wg0")
    assert rendezvous.gloo_environment("eth7") == {"GLOO_SOCKET_IFNAME": "wg0"}


def test_probe_answers_at_once_when_party0_listens_and_waits_while_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert rendezvous.probe("127.0.0.1", port, deadline=time.time() + 5) is None
    start = time.perf_counter()
    why = rendezvous.probe("127.0.0.1", port, deadline=time.time() + 0.6)
    assert 0.5 < time.perf_counter() - start < 2
    assert "nothing listens on port" in why


def test_join_refuses_bad_ranks_and_inputs():
    from labkit.errors import InvalidInput

    with pytest.raises(InvalidInput, match="rank"):
        hosts.join_sum([1.0], rank=2, host="127.0.0.1", port=29500)
    with pytest.raises(InvalidInput, match="inputs="):
        hosts.join_inference("digits_mlp", rank=1, host="127.0.0.1", port=29500)
    with pytest.raises(InvalidInput, match="only the data owner"):
        hosts.join_inference("digits_mlp", rank=0, inputs=np.zeros((1, 64)), host="127.0.0.1", port=29500)
