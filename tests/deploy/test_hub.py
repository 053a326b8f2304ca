"""The one-server hub recipe, for real: JupyterHub and its proxy on loopback, three trainees, three servers.

The test makes three trainee accounts with the recipe's own command (generated
passwords, private homes), starts ``deploy/hub/jupyterhub_config.py`` as it is
(PAM logins, one server per trainee in a memory cgroup), logs each trainee in
through the hub's REST API, starts their servers, runs notebook 08's code in
each through the kernel API (fast mode), and checks that each ResultStore is the
trainee's own, that no trainee can read another's home, that the memory limit
is set, and that no token reaches the hub's log or the homes. It stops
everything it started and deletes the accounts. Timings and peak memory go to
``build/hub_report.json``.

Skipped with the reason where JupyterHub, configurable-http-proxy (``make
hub-deps``), root, PAM or a memory cgroup is missing.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from uuid import uuid4

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
HUB = ROOT / "deploy" / "hub"
BIN = Path(sys.executable).parent
NOTEBOOK = "08_pqc_handshakes.py"
REPORT = ROOT / "build" / "hub_report.json"
sys.path.insert(0, str(HUB))
import labhub  # noqa: E402

CHECK = """
import json, os, pwd
from labkit import config
from labkit.results import ResultStore
me = pwd.getpwuid(os.getuid()).pw_name
cg = next(l.split(":", 2)[2] for l in open("/proc/self/cgroup").read().splitlines() if ":memory:" in l or l.startswith("0::"))
limit = None
for f in ("/sys/fs/cgroup/memory" + cg + "/memory.limit_in_bytes", "/sys/fs/cgroup" + cg + "/memory.max"):
    if os.path.exists(f):
        limit = open(f).read().strip()
        break
denied = {}
for other in OTHERS:
    home = pwd.getpwnam(other).pw_dir
    for what, act in (("list", lambda: os.listdir(home)),
                      ("store", lambda: open(os.path.join(home, ".labkit", "results.sqlite"), "rb").read(1))):
        try:
            act()
            denied[other + ":" + what] = False
        except PermissionError:
            denied[other + ":" + what] = True
print(json.dumps({"user": me, "store": str(config.store_path()), "results": len(ResultStore()),
                  "fast": os.environ.get("LABKIT_FAST"), "mem_limit_env": os.environ.get("MEM_LIMIT"),
                  "cgroup_limit": limit, "denied": denied, "token": os.environ.get("JUPYTERHUB_API_TOKEN", "")}))
