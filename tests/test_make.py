"""The Makefile's promises: no reinstall when nothing changed, and a clear word when Python 3.10 is missing."""

import os
import shutil
import subprocess
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
