"""Execute every curriculum notebook top to bottom, in fast mode and in full mode.

Each ``notebooks/NN_topic.py`` (jupytext percent format) is converted and run
with nbclient in a fresh kernel. A cell that raises fails the test, and so does
any warning that reaches a notebook's output (a stderr stream, or warning text
on stdout): trainees read red text as an error. The wall time and the peak
memory of the kernel and its child processes are recorded per notebook and per
mode in ``build/notebook_times.json`` (with the machine's core count); each run
starts cold, in a lab home of its own (empty ResultStore, no cached keys); a
notebook above Binder's 2 GB fails in either mode. ``make docs`` publishes that
file as ``docs/notebook_times.json`` and regenerates the trainer guide's table
(:mod:`labkit.workshop`).

Full mode runs by default (it adds the full-mode total of docs/workshop.md's
table to a test run, about 13 minutes on two shared cores); set
``LABKIT_NOTEBOOKS_FULL=0`` to skip it on a laptop.
"""

from __future__ import annotations

import json
import os
import platform
import re
import tempfile
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
TIMES = ROOT / "build" / "notebook_times.json"
BINDER_LIMIT = 2 * 1024**3
CELL_TIMEOUT = 900
RUN_FULL = os.environ.get("LABKIT_NOTEBOOKS_FULL", "1").strip().lower() not in {"0", "false", "no", "off"}
WARNING_TEXT = re.compile(r"\b\w*Warning\b[:(]|\bwarnings\.warn\b")


class _PeakRSS:
    """Polls the memory of a process tree (kernel + its children) in a thread.

    Children (CrypTen parties, an enclave, doctor checks) share library pages
    with each other, so the tree is summed by PSS (each shared page split among
    its users), which is what a container's memory limit sees; the kernel's own
    RSS high-water mark is taken too, to catch spikes between polls.
    """

    def __init__(self, interval: float = 0.1):
        self.interval = interval
        self.pid: int | None = None
        self.peak = 0
        self.cell_peak = 0  # since the current cell started
        self.load = 0.0  # the highest 1-minute load average seen during the run
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        import psutil

        try:
            proc = psutil.Process(self.pid)
            tree = [proc, *proc.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        except psutil.AccessDenied:  # pragma: no cover - other users' processes
            return 0
        total = 0
        for p in tree:
            try:
                total += p.memory_full_info().pss
            except psutil.NoSuchProcess:
                pass
        try:  # the kernel's own kernel-kept high-water mark catches short spikes
            with open(f"/proc/{self.pid}/status") as fh:
                hwm = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM"))
            total = max(total, hwm)
        except (OSError, StopIteration):
            pass
        return total

    def poll(self) -> None:
        self.load = max(self.load, os.getloadavg()[0])  # others' work on the machine slows this run down
        if self.pid:
            value = self._sample()
            self.peak = max(self.peak, value)
            self.cell_peak = max(self.cell_peak, value)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.poll()
        self._stop.set()
        self._thread.join()


def _record(name: str, mode: str, entry: dict) -> None:
    TIMES.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(TIMES.read_text()) if TIMES.exists() else {}
    data.setdefault(name, {})[mode] = entry
    TIMES.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def warnings_in(nb) -> list[str]:
    """Every warning that reached a cell's output: stderr streams, and warning text on stdout."""
    found = []
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") != "stream":
                continue
            text = out.get("text", "")
            if out.get("name") == "stderr" or WARNING_TEXT.search(text):
                found.append(f"cell {index} ({out.get('name')}): {text.strip()[:400]}")
    return found


def execute(path: Path, *, fast: bool = True, allow_errors: bool = False) -> dict:
    """Run one notebook in fast or full mode; return its measurements and the executed notebook.

    Raises on a failing cell (unless ``allow_errors``, for measuring a notebook under repair). The entry holds the wall time, the peak memory
    (PSS of the kernel and its children), the slowest cells and the machine.
    """
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(path)
    # each run starts cold, as a trainee's first run does: its own lab home (empty store, no cached keys)
    env_before = {k: os.environ.get(k) for k in ("LABKIT_FAST", "LABKIT_HOME")}
    home = tempfile.TemporaryDirectory(prefix=f"labkit-nb-{path.stem[:2]}-")
    os.environ["LABKIT_FAST"] = "1" if fast else "0"
    os.environ["LABKIT_HOME"] = home.name
    peak = _PeakRSS()
    cells: list[dict] = []
    started: dict = {}

    def cell_start(cell, cell_index, **_):
        peak.poll()
        peak.cell_peak = 0
        started["t"] = time.perf_counter()

    def cell_done(cell, cell_index, **_):
        peak.poll()
        cells.append(
            {
                "cell": cell_index,
                "seconds": round(time.perf_counter() - started.get("t", time.perf_counter()), 1),
                "peak_mb": round(peak.cell_peak / 2**20, 1),
                "source": cell.source.splitlines()[0][:80] if cell.source else "",
            }
        )

    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(path.parent)}},
        on_notebook_start=lambda **_: setattr(peak, "pid", client.km.provisioner.process.pid),
        on_cell_execute=cell_start,
        on_cell_executed=cell_done,
    )
    start = time.perf_counter()
    try:
        with peak:
            client.execute()
    finally:
        for key, value in env_before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        home.cleanup()
    entry = {
        "seconds": round(time.perf_counter() - start, 1),
        "peak_mb": round(peak.peak / 2**20, 1),
        "cores": os.cpu_count(),
        "load_avg_max": round(peak.load, 1),
        "machine": f"{platform.system()} {platform.machine()}, Python {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "slowest_cells": sorted(cells, key=lambda c: -c["seconds"])[:3],
        "largest_cells": sorted(cells, key=lambda c: -c["peak_mb"])[:3],
    }
    return {"entry": entry, "notebook": nb}


