"""Browser-test helpers: Debian's Chromium driven by playwright, servers on free loopback ports.

Every server runs in its own session and is stopped with all its children
(kernels) at the end of its module; every wait is bounded. The tests skip,
with the reason, only when ``/usr/bin/chromium`` is absent (``make browser-deps``
installs it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # containers and CI run as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "build" / "screenshots"
SERVER_START_TIMEOUT = 90  # seconds; a cold JupyterLab on a busy 2-core machine
PAGE_TIMEOUT_MS = 90_000  # first render includes a kernel start and the widget imports


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(home: Path) -> dict[str, str]:
    """The test process's environment with a throw-away home, Jupyter runtime dir and lab home."""
    for sub in ("runtime", "labkit"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "LABKIT_HOME": str(home / "labkit"),
        "LABKIT_FAST": "1",
    }


def _stop(proc: subprocess.Popen) -> None:
    """Terminate a server and every process it started (kernels), waiting a bounded time."""
    import psutil

    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    proc.terminate()  # lets the server shut its kernels down cleanly
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    alive = [c for c in children if c.is_running()]
    for child in alive:
        try:
            child.terminate()
        except psutil.NoSuchProcess:
            pass
    _, still = psutil.wait_procs(alive, timeout=10)
    for child in still:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass


@contextmanager
def serve(cmd: list[str], *, env: dict[str, str], log: Path, ready: Callable[[], bool]) -> Iterator[subprocess.Popen]:
    """Run ``cmd`` until the block ends; wait (bounded) until ``ready()`` is true first."""
    with open(log, "w") as fh:  # a file, not a pipe: a chatty server never blocks
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not ready():
            if proc.poll() is not None:
                pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"server not ready within {SERVER_START_TIMEOUT} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield proc
    finally:
        _stop(proc)


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def listening_addresses(pid: int) -> set[str]:
    """IP addresses the process listens on (TCP)."""
    import psutil

    return {c.laddr.ip for c in psutil.Process(pid).net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN}


def plot_data(page, selector: str) -> list[dict]:
    """The data of the plotly graph div under ``selector``, as the page holds it (``gd.data``)."""
    return page.evaluate(
        """(sel) => {
            const gd = document.querySelector(sel + ' .js-plotly-plot');
            if (!gd || !gd.data) return null;
            const plain = (v) => (v && typeof v === 'object' && 'length' in v) ? Array.from(v) : v;
            return gd.data.map(t => ({type: t.type, name: t.name, x: plain(t.x), y: plain(t.y),
                                      color: t.marker ? plain(t.marker.color) : null}));
        }""",
        selector,
    )


def wait_plots_ready(page, selector: str, *, timeout_ms: int = PAGE_TIMEOUT_MS) -> None:
    """Wait until every plotly figure under ``selector`` has finished its first draw.

    The graph div appears (class ``js-plotly-plot``) before plotly's first draw
    completes; an update that arrives in between is lost. The FigureWidget view
    hooks its event handlers (``plotly_click`` ...) once that draw is done, so
    their presence is the signal.
    """
    page.wait_for_function(
        """(sel) => {
            const gds = document.querySelectorAll(sel + ' .js-plotly-plot');
            return gds.length > 0 && Array.from(gds).every(
                gd => gd._ev && gd._ev._events && gd._ev._events.plotly_click !== undefined);
        }""",
        arg=selector,
        timeout=timeout_ms,
    )


def screenshot(page, name: str, *, content: str | None = None, max_height: int = 8000) -> Path:
    """Keep a screenshot of the page as a test artefact under build/screenshots/.

    Voila scrolls inside a panel, not the document, so a "full page" shot would
    stop at the viewport: with ``content`` (a selector) the viewport is
    stretched to that element's bottom edge (bounded) for the shot, then put
    back. Without it the page is shot as it is (JupyterLab fills the window).
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    if content is None:
        page.screenshot(path=str(path))
        return path
    size = page.viewport_size
    bottom = page.evaluate(
        """(sel) => {
            const e = document.querySelector(sel);
            let top = 0;
            for (let n = e; n; n = n.parentElement) top += n.scrollTop;
            return e.getBoundingClientRect().bottom + top;
        }""",
        content,
    )
    page.set_viewport_size({"width": size["width"], "height": int(min(max(bottom + 40, size["height"]), max_height))})
    try:
        page.wait_for_timeout(500)  # let plotly relayout to the new size
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(size)
    return path


# Fixture Results for the pages (made up, labelled as such): the browser tests check what the
# page draws from a store, not the labs' numbers, and must not spend minutes measuring.
_ENV = {"cpu": "browser-test fixture", "cores": 2, "machine_id": "browser-test", "fast": True}
_SETTINGS = {"n_clients": 4, "attack": "fixture", "repeat": 1, "fast": True}
# stack -> (overhead, psnr, ssim, accuracy, poison_caught)
CAPSTONE_FIXTURE = {
    (): (1.0, 31.0, 0.93, 0.86, False),
    ("dp",): (1.6, 12.0, 0.21, 0.80, False),
    ("secagg",): (9.0, 8.0, 0.05, 0.86, False),
    ("dp", "secagg", "zk", "tls"): (60.0, 7.5, 0.04, 0.80, True),
}


def fixture_results() -> list:
    """Dashboard and capstone Results to seed a test server's store."""
    from labkit.results import Result

    out = [
        Result(
            "he",
            "mlp_inference",
            params={"model": "mlp", "backend": "seal", "mode": "single"},
            metrics={"overhead": 2500.0, "accuracy_encrypted": 0.95},
            environment=dict(_ENV),
        ),
        Result(
            "pqc",
            "sweep_cell",
            params={"group": "X25519MLKEM768", "cert": "rsa-2048"},
            metrics={"overhead": 1.1},
            environment=dict(_ENV),
        ),
        Result(
            "dp",
            "train_private",
            params={"target_epsilon": 2.0},
            metrics={"overhead": 1.8, "epsilon": 2.0, "accuracy": 0.88, "attack_auc": 0.51, "baseline_attack_auc": 0.6},
            environment=dict(_ENV),
        ),
    ]
    for stack, (overhead, psnr, ssim, acc, caught) in CAPSTONE_FIXTURE.items():
        metrics = {
            "overhead": overhead,
            "psnr": psnr,
            "ssim": ssim,
            "accuracy": acc,
            "accuracy_before": 0.5,
            "poison_caught": caught,
        }
        if "dp" in stack:
            metrics["epsilon"] = 8.0
        out.append(
            Result(
                "capstone",
                "layered_round",
                params={"layers": list(stack), **_SETTINGS},
                metrics=metrics,
                artifacts={"stack": "+".join(stack) or "plain", "server_sees": "fixture"},
                environment=dict(_ENV),
            )
        )
    return out
