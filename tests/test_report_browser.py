"""The written HTML report opens in headless Chromium with the network off, and shows the table and the plots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labkit import report
from labkit.results import ResultStore

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTEFACTS = Path(__file__).resolve().parent.parent / "build" / "screenshots"  # as tests/browser keeps them

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Chromium not installed at {CHROMIUM}")


def test_report_opens_offline_with_claims_table_and_plots(tmp_path):
    from playwright.sync_api import sync_playwright
    from test_report import sample_results  # same folder: pytest puts it on sys.path

    store = ResultStore(tmp_path / "r.sqlite")
    store.add_many(sample_results())
    path, rows = report.write(tmp_path / "report.html", store=store)
    requested: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = browser.new_context(offline=True, viewport={"width": 1400, "height": 1000})

            def block(route):  # the page must need nothing but its own file
                requested.append(route.request.url)
                if route.request.url.startswith("file://"):
                    route.continue_()
                else:
                    route.abort()

            context.route("**/*", block)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_selector("#claims-plot .main-svg", timeout=20_000)
            table_rows = page.locator("#claims tbody tr")
            assert table_rows.count() == len(rows)
            assert "holds" in page.locator("#claims").inner_text()
            plots = page.evaluate(
                """() => ['claims-plot', 'overview-plot'].map(id => {
                       const el = document.getElementById(id);
                       return {traces: el.data.length,
                               points: el.data.reduce((n, t) => n + (t.x ? t.x.length : 0), 0),
                               drawn: el.querySelectorAll('.point').length};
                   })"""
            )
            ARTEFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTEFACTS / "report.png"), full_page=True)
        finally:
            browser.close()
    assert not errors
    assert [u for u in requested if not u.startswith("file://")] == []
    claims_plot, overview = plots
    measured = [r for r in rows if r.measured is not None and r.unit != "ms"]
    assert claims_plot["points"] >= len(measured) and claims_plot["drawn"] >= len(measured)
    assert overview["traces"] == 7 and overview["drawn"] > 0


def test_assessment_report_opens_offline_with_its_chart(tmp_path):
    """labkit assess --out: the page needs nothing but itself, and draws this workload's point on its chart."""
    import numpy as np
    import torch
    from playwright.sync_api import sync_playwright

    from labkit import assessment, assessment_report
    from labkit.workload import Workload

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    torch.manual_seed(0)
    w = Workload.from_torch(torch.nn.Sequential(torch.nn.Linear(6, 2)).eval(), X, y, name="tiny")
    found = assessment.assess(w, techniques=["pqc"], fast=True)
    path = assessment_report.write(found, tmp_path / "assess.html")
    requested: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = browser.new_context(offline=True, viewport={"width": 1300, "height": 900})

            def block(route):
                requested.append(route.request.url)
                (route.continue_ if route.request.url.startswith("file://") else route.abort)()

            context.route("**/*", block)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_selector("#assess-plot .main-svg", timeout=20_000)
            drawn = page.evaluate(
                """() => { const el = document.getElementById('assess-plot');
                           const mine = el.data.filter(t => t.name.startsWith('tiny: '));
                           return {mine: mine.map(t => t.name), points: el.querySelectorAll('.point').length}; }"""
            )
            reading = page.locator("#reading").inner_text()
            ARTEFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTEFACTS / "assessment-report.png"), full_page=True)
        finally:
            browser.close()
    assert not errors
    assert [u for u in requested if not u.startswith("file://")] == []
    assert drawn["mine"] == ["tiny: pqc"] and drawn["points"] >= 1
    assert f"{found.result('pqc').metrics['overhead']:.3g}x" in reading