"""


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "the hub test makes Unix accounts and starts servers as them: it needs root"
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        return "JupyterHub is not installed: run `make hub-deps`"
    if not (BIN / "configurable-http-proxy").exists() and shutil.which("configurable-http-proxy") is None:
        return "configurable-http-proxy (npm) is missing: run `make hub-deps` (needs npm)"
    if shutil.which("node") is None:
        return "node is missing: configurable-http-proxy cannot run (make hub-deps installs it with npm)"
    for tool in ("useradd", "userdel", "chpasswd", "groupadd"):
        if shutil.which(tool) is None:
            return f"{tool} is missing: the recipe makes Unix accounts"
    if labhub.MemoryCgroup("probe").path is None:
        return "no memory cgroup controller here: the recipe's memory limit cannot be set"
    return None


def _private_parents(path: Path) -> list[Path]:
    """Folders on the way to ``path`` that other users cannot traverse (e.g. /root above a pyenv)."""
    return [p for p in Path(path).resolve().parents if not os.stat(p).st_mode & stat.S_IXOTH]


def _hub_command(state: Path, ports: dict[str, int]) -> list[str]:
    cmd = [
        str(BIN / "jupyterhub"),
        "-f",
        str(HUB / "jupyterhub_config.py"),
        f"--JupyterHub.hub_bind_url=http://127.0.0.1:{ports['hub']}",
        f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{ports['api']}",
    ]
    hidden = _private_parents(Path(sys.executable))
    if not hidden:
        return cmd
    # The interpreter sits under a private folder (a pyenv in /root here). Rather than open that
    # folder, the hub runs in a mount namespace of its own in which the private folder is a fresh
    # world-traversable tmpfs holding only the needed subfolder: nothing changes outside the test.
    if shutil.which("unshare") is None or len(hidden) != 1:
        pytest.skip(f"the lab's interpreter is under {hidden}, which trainees cannot reach")
    top = hidden[0]
    inner = Path(sys.executable).resolve().relative_to(top).parts[0]
    stash = state / "stash"
    stash.mkdir()
    script = (
        f'mount --bind "{top / inner}" "{stash}" && mount -t tmpfs -o mode=755 tmpfs "{top}" && '
        f'mkdir "{top / inner}" && mount --move "{stash}" "{top / inner}" && exec "$@"'
    )
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *cmd]


def _get(url, token=None, **kw):
    import requests

    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.get(url, headers=headers, timeout=30, **kw)


def _post(url, token=None, **kw):
    import requests

    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.post(url, headers=headers, timeout=60, **kw)


async def _run_code(base: str, token: str, cells: list[str], timeout: float = 600) -> list[str]:
    """Start a kernel in the user's server, run ``cells`` in order over its websocket, return their stdout."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    loop = asyncio.get_running_loop()
    r = await loop.run_in_executor(None, lambda: _post(f"{base}/api/kernels", token, json={"name": "python3"}))
    assert r.status_code == 201, r.text
    kernel = r.json()["id"]
    ws_url = base.replace("http://", "ws://") + f"/api/kernels/{kernel}/channels"
    ws = await websocket_connect(HTTPRequest(ws_url, headers={"Authorization": f"token {token}"}))
    session, outputs = uuid4().hex, []
    try:
        for code in cells:
            msg_id = uuid4().hex
            header = {"msg_id": msg_id, "msg_type": "execute_request", "username": "", "session": session}
            header.update({"version": "5.3", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
            content = {"code": code, "silent": False, "store_history": True, "user_expressions": {}}
            content.update({"allow_stdin": False, "stop_on_error": True})
            await ws.write_message(
                json.dumps(
                    {"header": header, "parent_header": {}, "metadata": {}, "content": content, "channel": "shell"}
                )
            )
            text, replied, idle = [], False, False
            while not (replied and idle):
                raw = await asyncio.wait_for(ws.read_message(), timeout)
                assert raw is not None, "the kernel's websocket closed"
                if isinstance(raw, bytes):
                    continue  # binary frames (widget buffers)
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, body = msg["msg_type"], msg["content"]
                if kind == "stream":
                    text.append(body["text"])
                elif kind == "error":
                    raise AssertionError(f"{body['ename']}: {body['evalue']}\n" + "\n".join(body["traceback"])[-3000:])
                elif kind == "execute_reply":
                    replied = True
                elif kind == "status" and body["execution_state"] == "idle":
                    idle = True
            outputs.append("".join(text))
    finally:
        ws.close()
        await loop.run_in_executor(None, lambda: _post_delete(f"{base}/api/kernels/{kernel}", token))
    return outputs


def _post_delete(url, token):
    import requests

    return requests.delete(url, headers={"Authorization": f"token {token}"}, timeout=30)


def _notebook_cells() -> list[str]:
    import jupytext

    nb = jupytext.read(ROOT / "notebooks" / NOTEBOOK)
    return [cell.source for cell in nb.cells if cell.cell_type == "code" and cell.source.strip()]


def _wait(predicate, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def _user_processes(names) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["username"]):
        if p.info["username"] in names:
            found.append(p)
    return found


@pytest.fixture
def trainees():
    why = _why_not()
    if why:
        pytest.skip(why)
    tag = secrets.token_hex(2)
    group, names = f"lkg{tag}", [f"lk{tag}{c}" for c in "abc"]
    made = {}
    try:
        for name in names:
            made[name] = labhub.add_account(name, group=group)
        admin = f"lk{tag}t"
        admin_password = labhub.add_account(admin, group=None)  # the trainer: not in the trainees' group
        made[admin] = admin_password
        yield {"group": group, "admin": admin, "admin_password": admin_password, "passwords": made}
    finally:
        for name in made:
            for p in _user_processes({name}):
                p.kill()
            labhub.MemoryCgroup(name).end()
            subprocess.run(["userdel", "--remove", name], capture_output=True)
        subprocess.run(["groupdel", group], capture_output=True)


@pytest.mark.slow  # about 35 s: a hub, three servers, a notebook in each
def test_hub_three_trainees_isolated_limited_and_stopped(trainees, tmp_path):
    from labkit.mpc.rendezvous import free_port

    admin = trainees["admin"]
    names = [n for n in trainees["passwords"] if n != admin]
    state = tmp_path / "state"
    ports = {k: free_port() for k in ("public", "hub", "api")}
    url = f"http://127.0.0.1:{ports['public']}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABKIT_", "JUPYTER"))}
    env.update(
        LABKIT_HUB_URL=url,
        LABKIT_HUB_STATE=str(state),
        LABKIT_HUB_GROUP=trainees["group"],
        LABKIT_HUB_ADMIN=trainees["admin"],
        LABKIT_HUB_IDLE_SECONDS="600",
    )
    state.mkdir(mode=0o700)
    log = tmp_path / "hub.log"
    report: dict = {"notebook": NOTEBOOK, "users": {}}
    started = time.perf_counter()
    with open(log, "wb") as out:
        hub = subprocess.Popen(_hub_command(state, ports), stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    tokens: dict[str, str] = {}
    hub_tree: list[int] = []
    try:
        _wait(lambda: hub.poll() is not None or _ok(f"{url}/hub/api/"), 60, "the hub to answer")
        assert hub.poll() is None, log.read_text()[-3000:]
        report["hub_start_s"] = round(time.perf_counter() - started, 2)

        # no sign-up: a wrong password and an account outside the group are refused
        api = f"{url}/hub/api"
        bad = _post(f"{api}/users/{names[0]}/tokens", json={"auth": {"username": names[0], "password": "wrong-pass"}})
        assert bad.status_code == 403
        # each trainee logs in through the REST API with its generated password and gets a token
        for name, secret in trainees["passwords"].items():  # the trainer too, with its own password
            r = _post(
                f"{api}/users/{name}/tokens", json={"auth": {"username": name, "password": secret}, "note": "test"}
            )
            assert r.status_code in (200, 201), r.text
            tokens[name] = r.json()["token"]
        # a trainee's token cannot act for another trainee
        assert _post(f"{api}/users/{names[1]}/server", tokens[names[0]]).status_code in (403, 404)

        for name in names:  # one server each, started one after the other to time each
            t0 = time.perf_counter()
            r = _post(f"{api}/users/{name}/server", tokens[name])
            assert r.status_code in (201, 202), r.text
            _wait(
                lambda n=name: _get(f"{api}/users/{n}", tokens[n]).json()["servers"].get("", {}).get("ready"),
                120,
                f"{name}'s server",
            )
            report["users"][name] = {"server_start_s": round(time.perf_counter() - t0, 2)}
        hub_tree = [p.pid for p in psutil.Process(hub.pid).children(recursive=True)] + [hub.pid]

        # the trainer administers the hub but cannot enter a trainee's server; nor can another trainee
        listed = _get(f"{api}/users", tokens[admin])
        assert listed.status_code == 200 and set(names) <= {u["name"] for u in listed.json()}
        seen_by_trainee = _get(f"{api}/users", tokens[names[0]])
        assert seen_by_trainee.status_code == 403 or {u["name"] for u in seen_by_trainee.json()} <= {names[0]}
        for intruder in (admin, names[1]):
            assert _get(f"{url}/user/{names[0]}/api/kernels", tokens[intruder]).status_code == 403
        assert _get(f"{url}/user/{names[0]}/api/kernels", tokens[names[0]]).status_code == 200

        # the notebooks are in each home, owned by the trainee; homes are private
        for name in names:
            home = Path(pwd.getpwnam(name).pw_dir)
            assert stat.S_IMODE(home.stat().st_mode) == 0o700
            copied = home / labhub.NOTEBOOK_FOLDER / NOTEBOOK
            assert copied.exists() and copied.stat().st_uid == pwd.getpwnam(name).pw_uid

        cells = _notebook_cells()

        async def everyone():
            async def one(name):
                base = f"{url}/user/{name}"
                t0 = time.perf_counter()
                await _run_code(base, tokens[name], cells)
                report["users"][name]["notebook_s"] = round(time.perf_counter() - t0, 1)
                others = [n for n in names if n != name]
                (out,) = await _run_code(base, tokens[name], [f"OTHERS = {others!r}\n" + CHECK])
                return json.loads(out.strip().splitlines()[-1])

            return await asyncio.gather(*(one(n) for n in names))

        checks = asyncio.run(everyone())
        limit = labhub.MemoryCgroup(names[0])
        for name, seen in zip(names, checks):
            home = pwd.getpwnam(name).pw_dir
            assert seen["user"] == name
            assert seen["store"] == f"{home}/.labkit/results.sqlite"  # each ResultStore is the trainee's own
            assert seen["results"] > 0
            assert seen["fast"] == "1"
            assert all(seen["denied"].values()), seen["denied"]  # cannot list or read another home
            cgroup = labhub.MemoryCgroup(name)
            assert int(seen["cgroup_limit"]) == cgroup.limit() == 2 * 1024**3  # the limit, seen from inside
            assert seen["mem_limit_env"] == str(2 * 1024**3)
            report["users"][name]["peak_memory_mb"] = round(cgroup.peak() / 2**20, 1)
            tokens[f"{name}-server"] = seen["token"]
        assert len({c["store"] for c in checks}) == 3
        assert limit.limit() >= _notebook_peak()

    finally:
        t0 = time.perf_counter()
        if hub.poll() is None:
            hub.send_signal(signal.SIGTERM)
            try:
                hub.wait(60)
            except subprocess.TimeoutExpired:
                hub.kill()
                hub.wait(10)
        report["hub_stop_s"] = round(time.perf_counter() - t0, 2)
    # everything it started has stopped: the proxy, the culler, every server and kernel
    _wait(lambda: not [p for p in hub_tree if psutil.pid_exists(p) and _alive(p)], 20, "the hub's processes to exit")
    _wait(lambda: not _user_processes(set(names)), 20, "the trainees' processes to exit")
    assert not labhub.MemoryCgroup(names[0]).path.parent.exists()  # every cgroup it made is gone
    # tokens stay out of the log (the hub's and the servers') and out of every file in the homes
    # (notebooks, ResultStores, settings), except Jupyter's own connection files, which only
    # their trainee can read
    secrets_seen = [t for t in tokens.values() if t]
    assert len(secrets_seen) == 7  # four logins, three servers
    assert not [t for t in secrets_seen if t in log.read_text(errors="replace")]
    for name in names:
        home = Path(pwd.getpwnam(name).pw_dir)
        runtime = home / ".local" / "share" / "jupyter" / "runtime"
        for path in home.rglob("*"):
            if not path.is_file() or path.stat().st_size > 50_000_000:
                continue
            if runtime in path.parents:
                assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
            else:
                assert not [t for t in secrets_seen if t.encode() in path.read_bytes()], path
    # the trainer collects everyone's Results into one store
    from labkit.results import ResultStore

    added = labhub.collect(tmp_path / "workshop.sqlite", trainees["group"])
    assert set(added) == set(names) and all(n > 0 for n in added.values())
    assert len(ResultStore(tmp_path / "workshop.sqlite")) == sum(added.values())
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    print(json.dumps(report, indent=2))


def _ok(url) -> bool:
    try:
        return _get(url).status_code == 200
    except OSError:
        return False


def _alive(pid) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _notebook_peak() -> int:
    """The highest peak in the notebook harness's report (0 without one): the limit must exceed it."""
    path = ROOT / "build" / "notebook_report.json"
    if not path.exists():
        return 0
    return int(max(v["peak_rss_mb"] for v in json.loads(path.read_text()).values()) * 2**20)
