"""The PET Lab web app: the lab's views as a Voila page on 127.0.0.1 (``make demo``).

The app is one notebook that calls :func:`app`; Voila runs it in a kernel and
shows only the widgets (no code). The notebook is generated at start into
``build/demo/`` (Voila serves ``.ipynb`` files; the curriculum is kept as
jupytext ``.py`` scripts), so nothing generated is committed.

What the app shows is the :data:`VIEWS` registry, one line per view, in page
order: the overhead-vs-privacy dashboard (measured Results from the
ResultStore), the layered-defense capstone (its stored stacks, or a button that
measures them) and the catalogue of techniques with their claimed costs. A view
that fails to build shows the error in its place instead of breaking the page.

Run it with ``make demo`` or ``python -m labkit.demo [--port N] [--no-browser]
[--token T]``; it prints the URL with its access token. The views read the
ResultStore (``LABKIT_HOME``): on a fresh machine ``labkit bench --fast`` (or
``make report``) and notebook 09 fill it.

References
----------
.. [1] Voila: rendering of live Jupyter notebooks with interactive widgets,
   https://voila.readthedocs.io
"""

from __future__ import annotations

import argparse
import html
import importlib
import os
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import config

if TYPE_CHECKING:
    from .results import Result, ResultStore

APP_NAME = "petlab_demo"
DEFAULT_PORT = 8866


@dataclass(frozen=True)
class View:
    """One section of the app: ``module.factory(**kwargs)`` builds its widget.

    Parameters
    ----------
    key : str
        Short name; the section carries the CSS class ``labkit-view-<key>``.
    title : str
        Section heading.
    module : str
        Importable module holding the factory, e.g. ``"labkit.widgets.tee"``.
    factory : str
        Name of a function in ``module`` returning an ipywidgets widget; it must
        not run long work on build (a button or a control starts that).
    kwargs : dict
        Keyword arguments for the factory.
    """

    key: str
    title: str
    module: str
    factory: str
    kwargs: dict[str, Any] = field(default_factory=dict)


NO_LINKS = {"notebook_links": False}  # the app serves its own notebook only: name the others, do not link them

# One line per view, in page order.
VIEWS: tuple[View, ...] = (
    View("dashboard", "Overhead against what it protects, measured", "labkit.widgets.dashboard", "dashboard", NO_LINKS),
    View("capstone", "Layered defense: one federated round, layers on and off", "labkit.demo", "capstone_view"),
    View("claims", "Techniques and their claimed costs", "labkit.widgets.start", "explorer"),
)


def stored_capstone_results(store: ResultStore | None = None) -> list[Result]:
    """The newest capstone Result of each stack, among runs with the newest run's settings.

    Runs with other settings (full against fast mode, another setup) are left
    out, so the frontier compares like with like.
    """
    from .results import ResultStore

    store = store if store is not None else ResultStore()
    found = store.query("capstone", "layered_round")
    if not found:
        return []

    def settings(r: Result) -> dict[str, Any]:
        return {k: v for k, v in r.params.items() if k != "layers"}

    reference, seen, out = settings(found[0]), set(), []
    for r in found:  # newest first
        stack = tuple(r.params.get("layers", ()))
        if settings(r) == reference and stack not in seen:
            seen.add(stack)
            out.append(r)
    return out


def capstone_view(store: ResultStore | None = None):
    """The capstone explorer over the stored stacks; with none stored, a button that measures them.

    Measuring runs :func:`labkit.capstone.compare` on the standard stacks (the
    ``zk`` layer alone takes tens of seconds) and stores the Results, so the
    next visit starts from them.
    """
    import ipywidgets as w

    from .results import ResultStore
    from .widgets.capstone import explorer

    store = store if store is not None else ResultStore()
    results = stored_capstone_results(store)
    if results:
        return explorer(results)
    note = w.HTML(
        "<p>No capstone run is stored yet. Run notebook <code>09_layered_defense</code>, or measure the "
        "standard stacks here: each runs for real, and the zk layer is the slow one.</p>"
    )
    button = w.Button(description="measure the stacks", icon="play")
    box = w.VBox([note, button])

    def measure(_button=None):
        from . import capstone

        button.disabled = True
        note.value = "<p>Measuring the standard stacks ...</p>"
        try:
            measured = capstone.compare(store=store)
        except Exception as exc:  # shown in the page: a button callback has nowhere else to report
            note.value = f"<p style='color:#b00020'>The run failed: {html.escape(f'{type(exc).__name__}: {exc}')}</p>"
            button.disabled = False
            return
        box.children = [explorer(measured)]

    button.on_click(measure)
    box.measure = measure  # for tests and notebooks
    return box


def build_view(view: View):
    """The view's widget, or an HTML panel (CSS class ``labkit-view-error``) saying why it could not be built."""
    import ipywidgets as w

    try:
        factory = getattr(importlib.import_module(view.module), view.factory)
        return factory(**view.kwargs)
    except Exception as exc:  # one broken view must not take the whole app down
        text = f"{type(exc).__name__}: {exc}"
        panel = w.HTML(
            f"<div style='color:#b00020'><b>This view could not be built</b> "
            f"({html.escape(view.module)}.{html.escape(view.factory)}): {html.escape(text)}</div>"
        )
        panel.add_class("labkit-view-error")
        return panel


