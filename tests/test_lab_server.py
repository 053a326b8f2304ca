"""`make lab` serves the notebooks: start the same server and list them through the contents API."""

import json
import secrets
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from labkit import cli

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_lab_server_lists_py_notebooks_as_notebooks(tmp_path):
    port, token = _free_port(), secrets.token_hex(16)
    cmd = [*cli.lab_command(port=port, open_browser=False), f"--IdentityProvider.token={token}"]
    env = {"JUPYTER_RUNTIME_DIR": str(tmp_path), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    with open(tmp_path / "server.log", "w") as log:  # a file, not a pipe: a chatty server never blocks
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/contents", headers={"Authorization": f"token {token}"}
        )
        deadline, listing = time.monotonic() + 90, None
        while time.monotonic() < deadline and listing is None:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
            try:
                with urllib.request.urlopen(req, timeout=5) as resp:
                    listing = json.load(resp)
            except OSError:
                time.sleep(0.5)
        assert listing is not None, "JupyterLab did not answer within 90 s"
        types = {item["name"]: item["type"] for item in listing["content"]}
        expected = {p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py")}
        assert expected and expected <= set(types)
        assert all(types[name] == "notebook" for name in expected), types
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
