"""The code base stays clean under the project's ruff configuration (pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ["labkit", "tests", "notebooks", "datasets"]


def _ruff(*args):
    return subprocess.run([sys.executable, "-m", "ruff", *args, *TARGETS], cwd=ROOT, capture_output=True, text=True)


def test_ruff_check_is_clean():
    proc = _ruff("check", "--quiet")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-1000:]


def test_ruff_format_is_clean():
    proc = _ruff("format", "--check", "--quiet")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-1000:]