def sync_figures(widget) -> int:
    """Ready each plotly FigureWidget for the page: current figure in the loaded state, front end loaded late.

    A FigureWidget puts its figure in its synced state only when it is created
    (or displayed on its own); later edits (``add_scatter``, ``update_layout``,
    ``batch_update``) travel as one-off messages. Voila runs the app before the
    page connects, so those messages reach no one: the state is refreshed here
    (as plotly's own ``_repr_mimebundle_`` does for a figure displayed alone),
    or a view that adds its traces after creating the figure would show an
    empty chart.

    Each figure also gets :func:`labkit.widgets.figure.defer_front_end`: the
    app loads all its figures at once, and a figure whose 5 MB front end takes
    anywidget more than 2 s to initialize never receives an update (its
    chart stays as first drawn while the controls around it work). Called on
    every view once built; returns how many figures it readied.
    """
    from copy import deepcopy

    from plotly.basewidget import BaseFigureWidget

    from .widgets.figure import defer_front_end

    if isinstance(widget, BaseFigureWidget):
        widget._widget_layout = deepcopy(widget._layout_obj._props)
        widget._widget_data = deepcopy(widget._data)
        defer_front_end(widget)
        return 1
    return sum(sync_figures(child) for child in getattr(widget, "children", ()))


def section(view: View):
    """A heading and the view's widget, in a box with the CSS class ``labkit-view-<key>``."""
    import ipywidgets as w

    widget = build_view(view)
    sync_figures(widget)
    box = w.VBox([w.HTML(f"<h2 style='margin:12px 0 4px'>{html.escape(view.title)}</h2>"), widget])
    box.add_class("labkit-view")
    box.add_class(f"labkit-view-{view.key}")
    return box


def app(views: Sequence[View] | None = None):
    """The app's widget: one section per view (default :data:`VIEWS`), top to bottom.

    Sections rather than tabs: a plotly figure drawn inside a hidden tab keeps
    the wrong size when the tab is shown.

    Examples
    --------
    >>> from labkit import demo
    >>> page = demo.app([demo.View("claims", "Claims", "labkit.widgets.start", "explorer")])
    >>> [s._dom_classes for s in page.children]
    [('labkit-view', 'labkit-view-claims')]
    """
    import ipywidgets as w

    page = w.VBox([section(v) for v in (VIEWS if views is None else views)])
    page.add_class("labkit-demo")
    return page


_INTRO = """# PET Lab

What privacy-enhancing technologies cost and what they protect, measured on this machine.
Each section is a view from the lab notebooks (`make lab` opens the notebooks themselves)."""


def write_notebook(path: str | os.PathLike | None = None) -> Path:
    """Write the app notebook (``.ipynb``) that Voila serves; returns its path."""
    import nbformat

    path = Path(path) if path is not None else config.repo_root() / "build" / "demo" / f"{APP_NAME}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(_INTRO),
        nbformat.v4.new_code_cell("from labkit import demo\n\ndemo.app()"),
    ]
    nbformat.validate(nb)
    nbformat.write(nb, path)
    return path


def voila_command(
    notebook: str | os.PathLike, *, port: int = DEFAULT_PORT, token: str | None = None, open_browser: bool = True
) -> list[str]:
    """The Voila command line ``make demo`` runs (the browser tests start the same one).

    Bound to 127.0.0.1; a token guards the page (a random one when not given).

    Examples
    --------
    >>> cmd = voila_command("app.ipynb", port=9000, token="t", open_browser=False)
    >>> "--Voila.ip=127.0.0.1" in cmd and "--port=9000" in cmd and "--no-browser" in cmd
    True
    """
    cmd = [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        "--Voila.ip=127.0.0.1",
        f"--port={int(port)}",
        "--Voila.port_retries=0",
        f"--Voila.token={token or secrets.token_hex(16)}",
        "--show_tracebacks=True",
        # JupyterLab-only extension, built for a newer lab than Voila ships: it fails to load there
        "--VoilaConfiguration.extension_denylist=jupyterlab-jupytext",
    ]
    if not open_browser:
        cmd.append("--no-browser")
    return cmd


def main(argv: list[str] | None = None) -> int:
    """``python -m labkit.demo``: write the app notebook and hand over to Voila."""
    parser = argparse.ArgumentParser(prog="python -m labkit.demo", description="Serve the PET Lab app with Voila.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LABKIT_DEMO_PORT", DEFAULT_PORT)))
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.add_argument("--token", default=None, help="access token (default: a random one, printed in the URL)")
    args = parser.parse_args(argv)
    notebook = write_notebook()
    token = args.token or secrets.token_hex(16)
    shown = "; ".join(v.title for v in VIEWS)
    print(
        f"PET Lab app ({shown}), served by Voila from {notebook}\n"
        f"open http://127.0.0.1:{args.port}/?token={token}  (Ctrl-C stops it)",
        flush=True,
    )
    cmd = voila_command(notebook, port=args.port, token=token, open_browser=not args.no_browser)
    os.execv(cmd[0], cmd)
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
