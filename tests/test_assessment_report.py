"""labkit assess's time budget, its HTML report and the workload filter of the dashboard and labkit report."""

from __future__ import annotations

import pytest
import torch

from labkit import assessment, assessment_report, overview, report, techniques
from labkit.errors import InvalidInput
from labkit.results import ResultStore
from labkit.widgets import dashboard
from labkit.workload import Workload

nn = torch.nn


@pytest.fixture(scope="module")
def iris(iris_mlp):
    """A small MLP trained here on scikit-learn's iris data: a workload from outside the lab."""
    X, y, model = iris_mlp()
    return Workload.from_torch(model, X, y, name="iris-mlp")


@pytest.fixture(scope="module")
def assessed(iris, tmp_path_factory):
    """pqc (measured) and tee (simulated and modelled), run for real in fast mode."""
    store = ResultStore(tmp_path_factory.mktemp("store") / "s.sqlite")
    found = assessment.assess(iris, techniques=["pqc", "tee"], store=store, fast=True)
    return found, store


def test_a_budget_no_technique_fits_is_refused_before_anything_runs(iris, tmp_path):
    store = ResultStore(tmp_path / "s.sqlite")
    seconds = {k: assessment.estimated_seconds(s, fast=True) for k, s in assessment.check(iris).items()}
    cheapest = min(seconds, key=seconds.get)
    with pytest.raises(InvalidInput) as err:
        assessment.assess(iris, store=store, fast=True, budget_minutes=seconds[cheapest] / 60 / 4)
    message = str(err.value)
    assert f"the cheapest, {cheapest}" in message and "at least" in message
    assert all(k in message for k in seconds)  # every estimate is named, so the user sees what would fit
    assert len(store) == 0
    with pytest.raises(InvalidInput, match="positive"):
        assessment.assess(iris, fast=True, budget_minutes=-1)


def test_what_does_not_fit_the_budget_is_skipped_with_the_reason_never_half_run(iris, tmp_path):
    table = assessment.check(iris, techniques=["pqc", "inversion"])
    cheap, dear = (assessment.estimated_seconds(table[k], fast=True) for k in ("pqc", "inversion"))
    assert cheap < dear  # the premise: a budget between the two fits pqc and not inversion
    store = ResultStore(tmp_path / "s.sqlite")
    budget = (cheap + dear) / 2  # pqc starts (its estimate fits); inversion never has more than this left
    found = assessment.assess(iris, techniques=["pqc", "inversion"], store=store, fast=True, budget_minutes=budget / 60)
    assert found.result("pqc") is not None and found.result("inversion") is None
    assert "skipped" in found.skipped["inversion"] and "estimate" in found.skipped["inversion"]
    assert [r.technique for r in store.query()] == ["pqc"]  # nothing of the skipped one was stored
    assert "inversion  supported, skipped" in str(found)


def test_the_report_names_every_technique_and_labels_every_number(assessed, iris, tmp_path):
    found, store = assessed
    # the other techniques answer the support check (seconds) and appear with their estimates
    full = assessment.Assessment(iris, assessment.check(iris), found.results, fast=True)
    path = assessment_report.write(full, tmp_path / "r.html", store=store, command="labkit assess --example x")
    page = path.read_text(encoding="utf-8")
    for t in techniques.registry():
        assert t.title in page and f"id='tech-{t.key}'" in page
    for kind in ("measured", "simulated", "modelled"):
        assert f"k-{kind}'>{kind}</span>" in page
    tee = found.result("tee")
    assert assessment_report.kind_of(tee, "overhead") == "simulated"
    assert "<script src=" not in page and "Plotly.newPlot" in page  # self-contained, offline
    assert "labkit assess --example x --techniques pqc" in page
    assert f"{iris.accuracy():.2%}" in page  # the workload's plaintext accuracy, printed from the run
    assert not list(tmp_path.glob("*.part"))
    with pytest.raises(InvalidInput, match=r"\.html"):
        assessment_report.write(full, tmp_path / "r.pdf")


def test_the_reading_is_built_from_the_numbers(assessed):
    found, _ = assessed
    lines = assessment_report.reading(found)
    pqc, tee = found.result("pqc"), found.result("tee")
    transit = " ".join(lines[techniques.get("pqc").data_state])
    assert f"{pqc.metrics['overhead']:.3g}x" in transit
    in_use = " ".join(lines[techniques.get("tee").data_state])
    assert f"{tee.metrics['overhead']:.3g}x" in in_use and "(simulated)" in in_use


def test_assess_points_carry_their_workload_and_filter(assessed):
    found, store = assessed
    pts = overview.points(store)
    assert {p.workload for p in pts} == {"iris-mlp"}
    assert overview.workloads(pts) == [overview.ALL, overview.LAB_WORKLOAD, "iris-mlp"]
    assert overview.filter_points(pts, workload=overview.LAB_WORKLOAD) == []
    assert len(overview.filter_points(pts, workload="iris-mlp")) == len(pts) == 2
    tee_point = next(p for p in pts if p.technique == "tee")
    assert tee_point.kind == "simulated"


def test_dashboard_and_report_filter_by_workload(assessed, tmp_path):
    _, store = assessed
    box = dashboard.dashboard(store)
    assert box.workload.options == (overview.LAB_WORKLOAD, "iris-mlp") and "iris-mlp" in box.workload.value
    box.workload.value = (overview.LAB_WORKLOAD,)
    assert sum(len(v) for v in box.shown.values()) == 0
    box.workload.value = ("iris-mlp",)
    assert sum(len(v) for v in box.shown.values()) == 2
    assert len(overview.filter_points(overview.points(store), workload=[overview.LAB_WORKLOAD, "iris-mlp"])) == 2
    path, _ = report.write(tmp_path / "claims.html", store=store, workload="iris-mlp")
    assert "(workload: iris-mlp)" in path.read_text(encoding="utf-8")
    with pytest.raises(InvalidInput, match="iris-mlp"):
        report.write(tmp_path / "other.html", store=store, workload="no-such-model")
