"""Widget of notebook 10: load your workload (an example, file paths, or an upload), check it, assess it.

Three ways in, so it works where there is no terminal (Binder): a built-in
example (:mod:`labkit.workload.examples`), two file paths, or an upload of an
``.onnx`` model and ``.npz``/``.csv`` data. Every way ends in the intake's
:meth:`labkit.workload.Workload.load` (or the example's own constructor), so
uploaded files get the same checks as files on disk: size limits, safe parsing,
shapes, labels. Then **Check** shows each technique's support answer and
estimate (seconds, no cryptography), **Assess** runs :func:`labkit.assess`
with progress bars, an optional choice of techniques and a time budget, and
draws the cost-against-protection chart of :mod:`labkit.assessment_report`;
**Write report** writes that module's self-contained HTML page.

:func:`load_uploads`, :func:`load_paths` and :func:`load_example` are the plain
functions beneath the controls (tests call them and the widget's own handlers
directly); all logic stays in :mod:`labkit.assessment` and
:mod:`labkit.assessment_report`.

References
----------
ipywidgets documentation, ``FileUpload`` (value: a tuple of dicts with ``name``,
``size`` and ``content`` bytes), https://ipywidgets.readthedocs.io/.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, LabkitError

MODEL_SUFFIXES = (".onnx",)
DATA_SUFFIXES = (".npz", ".csv")
UNSAFE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin", ".joblib")
ENV_MAX_UPLOAD_MB = "LABKIT_MAX_UPLOAD_MB"


def max_upload_bytes() -> int:
    """Largest uploaded file: ``LABKIT_MAX_UPLOAD_MB`` (default 100 MB; an upload travels whole through the page)."""
    raw = os.environ.get(ENV_MAX_UPLOAD_MB, "100")
    try:
        return int(float(raw) * 2**20)
    except ValueError:
        raise InvalidInput(f"{ENV_MAX_UPLOAD_MB}={raw!r} must be a number of megabytes.") from None


def _as_pairs(files: Any) -> list[tuple[str, bytes]]:
    """(name, bytes) of each file: FileUpload's value (dicts with name and content) or (name, bytes) pairs."""
    if isinstance(files, dict):  # ipywidgets 7: {name: {"content": ...}}
        files = [{"name": k, **v} for k, v in files.items()]
    pairs = []
    for f in files or ():
        if isinstance(f, dict):
            name, content = f.get("name"), f.get("content")
        else:
            name, content = f
        if not isinstance(name, str) or content is None:
            raise InvalidInput("each uploaded file needs a name and its bytes.")
        pairs.append((name, bytes(content)))
    return pairs


def _safe_name(name: str, *, default: str) -> str:
    """The file's own base name with only letters, digits, dot, dash and underscore (never a path)."""
    base = Path(name.replace("\\", "/")).name
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(base).stem).strip("._")[:64] or default
    return stem + Path(base).suffix.lower()


def _sort_uploads(pairs: Sequence[tuple[str, bytes]]) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    """The one model file and the one data file among the uploads, or a sentence saying what to upload."""
    if not pairs:
        raise InvalidInput("upload two files: the model (.onnx) and its data (.npz or .csv).")
    models, data = [], []
    for name, content in pairs:
        suffix = Path(name).suffix.lower()
        if suffix in UNSAFE_SUFFIXES:
            raise InvalidInput(
                f"{name}: PyTorch and pickle files can run code when loaded, so the lab does not open them. "
                "Export the model to ONNX (torch.onnx.export) and upload the .onnx file."
            )
        if suffix in MODEL_SUFFIXES:
            models.append((name, content))
        elif suffix in DATA_SUFFIXES:
            data.append((name, content))
        else:
            raise InvalidInput(
                f"{name}: upload the model as .onnx and the data as .npz or .csv, not {suffix or 'a file without extension'}."
            )
    if len(models) != 1 or len(data) != 1:
        raise InvalidInput(
            f"upload exactly one model (.onnx) and one data file (.npz or .csv); got {len(models)} model "
            f"file(s) and {len(data)} data file(s)."
        )
    return models[0], data[0]


