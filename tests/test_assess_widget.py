"""Notebook 10's widget (labkit.widgets.assess): three ways in, the upload checks, Check, Assess and the report.

The upload path is driven with real file bytes: an ONNX model exported here from a
torch MLP trained on scikit-learn's iris data, and that data as .npz and as .csv.
Bad uploads (wrong extension, too big, corrupt bytes, a pickle) end in a sentence
in the widget, never an exception.
"""

from __future__ import annotations

import datetime
import io
import stat
import warnings

import numpy as np
import pytest

from labkit.errors import InvalidInput
from labkit.widgets import assess as aw
from labkit.workload import Workload, examples


@pytest.fixture(scope="module")
def iris_files(iris_mlp):
    """(onnx bytes, npz bytes, csv bytes with the label first, named 'species') of an iris MLP."""
    import pandas as pd
    import torch

    X, y, model = iris_mlp(epochs=60)
    buf = io.BytesIO()
    with warnings.catch_warnings():  # torch's notice about its legacy exporter, which the lab uses on purpose
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model.eval(), torch.zeros(1, 4), buf, dynamo=False, input_names=["x"], output_names=["y"])
    npz = io.BytesIO()
    np.savez(npz, X=X, y=y)
    frame = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    frame.insert(0, "species", y)
    return buf.getvalue(), npz.getvalue(), frame.to_csv(index=False).encode(), X, y


def _entry(name: str, content: bytes) -> dict:
    """One file as ipywidgets' FileUpload holds it."""
    return {
        "name": name,
        "type": "",
        "size": len(content),
        "content": memoryview(content),
        "last_modified": datetime.datetime.now(tz=datetime.timezone.utc),
    }


def test_upload_npz_gives_the_same_workload_as_the_arrays(iris_files):
    onnx_bytes, npz, _, X, y = iris_files
    w = aw.load_uploads([("iris mlp.onnx", onnx_bytes), ("iris.npz", npz)])
    direct = Workload.from_onnx(onnx_bytes, X, y)
    assert w.input_shape == (4,) and w.n_outputs == 3 and len(w.X_train) + len(w.X_test) == 150
    assert w.digest == direct.digest  # same model bytes, same split: the same workload
    assert w.source == "files: iris_mlp.onnx + iris.npz" and w.name == "iris_mlp"
    assert w.accuracy() > 0.8


def test_upload_csv_reads_the_named_label_column(iris_files):
    onnx_bytes, _, csv, X, y = iris_files
    w = aw.load_uploads([("m.onnx", onnx_bytes), ("iris.csv", csv)], label="species")
    assert w.digest == Workload.from_onnx(onnx_bytes, X, y).digest
    # without the label column named, the last feature column is taken as labels: refused with why
    with pytest.raises(InvalidInput, match="whole class numbers"):
        aw.load_uploads([("m.onnx", onnx_bytes), ("iris.csv", csv)], label=" ")


def test_uploads_go_to_a_private_folder_under_safe_names_and_are_removed(iris_files, monkeypatch):
    onnx_bytes, npz, *_ = iris_files
    seen = {}
    original = Workload.load.__func__

    def spy(cls, model_path, data_path, **kw):
        seen["mode"] = stat.S_IMODE(model_path.parent.stat().st_mode)
        seen["paths"] = (model_path, data_path)
        return original(cls, model_path, data_path, **kw)

    monkeypatch.setattr(Workload, "load", classmethod(spy))
    aw.load_uploads([("../../etc/evil name.onnx", onnx_bytes), ("C:\\x\\data.npz", npz)])
    model_path, data_path = seen["paths"]
    assert seen["mode"] == 0o700
    assert model_path.name == "evil_name.onnx" and data_path.name == "data.npz"
    assert model_path.parent == data_path.parent and not model_path.parent.exists()


@pytest.mark.parametrize(
    "files, words",
    [
        (lambda o, n: [("model.txt", o), ("d.npz", n)], "not .txt"),
        (lambda o, n: [("model.pt", b"\x80\x04junk"), ("d.npz", n)], "can run code"),
        (lambda o, n: [("model.onnx", b"\x08\x07 not a model"), ("d.npz", n)], "not a valid ONNX file"),
        (lambda o, n: [("model.onnx", o), ("d.npz", b"PK\x03\x04 corrupt")], "not a readable .npz"),
        (lambda o, n: [("model.onnx", o), ("d.npz", b"")], "empty"),
        (lambda o, n: [("a.onnx", o), ("b.onnx", o), ("d.npz", n)], "exactly one model"),
        (lambda o, n: [("model.onnx", o)], "0 data file"),
        (lambda o, n: [], "upload two files"),
    ],
)
def test_bad_uploads_give_a_sentence_in_the_widget_not_an_exception(iris_files, files, words):
    onnx_bytes, npz, *_ = iris_files
    with pytest.raises(InvalidInput, match=words):
        aw.load_uploads(files(onnx_bytes, npz))
    box = aw.assess_panel(fast=True)
    assert box.upload_files(files(onnx_bytes, npz)) is None
    assert words in box.status.value.replace("&#x27;", "'") and "Traceback" not in box.status.value
    assert box.state["workload"] is None and box.controls["check"].disabled


