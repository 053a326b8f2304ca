"""The demo app without a browser: its views build, the capstone view reads the store, the command lines."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import nbformat
import pytest
from browserkit import ROOT, fixture_results

from labkit import demo
from labkit.results import ResultStore


@pytest.fixture
def seeded(tmp_path) -> ResultStore:
    store = ResultStore(tmp_path / "results.sqlite")
    store.add_many(fixture_results())
    return store


def _errors(widget) -> list[str]:
    """Error panels anywhere under a widget."""
    found = []
    if "labkit-view-error" in getattr(widget, "_dom_classes", ()):
        found.append(widget.value)
    for child in getattr(widget, "children", ()):
        found += _errors(child)
    return found


def test_every_registered_view_builds_without_an_error_panel(monkeypatch, seeded):
    monkeypatch.setenv("LABKIT_HOME", str(seeded.path.parent))
    page = demo.app()
    assert [s._dom_classes[-1] for s in page.children] == [f"labkit-view-{v.key}" for v in demo.VIEWS]
    assert _errors(page) == []
    assert {"dashboard", "capstone"} <= {v.key for v in demo.VIEWS}


def test_a_broken_view_shows_its_error_and_the_rest_still_build():
    views = [
        demo.View("gone", "Missing", "labkit.widgets.no_such_module", "explorer"),
        demo.View("claims", "Claims", "labkit.widgets.start", "explorer"),
    ]
    page = demo.app(views)
    (error,) = _errors(page)
    assert "labkit.widgets.no_such_module.explorer" in error and "ModuleNotFoundError" in error
    assert _errors(page.children[1]) == [] and hasattr(page.children[1].children[1], "figure")


def test_capstone_view_shows_the_newest_run_of_each_stack_with_the_same_settings(seeded):
    old = next(r for r in fixture_results() if r.technique == "capstone" and r.params["layers"] == [])
    old.metrics["psnr"] = 99.0
    old.created -= 3600  # an older run of the plain stack: replaced by the newer one
    other = next(r for r in fixture_results() if r.technique == "capstone" and r.params["layers"] == ["dp"])
    other.params["repeat"] = 5  # other settings: not compared with these
    other.created -= 60
    seeded.add_many([old, other])
    results = demo.stored_capstone_results(seeded)
    assert sorted(tuple(r.params["layers"]) for r in results) == sorted(
        [(), ("dp",), ("secagg",), ("dp", "secagg", "zk", "tls")]
    )
    assert next(r for r in results if r.params["layers"] == []).metrics["psnr"] == 31.0
    view = demo.capstone_view(seeded)
    assert sorted(view.figure.data[0].text) == ["dp", "dp+secagg+zk+tls", "plain", "secagg"]


def test_capstone_view_without_a_run_offers_to_measure_then_shows_the_explorer(tmp_path, monkeypatch):
    import labkit.capstone

    store = ResultStore(tmp_path / "empty.sqlite")
    view = demo.capstone_view(store)
    assert "No capstone run is stored yet" in view.children[0].value
    measured = [r for r in fixture_results() if r.technique == "capstone"]
    monkeypatch.setattr(labkit.capstone, "compare", lambda store=None: measured)
    view.measure()
    (explorer,) = view.children
    assert len(explorer.figure.data[0].x) == len(measured)


def test_capstone_view_reports_a_failed_measurement(tmp_path, monkeypatch):
    import labkit.capstone

    def fail(store=None):
        raise RuntimeError("no cores left")

    monkeypatch.setattr(labkit.capstone, "compare", fail)
    view = demo.capstone_view(ResultStore(tmp_path / "empty.sqlite"))
    view.measure()
    note, button = view.children
    assert "RuntimeError: no cores left" in note.value and not button.disabled


def test_app_notebook_is_valid_and_calls_the_app(tmp_path):
    path = demo.write_notebook(tmp_path / "sub" / "app.ipynb")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert code == ["from labkit import demo\n\ndemo.app()"]
    assert nb.metadata.kernelspec.name == "python3"


def test_voila_command_binds_loopback_with_a_token():
    cmd = demo.voila_command("app.ipynb", port=9001, open_browser=False)
    assert cmd[1:4] == ["-m", "voila", "app.ipynb"]
    assert "--Voila.ip=127.0.0.1" in cmd and "--port=9001" in cmd and "--Voila.port_retries=0" in cmd
    (token,) = [a.split("=", 1)[1] for a in cmd if a.startswith("--Voila.token=")]
    assert len(token) == 32 and token != demo.voila_command("app.ipynb")[cmd.index(f"--Voila.token={token}")]
    assert "--no-browser" not in demo.voila_command("app.ipynb")


def test_main_writes_the_notebook_and_hands_over_to_voila(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(os, "execv", lambda exe, argv: calls.append(argv))
    before = time.time()
    assert demo.main(["--port", "9123", "--no-browser", "--token", "abc"]) == 0
    (argv,) = calls
    notebook = ROOT / "build" / "demo" / f"{demo.APP_NAME}.ipynb"
    assert argv[3] == str(notebook) and notebook.stat().st_mtime >= before - 1
    assert "--port=9123" in argv and "--Voila.token=abc" in argv and "--no-browser" in argv
    assert "http://127.0.0.1:9123/?token=abc" in capsys.readouterr().out
    calls.clear()
    demo.main(["--port", "9124", "--no-browser"])  # a random token, printed in full (Voila masks it)
    (token,) = [a.split("=", 1)[1] for a in calls[0] if a.startswith("--Voila.token=")]
    assert f"http://127.0.0.1:9124/?token={token}" in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_runs_the_demo_module():
    env = {**os.environ, "MAKEFLAGS": ""}
    proc = subprocess.run(
        ["make", "-n", "--no-print-directory", "demo"], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert "-m labkit.demo" in proc.stdout


def test_sync_figures_puts_edits_made_after_creation_into_the_loaded_state(seeded):
    view = demo.capstone_view(seeded)  # adds its traces and layout after creating the figure
    fig = view.figure
    fig._widget_data, fig._widget_layout = [], {}  # as a page that missed the edit messages would load it
    assert demo.sync_figures(demo.app([demo.View("claims", "Claims", "labkit.widgets.start", "explorer")])) == 1
    assert demo.sync_figures(view) == 1
    assert [t["name"] for t in fig._widget_data] == ["stacks", "selected"]
    assert sorted(fig._widget_data[0]["x"]) == sorted(fig.data[0].x)
    assert fig._widget_layout["xaxis"]["type"] == "log"


def test_app_figures_load_plotlys_front_end_at_first_render_and_still_update(seeded):
    import plotly.graph_objects as go

    from labkit.widgets.figure import LOADER_ESM

    view = demo.capstone_view(seeded)
    fig = view.figure
    bundle = go.FigureWidget()._esm  # plotly's own front end; the lab's widgets defer it from the start
    assert demo.sync_figures(view) == 1
    # anywidget imports the small loader within its 2 s window; plotly's module travels in its own trait
    assert fig._esm == LOADER_ESM and fig._labkit_plotly_esm == bundle
    assert {"_esm", "_labkit_plotly_esm", "_labkit_plotly_key"} <= set(fig.get_state())
    assert demo.sync_figures(view) == 1 and fig._labkit_plotly_esm == bundle  # idempotent
    sent = []
    fig.observe(lambda change: sent.append(change["new"]), names="_py2js_update")
    view.select(["dp"])  # the Python side still sends its updates as plotly's messages
    assert any(msg and msg["style_data"].get("x") for msg in sent)
    assert list(fig.data[1].x) == [1.6]