def load_uploads(files: Any, *, label: str | int | None = None, name: str | None = None):
    """A :class:`~labkit.workload.Workload` from uploaded files (FileUpload's value, or (name, bytes) pairs).

    The files are checked (one ``.onnx`` and one ``.npz``/``.csv``, sizes), written
    under their sanitised names into a private temporary folder (mode 0700, removed
    afterwards) and read by :meth:`Workload.load` with all its checks. Raises
    :class:`~labkit.errors.InvalidInput` with what to change.
    """
    from ..workload import Workload
    from ..workload.data import max_data_bytes
    from ..workload.onnxfile import max_model_bytes

    (model_name, model_bytes), (data_name, data_bytes) = _sort_uploads(_as_pairs(files))
    upload_limit = max_upload_bytes()
    for fname, content, limit in (
        (model_name, model_bytes, max_model_bytes()),
        (data_name, data_bytes, max_data_bytes()),
    ):
        cap = min(limit, upload_limit)
        if not content:
            raise InvalidInput(f"{fname} is empty (0 bytes): upload the file again.")
        if len(content) > cap:
            raise InvalidInput(
                f"{fname} is {len(content) / 2**20:.1f} MB, over the {cap / 2**20:.0f} MB limit for an upload; "
                "upload a sample of the data, or give the files' paths instead."
            )
    label = _label(label)
    with tempfile.TemporaryDirectory(prefix="labkit-upload-") as folder:  # created 0700: this user only
        model_path = Path(folder) / _safe_name(model_name, default="model")
        data_path = Path(folder) / _safe_name(data_name, default="data")
        model_path.write_bytes(model_bytes)
        data_path.write_bytes(data_bytes)
        return Workload.load(model_path, data_path, label=label, name=name or None)


def load_paths(model_path: str | os.PathLike, data_path: str | os.PathLike, *, label: str | int | None = None):
    """A :class:`~labkit.workload.Workload` from file paths (:meth:`Workload.load`)."""
    if not str(model_path).strip() or not str(data_path).strip():
        raise InvalidInput("give both paths: the model (.onnx) and its data (.npz or .csv).")
    from ..workload import Workload

    return Workload.load(
        Path(str(model_path).strip()).expanduser(), Path(str(data_path).strip()).expanduser(), label=_label(label)
    )


def load_example(name: str):
    """One of the lab's demonstration workloads (:func:`labkit.workload.examples.workload`)."""
    from ..workload import examples

    return examples.workload(name)


def _label(label: str | int | None) -> str | int | None:
    """The CSV label column: None (the last column) for blank, an index for a whole number, else a name."""
    if label is None or isinstance(label, int):
        return label
    text = str(label).strip()
    if not text:
        return None
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def describe(workload) -> str:
    """HTML lines: the workload's source, shape, size and plaintext accuracy (from its summary)."""
    s = workload.summary()
    esc = html.escape
    return (
        f"<b>{esc(workload.name)}</b> ({esc(s['source'])}): input {s['input_shape']}, {s['outputs']} outputs, "
        f"{s['parameters']:,} parameters, {s['train_samples']:,} training and {s['test_samples']:,} test samples, "
        f"plaintext test accuracy {s['accuracy']:.1%}; digest <code>{esc(s['digest'][:16])}</code>"
    )