def test_oversized_upload_is_refused_before_it_is_written(iris_files, monkeypatch):
    onnx_bytes, npz, *_ = iris_files
    monkeypatch.setenv(aw.ENV_MAX_UPLOAD_MB, str(len(npz) / 2**20 / 2))  # half the data file
    box = aw.assess_panel(fast=True)
    box.upload_files([("m.onnx", onnx_bytes), ("d.npz", npz)])
    assert "over the" in box.status.value and "limit for an upload" in box.status.value
    assert box.state["workload"] is None


def test_the_file_upload_control_loads_with_the_label_field(iris_files):
    onnx_bytes, _, csv, *_ = iris_files
    box = aw.assess_panel(fast=True)
    box.controls["source"].value = "upload"
    box.controls["label"].value = "species"
    box.controls["upload"].value = (_entry("iris.onnx", onnx_bytes), _entry("iris.csv", csv))
    w = box.state["workload"]
    assert w is not None and w.n_outputs == 3 and "iris" in box.status.value
    assert not box.controls["check"].disabled and not box.controls["assess"].disabled
    # the Load button reads the same control again
    assert box.load().digest == w.digest


def test_example_and_paths_are_the_same_workload(tmp_path):
    box = aw.assess_panel(initial="digits_mlp", fast=True)
    assert box.state["workload"] is None  # nothing loads until asked
    example = box.load()
    assert example is examples.workload("digits_mlp") and "digits_mlp" in box.status.value
    model_path, data_path = examples.save("digits_mlp", tmp_path)
    box.controls["source"].value = "paths"
    box.controls["model_path"].value, box.controls["data_path"].value = str(model_path), f" {data_path} "
    assert box.load().digest == example.digest
    box.controls["data_path"].value = str(tmp_path / "missing.npz")
    assert box.load() is None and "does not exist" in box.status.value


def test_check_fills_the_support_table_for_the_ticked_techniques(iris_files):
    onnx_bytes, npz, *_ = iris_files
    box = aw.assess_panel(fast=True)
    box.controls["check"].click()
    assert "load a workload first" in box.status.value  # before anything is loaded: a sentence
    box.upload_files([("m.onnx", onnx_bytes), ("d.npz", npz)])
    box.controls["techniques"].value = ("he", "pqc")
    box.controls["check"].click()
    table = box.support.value
    rows = table.count("<tr>") - 1
    assert rows == 2 and "<td>he</td><td>yes</td>" in table and "<td>pqc</td><td>yes</td>" in table
    assert " s</td>" in table and " MB</td>" in table  # each row carries its own estimate


def test_assess_draws_the_chart_and_writes_the_report(iris_files, tmp_path):
    onnx_bytes, npz, *_ = iris_files
    box = aw.assess_panel(fast=True, techniques=["pqc"])
    box.controls["report"].click()  # nothing assessed yet: no report, a sentence
    box.upload_files([("iris.onnx", onnx_bytes), ("iris.npz", npz)])
    box.controls["budget"].value = 0.001  # 0.06 s: no technique fits, refused before anything runs
    box.controls["assess"].click()
    assert "fits no technique" in box.findings.value and box.state["assessment"] is None
    box.controls["budget"].value = 0
    box.controls["assess"].click()
    a = box.state["assessment"]
    assert a is not None and [r.technique for r in a.results] == ["pqc"] and a.result("pqc").metrics["overhead"] > 0
    assert [t.name for t in box.chart.data if t.name.startswith("iris:")] == ["iris: pqc"]
    assert "pqc" in box.findings.value and not box.controls["report"].disabled
    box.controls["report_name"].value = str(tmp_path / "iris.txt")
    box.controls["report"].click()
    assert "ending in .html" in box.report_link.value
    box.controls["report_name"].value = str(tmp_path / "iris.html")
    box.controls["report"].click()
    page = (tmp_path / "iris.html").read_text()
    assert "Report written" in box.report_link.value and "assess-plot" in page and "tech-pqc" in page


def test_a_preset_assessment_is_shown_at_once(iris_files):
    import labkit

    onnx_bytes, npz, *_ = iris_files
    w = aw.load_uploads([("iris.onnx", onnx_bytes), ("iris.npz", npz)])
    a = labkit.assess(w, techniques=["pqc"], fast=True)
    box = aw.assess_panel(workload=w, assessment=a, fast=True)
    assert box.state["assessment"] is a and "iris" in box.status.value and "<td>pqc</td>" in box.support.value
    assert any(t.name == "iris: pqc" for t in box.chart.data)
