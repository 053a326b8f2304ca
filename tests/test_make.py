"""The Makefile's promises: no reinstall when nothing changed, and a clear word when Python 3.10 is missing."""

import functools
import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _make(*args, **kw):
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True, **kw)


@pytest.mark.skipif(not (ROOT / ".venv" / ".labkit-installed").exists(), reason="environment not built by make")
def test_setup_is_up_to_date_after_install():
    # `make -q` exits 0 only when the target needs no work: a second `make lab` reinstalls nothing.
    assert _make("-q", "setup").returncode == 0


def test_missing_python_gives_one_clear_paragraph(tmp_path):
    proc = _make("setup", "PYTHON=python3.99-not-here", f"VENV={tmp_path / 'venv'}")
    assert proc.returncode != 0
    assert "needs Python 3.10" in proc.stderr and "OpenFHE" in proc.stderr and "PYTHON=" in proc.stderr
    assert not (tmp_path / "venv").exists()


def test_lab_and_test_targets_use_the_documented_commands():
    env = {**os.environ, "MAKEFLAGS": ""}
    assert "labkit lab" in _make("-n", "lab", env=env).stdout
    assert "pytest" in _make("-n", "test", env=env).stdout


@pytest.mark.skipif(not (ROOT / ".venv" / ".labkit-installed").exists(), reason="environment not built by make")
def test_make_notebooks_writes_an_ipynb_per_notebook():
    import nbformat

    proc = _make("notebooks")
    assert proc.returncode == 0, proc.stderr[-2000:]
    for src in (ROOT / "notebooks").glob("[0-9][0-9]_*.py"):
        nb = nbformat.read(ROOT / "build" / "notebooks" / f"{src.stem}.ipynb", as_version=4)
        nbformat.validate(nb)
        assert any(c.cell_type == "code" for c in nb.cells)


def _dry_run(*args):
    """`make -n` with this interpreter as PYTHON: the commands a target would run, none run."""
    env = {**os.environ, "MAKEFLAGS": ""}
    proc = _make("-n", *args, f"PYTHON={sys.executable}", env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _pip_lines(out, verb):
    return [line for line in out.splitlines() if f"-m pip {verb}" in line]


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed when the block ends: a connection is refused at once


def test_setup_from_a_wheelhouse_reads_only_that_folder(tmp_path):
    out = _dry_run("setup", f"VENV={tmp_path / 'venv'}", f"WHEELHOUSE={tmp_path / 'wh'}")
    installs = _pip_lines(out, "install")
    assert len(installs) == 3  # pip itself, the lab with its pins, CrypTen alone
    assert all(f"--no-index --find-links {tmp_path / 'wh'}" in line for line in installs), installs
    assert "only (no network)" in out


def test_wheelhouse_downloads_everything_setup_installs(tmp_path):
    wh = tmp_path / "wh"
    out = _dry_run("wheelhouse", f"WHEELHOUSE_DIR={wh}", f"TORCH_CPU_INDEX=http://127.0.0.1:{_closed_port()}")
    downloads = _pip_lines(out, "download")
    assert downloads and all(f"-d {wh}" in line for line in downloads)
    setup = _pip_lines(_dry_run("setup", f"VENV={tmp_path / 'venv'}", f"WHEELHOUSE={wh}"), "install")
    # every requirement setup asks for is downloaded with the same constraints and --no-deps choice
    for line in setup:
        wanted = line.split("--find-links", 1)[1].split(maxsplit=1)[1]
        for word in wanted.replace("--upgrade", "").replace("-e ", "").split():
            assert any(word in d for d in downloads), f"{word!r} is installed by setup but never downloaded"
    assert any("crypten==" in d and "--no-deps" in d for d in downloads)
    # the build backend that the editable install of labkit needs, offline
    backend = re.search(r'requires = \["(setuptools[^"]*)"\]', (ROOT / "pyproject.toml").read_text()).group(1)
    assert any(f'"{backend}"' in d for d in downloads), backend


def test_cpu_torch_index_is_used_when_it_answers_and_skipped_at_once_when_not(tmp_path):
    (tmp_path / "torch").mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        index = f"http://127.0.0.1:{server.server_address[1]}"
        out = _dry_run("setup", f"VENV={tmp_path / 'venv'}", f"TORCH_CPU_INDEX={index}")
        server.shutdown()
    installs = _pip_lines(out, "install")
    assert len(installs) == 3 and all(f"--extra-index-url {index}" in line for line in installs), installs
    assert "CPU-only torch" in out
    start = time.monotonic()
    out = _dry_run("setup", f"VENV={tmp_path / 'venv'}", f"TORCH_CPU_INDEX=http://127.0.0.1:{_closed_port()}")
    assert time.monotonic() - start < 5  # the probe's timeout: an unreachable index costs no retries
    assert not any("--extra-index-url" in line or "--no-index" in line for line in _pip_lines(out, "install"))
    assert "CPU-only index unreachable" in out