def _run_and_check(path: Path, *, fast: bool) -> None:
    mode = "fast" if fast else "full"
    run = execute(path, fast=fast)
    entry = run["entry"]
    _record(path.stem, mode, entry)
    print(f"{path.stem} ({mode}): {entry['seconds']} s, peak {entry['peak_mb']} MB; cells {entry['largest_cells']}")
    warned = warnings_in(run["notebook"])
    assert not warned, f"{path.stem} ({mode}): a warning reached the notebook's output:\n" + "\n".join(warned)
    assert entry["peak_mb"] * 2**20 < BINDER_LIMIT, f"{path.stem} ({mode}) peaked at {entry['peak_mb']} MB (> 2 GB)"


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_fast_mode(path: Path):
    _run_and_check(path, fast=True)


@pytest.mark.notebook
@pytest.mark.skipif(not RUN_FULL, reason="LABKIT_NOTEBOOKS_FULL=0: full mode skipped")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_full_mode(path: Path):
    _run_and_check(path, fast=False)


def test_warnings_in_finds_stderr_and_warning_text_only():
    import nbformat

    nb = nbformat.v4.new_notebook()
    quiet = nbformat.v4.new_code_cell("print(1)")
    quiet.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Warnings are discussed below; 3\n")]
    red = nbformat.v4.new_code_cell("x")
    red.outputs = [nbformat.v4.new_output("stream", name="stderr", text="/x/y.py:55: UserWarning: not writable\n")]
    printed = nbformat.v4.new_code_cell("y")
    printed.outputs = [nbformat.v4.new_output("stream", name="stdout", text="RuntimeWarning: overflow\n")]
    nb.cells = [quiet, red, printed]
    found = warnings_in(nb)
    assert [f.split(" (")[0] for f in found] == ["cell 1", "cell 2"]


def test_every_notebook_is_percent_format_with_parameters_cell():
    import jupytext

    assert NOTEBOOKS, "no notebooks found"
    for path in NOTEBOOKS:
        nb = jupytext.read(path)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code, f"{path.name} has no code cell"
        assert "parameters" in code[0].metadata.get("tags", []), (
            f"{path.name}: first code cell is not tagged parameters"
        )
        assert nb.cells[0].cell_type == "markdown", f"{path.name} should open with prose"
