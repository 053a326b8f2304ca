"""Which backends work on this machine, their versions, and why not.

``labkit doctor`` runs one real operation per backend, each in its own
subprocess (so a crashing native library or a hang cannot take the report
down with it), and prints a table. The operations are the registered
techniques' checks (:class:`labkit.techniques.Check`, declared in each
technique's descriptor) and the platform's own (widgets, JupyterLab). It
exits non-zero when a required backend fails; a technique marks a check
optional where its backend cannot work on this platform.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from importlib import metadata

from . import techniques
from .errors import InvalidInput
from .techniques import Check

DEFAULT_TIMEOUT = 120.0


@dataclass(frozen=True)
class Status:
    """What one check did here: ok or not, how long, and what it produced or why it failed."""

    name: str
    operation: str
    version: str
    required: bool
    ok: bool
    seconds: float
    detail: str  # what the smoke operation produced, or why it failed


def _version(dists: Iterable[str]) -> str:
    parts = []
    for dist in dists:
        try:
            parts.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist} (not installed)")
    return ", ".join(parts)


# -- the platform's own checks (each technique declares its checks in its descriptor) --
def smoke_widgets() -> str:
    """Build a plotly FigureWidget and update it (the widget stack the notebooks use)."""
    import plotly.graph_objects as go

    fig = go.FigureWidget(data=[go.Bar(y=[1, 2, 3])])
    with fig.batch_update():
        fig.data[0].y = [3, 2, 1]
    if list(fig.data[0].y) != [3, 2, 1]:
        raise RuntimeError("FigureWidget did not take the update")
    return "plotly FigureWidget built and updated (anywidget front end)"


def smoke_jupyter() -> str:
    """Read a percent-format notebook with jupytext and find its JupyterLab extension."""
    import jupyterlab_jupytext
    import jupytext

    nb = jupytext.reads("# %% [markdown]\n# Title\n\n# %%\nx = 1\n", fmt="py:percent")
    kinds = [c.cell_type for c in nb.cells]
    if kinds != ["markdown", "code"]:
        raise RuntimeError(f"jupytext read cells {kinds}")
    if not callable(getattr(jupyterlab_jupytext, "load_jupyter_server_extension", None)):
        raise RuntimeError("jupytext's server extension (jupyterlab_jupytext) is missing")
    return "jupytext reads a percent-format notebook; its JupyterLab server extension is installed"


PLATFORM_CHECKS: tuple[Check, ...] = (
    Check("plotly + anywidget", "FigureWidget update", ("plotly", "anywidget", "ipywidgets"), smoke_widgets),
    Check("JupyterLab + jupytext", "read a .py notebook", ("jupyterlab", "jupytext"), smoke_jupyter),
)


def checks() -> tuple[Check, ...]:
    """Every check: each registered technique's, in registry order, then the platform's."""
    return (*(c for t in techniques.registry() for c in t.checks), *PLATFORM_CHECKS)


def find(name: str) -> Check:
    """The check called ``name``; an unknown name is an error listing the known ones."""
    found = {c.name: c for c in checks()}
    if name not in found:
        raise InvalidInput(f"unknown backend {name!r}; known: {', '.join(found)}.")
    return found[name]


def _run_in_process(name: str) -> tuple[bool, str]:
    try:
        return True, find(name).run()
    except Exception as exc:  # report any failure as a reason, never a traceback
        return False, f"{type(exc).__name__}: {exc}".strip()


def run_check(check: Check, *, timeout: float = DEFAULT_TIMEOUT) -> Status:
    """Run one check in a fresh interpreter; a crash or hang becomes a reason."""
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "labkit.doctor", "--one", check.name]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if lines:
            payload = json.loads(lines[-1])
            ok, detail = payload["ok"], payload["detail"]
        else:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            ok, detail = False, f"process exited with code {proc.returncode}: {tail}"
    except subprocess.TimeoutExpired:
        ok, detail = False, f"no answer within {timeout:.0f} s"
    return Status(
        check.name,
        check.operation,
        _version(check.distributions),
        check.required,
        ok,
        time.perf_counter() - start,
        detail,
    )


def run(
    names: Iterable[str] | None = None,
    *,
    workers: int = 2,
    timeout: float = DEFAULT_TIMEOUT,
    progress: bool = False,
) -> list[Status]:
    """Run the checks (all, or those named) two at a time; statuses in table order.

    ``progress=True`` shows a bar that advances as each check finishes.
    """
    from tqdm.auto import tqdm

    wanted = list(checks()) if names is None else [find(n) for n in names]
    with (
        ThreadPoolExecutor(max_workers=workers) as pool,
        tqdm(total=len(wanted), desc="labkit doctor", unit="check", disable=not progress) as bar,
    ):

        def one(check: Check) -> Status:
            status = run_check(check, timeout=timeout)
            bar.set_postfix_str(check.name, refresh=False)
            bar.update()
            return status

        return list(pool.map(one, wanted))


def healthy(statuses: Iterable[Status]) -> bool:
    """True when every required backend passed."""
    return all(o.ok or not o.required for o in statuses)


def table(statuses: Iterable[Status]) -> str:
    """A plain-text table for the terminal."""
    rows = [("backend", "version", "status", "time", "what it did / why not")]
    for o in statuses:
        status = "ok" if o.ok else ("FAIL" if o.required else "unavailable")
        rows.append((o.name, o.version, status, f"{o.seconds:.1f} s", o.detail))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r[:4], widths)) + "  " + r[4] for r in rows]
    lines.insert(1, "-" * min(160, len(lines[0])))
    return "\n".join(lines)


def html_table(statuses: Iterable[Status]) -> str:
    """The same table as HTML, for notebook 00."""
    import html

    body = "".join(
        f"<tr><td>{html.escape(o.name)}</td><td>{html.escape(o.version)}</td>"
        f"<td style='color:{'#1b5e20' if o.ok else '#b00020'}'>{'ok' if o.ok else 'not working'}</td>"
        f"<td>{o.seconds:.1f} s</td><td>{html.escape(o.detail)}</td></tr>"
        for o in statuses
    )
    return (
        "<table><tr><th>backend</th><th>version</th><th>status</th><th>time</th>"
        f"<th>what it did / why not</th></tr>{body}</table>"
    )


def as_json(statuses: Iterable[Status]) -> str:
    """The statuses as a JSON list (``labkit doctor --json``)."""
    return json.dumps([asdict(o) for o in statuses], indent=2)


if __name__ == "__main__":  # used by run_check: python -m labkit.doctor --one NAME
    if len(sys.argv) == 3 and sys.argv[1] == "--one" and sys.argv[2] in {c.name for c in checks()}:
        ok, detail = _run_in_process(sys.argv[2])
        print(json.dumps({"ok": ok, "detail": detail}))
        sys.exit(0)
    sys.exit("usage: python -m labkit.doctor --one NAME (use `labkit doctor` for the table)")