def support_html(table: dict, *, fast: bool) -> str:
    """The support table: each technique's answer, the reasons, what it changes, its own time and memory estimate."""
    from ..assessment import estimated_seconds

    esc = html.escape
    rows = []
    for key, s in table.items():
        why = "; ".join(str(p) for p in s.problems)
        secs = estimated_seconds(s, fast=fast) if s.supported else None
        mem = s.estimate.get("memory_bytes")
        rows.append(
            f"<tr><td>{esc(key)}</td><td>{'yes' if s.supported else '<b>no</b>'}</td>"
            f"<td>{'' if secs is None else f'{secs:.0f} s'}</td>"
            f"<td>{'' if mem is None else f'{mem / 2**20:,.0f} MB'}</td>"
            f"<td>{esc(why or '; '.join(s.notes))}</td></tr>"
        )
    return (
        "<table class='labkit-support'><tr><th>technique</th><th>supported</th><th>estimated time "
        f"({'fast' if fast else 'default'} mode)</th><th>memory</th><th>why not / what it changes</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _link(path: Path) -> str:
    """A link the notebook's page can follow (a file beside the notebook), else the path itself."""
    try:
        relative = path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return f"<code>{html.escape(str(path))}</code>"
    return f"<a href='{html.escape(relative.as_posix())}' target='_blank'>{html.escape(str(path))}</a>"


def _error(exc: BaseException) -> str:
    if isinstance(exc, LabkitError):
        text = str(exc)
    else:  # never a traceback in the widget: the kind of error and its message
        text = f"unexpected {type(exc).__name__}: {exc}"
    return f"<span style='color:#b00020'>&#10070; {html.escape(text)}</span>"


def assess_panel(
    *,
    initial: str = "digits_cnn",
    techniques: Iterable[str] | None = None,
    budget_minutes: float | None = None,
    fast: bool | None = None,
    store=None,
    report_path: str | os.PathLike = "report.html",
    workload=None,
    assessment=None,
):
    """Load a workload three ways, then Check, Assess and Write report.

    Parameters
    ----------
    initial : str
        The example selected (and loaded) first.
    techniques : names, optional
        Techniques ticked at first (default: every technique with assess doors).
    budget_minutes : float, optional
        The time budget shown at first (0 or None: no budget).
    fast : bool, optional
        Fast mode for Check's estimates and Assess (default: ``LABKIT_FAST``).
    store : ResultStore, optional
        Where Assess stores its Results and where the chart finds the lab's own points.
    report_path : path
        Where Write report writes the page.
    workload : Workload, optional
        Shown as loaded at once (e.g. the notebook's own).
    assessment : Assessment, optional
        An assessment already run on ``workload``: its table and chart are shown at once.

    Returns an ``ipywidgets.VBox`` with handles for notebooks and tests: ``box.state``
    (``"workload"``, ``"assessment"``), ``box.load()``, ``box.upload_files(files)``, ``box.check()``,
    ``box.assess()``, ``box.write_report()``, ``box.status``, ``box.support``, ``box.chart``,
    ``box.controls``.
    """
    import ipywidgets as w

    from .. import assessment as assessment_mod
    from .. import assessment_report, config
    from .. import techniques as registry
    from ..workload import examples
    from .figure import figure_widget

    fast = config.fast() if fast is None else bool(fast)
    keys = [t.key for t in registry.registry() if t.assessable]
    chosen = list(techniques) if techniques is not None else keys

    source = w.ToggleButtons(options=[("example", "example"), ("file paths", "paths"), ("upload", "upload")])
    example = w.Dropdown(options=list(examples.NAMES), value=initial, description="example")
    model_path = w.Text(placeholder="path/to/model.onnx", description="model")
    data_path = w.Text(placeholder="path/to/data.npz or .csv", description="data")
    upload = w.FileUpload(accept=".onnx,.npz,.csv", multiple=True, description="model + data")
    label = w.Text(placeholder="blank: the last column", description="CSV label")
    load_button = w.Button(description="Load", icon="folder-open")
    pages = {
        "example": w.HBox([example]),
        "paths": w.VBox([model_path, data_path, label]),
        "upload": w.VBox(
            [
                upload,
                w.HTML("One <code>.onnx</code> model and one <code>.npz</code> or <code>.csv</code> data file."),
                label,
            ]
        ),
    }
    page = w.Box([pages["example"]])
    status = w.HTML()
    pick = w.SelectMultiple(
        options=keys, value=[k for k in chosen if k in keys], description="techniques", rows=len(keys)
    )
    budget = w.BoundedFloatText(value=budget_minutes or 0.0, min=0.0, max=600.0, step=0.5, description="budget (min)")
    check_button = w.Button(description="Check", icon="list", disabled=True)
    assess_button = w.Button(description="Assess", icon="play", disabled=True)
    report_button = w.Button(description="Write report", icon="file", disabled=True)
    report_name = w.Text(value=str(report_path), description="report")
    support = w.HTML()
    log = w.Output()  # the progress bars of an assessment
    findings = w.HTML()
    report_link = w.HTML()
    chart = figure_widget()
    chart.update_layout(height=420, title="Cost against protection: run Assess to draw it")
    state: dict[str, Any] = {"workload": None, "assessment": None}

    def _set_workload(workload) -> None:
        state["workload"], state["assessment"] = workload, None
        status.value = describe(workload)
        support.value = findings.value = report_link.value = ""
        check_button.disabled = assess_button.disabled = False
        report_button.disabled = True

    def _fail(exc: BaseException) -> None:
        status.value = _error(exc)

    def show_source(*_):
        page.children = [pages[source.value]]

    def load(_=None):
        try:
            if source.value == "example":
                workload = load_example(example.value)
            elif source.value == "paths":
                workload = load_paths(model_path.value, data_path.value, label=label.value)
            else:
                workload = load_uploads(upload.value, label=label.value)
        except Exception as exc:  # shown in the widget, never a traceback
            _fail(exc)
            return None
        _set_workload(workload)
        return workload

    def upload_files(files) -> Any:
        """What an upload does: load the files (name and bytes) as a workload, or show why not."""
        try:
            workload = load_uploads(files, label=label.value)
        except Exception as exc:
            _fail(exc)
            return None
        _set_workload(workload)
        return workload

    def _techniques() -> list[str]:
        if not pick.value:
            raise InvalidInput("tick at least one technique.")
        return list(pick.value)

    def check(_=None):
        if state["workload"] is None:
            status.value = _error(InvalidInput("load a workload first."))
            return None
        try:
            table = assessment_mod.check(state["workload"], techniques=_techniques())
        except Exception as exc:
            support.value = _error(exc)
            return None
        support.value = support_html(table, fast=fast)
        return table

    def assess(_=None):
        if state["workload"] is None:
            status.value = _error(InvalidInput("load a workload first."))
            return None
        assess_button.disabled = True
        try:
            with log:
                result = assessment_mod.assess(
                    state["workload"],
                    techniques=_techniques(),
                    store=store,
                    progress=True,
                    fast=fast,
                    budget_minutes=budget.value or None,
                )
        except Exception as exc:
            findings.value = _error(exc)
            return None
        finally:
            assess_button.disabled = False
        _show(result)
        return result

    def _show(result) -> None:
        state["assessment"] = result
        support.value = support_html(result.support, fast=result.fast)
        findings.value = result._repr_html_()
        fresh = assessment_report.figure(result, store=store)
        with chart.batch_update():
            chart.data = ()
            chart.add_traces(list(fresh.data))
            chart.layout = fresh.layout
        report_button.disabled = False

    def write_report(_=None):
        if state["assessment"] is None:
            report_link.value = _error(InvalidInput("run Assess first: the report is written from its Results."))
            return None
        try:
            path = assessment_report.write(state["assessment"], report_name.value, store=store)
        except Exception as exc:
            report_link.value = _error(exc)
            return None
        report_link.value = f"Report written: {_link(path)} (self-contained; opens offline in any browser)"
        return path

    source.observe(show_source, names="value")
    load_button.on_click(load)
    upload.observe(lambda change: upload_files(change["new"]) if change["new"] else None, names="value")
    check_button.on_click(check)
    assess_button.on_click(assess)
    report_button.on_click(write_report)

    box = w.VBox(
        [
            w.HTML("<b>1. Your workload</b>"),
            source,
            page,
            load_button,
            status,
            w.HTML("<b>2. Check and assess</b>"),
            w.HBox([pick, w.VBox([budget, w.HBox([check_button, assess_button])])]),
            support,
            log,
            findings,
            chart,
            w.HBox([report_name, report_button]),
            report_link,
        ]
    )
    box.load, box.upload_files, box.check, box.assess, box.write_report = (
        load,
        upload_files,
        check,
        assess,
        write_report,
    )
    box.status, box.support, box.findings, box.chart, box.report_link = status, support, findings, chart, report_link
    box.controls = {
        "source": source, "example": example, "model_path": model_path, "data_path": data_path, "upload": upload,
        "label": label, "load": load_button, "techniques": pick, "budget": budget, "check": check_button,
        "assess": assess_button, "report": report_button, "report_name": report_name,
    }  # fmt: skip
    box.state = state  # {"workload": ..., "assessment": ...}: what is loaded and the last assessment
    if workload is not None:
        _set_workload(workload)
    if assessment is not None:
        _show(assessment)
    return box
