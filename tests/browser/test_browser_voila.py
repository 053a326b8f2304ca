"""`make demo`'s Voila app in headless Chromium: it loads, its widgets render, and moving a control
changes the data the page plots (read from the plotly graph divs), with a screenshot kept.

One Voila server (the command `make demo` runs) serves the module, with a
throw-away lab home whose store holds fixture Results (made up, so the test
checks what the page draws, not the labs' numbers); one page is loaded once
(one kernel) and the tests act on its sections. Everything is stopped at the
end, kernels included.
"""

from __future__ import annotations

import secrets
import urllib.error
import urllib.request

import pytest
from browserkit import (
    CAPSTONE_FIXTURE,
    PAGE_TIMEOUT_MS,
    fixture_results,
    free_port,
    listening_addresses,
    plot_data,
    port_open,
    screenshot,
    serve,
    server_env,
    wait_plots_ready,
)

from labkit import demo, techniques
from labkit.capstone import LAYERS
from labkit.results import ResultStore
from labkit.widgets import start

pytestmark = pytest.mark.timeout(300)
ACTION_TIMEOUT_MS = 30_000  # a control's round trip through the kernel


@pytest.fixture(scope="module")
def voila_app(browser, tmp_path_factory):
    """(base URL, token, server process) of the demo app on a free loopback port."""
    tmp = tmp_path_factory.mktemp("voila")
    env = server_env(tmp / "home")
    ResultStore(tmp / "home" / "labkit" / "results.sqlite").add_many(fixture_results())
    notebook = demo.write_notebook(tmp / "app" / f"{demo.APP_NAME}.ipynb")
    port, token = free_port(), secrets.token_hex(16)
    cmd = demo.voila_command(notebook, port=port, token=token, open_browser=False)
    with serve(cmd, env=env, log=tmp / "voila.log", ready=lambda: port_open(port)) as proc:
        yield f"http://127.0.0.1:{port}", token, proc


@pytest.fixture(scope="module")
def app_page(browser, voila_app):
    """The app, loaded once for the module: every section drawn and the Voila run finished."""
    base, token, _ = voila_app
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(f"{base}/?token={token}")
        page.wait_for_selector(".labkit-demo")
        for key in ("dashboard", "capstone", "claims"):
            page.wait_for_selector(f".labkit-view-{key} .js-plotly-plot")
            wait_plots_ready(page, f".labkit-view-{key}")
        yield page
    finally:
        context.close()


def _wait_plot(page, selector: str, condition: str, arg=None) -> None:
    """Wait (bounded) until ``condition`` holds for the graph div's data ``d`` (and ``arg``)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            f"""([sel, arg]) => {{
                const gd = document.querySelector(sel + ' .js-plotly-plot');
                if (!gd || !gd.data) return false;
                const d = gd.data;
                return {condition};
            }}""",
            arg=[selector, arg],
            timeout=ACTION_TIMEOUT_MS,
        )
    except PlaywrightTimeout:
        text = page.locator(selector).inner_text()[:600]
        pytest.fail(f"plot never met {condition!r} (arg {arg!r}); it holds {plot_data(page, selector)}; text: {text}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_voila_serves_on_loopback_only_and_wants_the_token(voila_app):
    base, token, proc = voila_app
    assert listening_addresses(proc.pid) == {"127.0.0.1"}
    # Without the token the app is not rendered (no kernel is started for a stranger).
    opener = urllib.request.build_opener(_NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as err:
        opener.open(f"{base}/", timeout=10)
    assert err.value.code in (302, 401, 403)


def test_app_loads_every_view_without_error(app_page):
    page = app_page
    assert page.locator(".labkit-view h2").all_inner_texts() == [v.title for v in demo.VIEWS]
    assert page.locator(".labkit-view-error").count() == 0
    assert "Traceback" not in page.inner_text("body")  # no cell failed while Voila ran the app notebook
    # Live controls, not static HTML.
    # data state and threat dropdowns, and the workloads to compare (a multiple select)
    assert page.locator(".labkit-view-dashboard select").count() == 3
    assert page.locator(".labkit-view-dashboard select[multiple]").count() == 1
    assert page.locator(".labkit-view-capstone .widget-toggle-button").count() == len(LAYERS)
    assert page.locator(".labkit-view-claims select").count() == 1


def test_dashboard_plots_the_store_and_the_filter_changes_the_plotted_points(app_page):
    page = app_page
    shown = {t["name"]: t["x"] for t in plot_data(page, ".labkit-view-dashboard") if t["x"]}
    assert shown == {"he": [2500.0], "dp": [1.8], "pqc": [1.1]}  # the store's fixture Results

    page.locator(".labkit-view-dashboard select").first.select_option(label="in transit")
    _wait_plot(page, ".labkit-view-dashboard", "d.every(t => (t.name === 'pqc') === (t.x.length > 0))")
    shown = {t["name"]: t["x"] for t in plot_data(page, ".labkit-view-dashboard") if t["x"]}
    assert shown == {"pqc": [1.1]}
    # The summary line under the chart follows (it is sent after the figure update).
    page.locator(".labkit-view-dashboard", has_text="1 of 3 points shown").wait_for(timeout=ACTION_TIMEOUT_MS)


def test_capstone_toggle_moves_the_selected_stack_on_the_frontier(app_page):
    page = app_page
    stacks = plot_data(page, ".labkit-view-capstone")
    assert sorted(stacks[0]["x"]) == sorted(v[0] for v in CAPSTONE_FIXTURE.values())
    plain = CAPSTONE_FIXTURE[()]
    assert (stacks[1]["x"], stacks[1]["y"]) == ([plain[0]], [plain[1]])  # nothing toggled: the plain round

    toggle = page.locator(".labkit-view-capstone .widget-toggle-button", has_text="dp").first
    dp = CAPSTONE_FIXTURE[("dp",)]
    card = page.locator(".labkit-view-capstone", has_text=f"PSNR {dp[1]:.1f} dB")
    assert card.count() == 0  # the dp stack is not shown before the toggle
    toggle.click()
    card.wait_for(timeout=ACTION_TIMEOUT_MS)  # the kernel ran the callback and the card shows the dp stack
    _wait_plot(page, ".labkit-view-capstone", "d[1].x.length === 1 && d[1].x[0] === arg", dp[0])
    selected = plot_data(page, ".labkit-view-capstone")[1]
    assert (selected["x"], selected["y"]) == ([dp[0]], [dp[1]])


def test_claims_chart_plots_the_catalogue_and_the_dropdown_moves_the_highlight(app_page):
    # A colour-only update: the chart's data (x, y) stay, only the highlighted bar changes.
    page = app_page
    keys = [key for key, _, _ in start.claimed_ranges()]
    (bars,) = plot_data(page, ".labkit-view-claims")
    assert bars["type"] == "bar" and bars["x"] == keys
    assert [k for k, c in zip(keys, bars["color"]) if c == "#d95f02"] == ["he"]

    page.locator(".labkit-view-claims select").select_option(label=techniques.get("zk").title)
    card = page.locator(".labkit-view-claims h4", has_text="Zero-knowledge")
    card.wait_for(timeout=ACTION_TIMEOUT_MS)
    assert "dishonest prover" in page.locator(".labkit-view-claims").inner_text()
    _wait_plot(page, ".labkit-view-claims", "d[0].marker.color[arg] === '#d95f02'", keys.index("zk"))
    (bars,) = plot_data(page, ".labkit-view-claims")
    assert [k for k, c in zip(keys, bars["color"]) if c == "#d95f02"] == ["zk"]


def test_screenshot_of_the_app_is_kept(app_page):
    shot = screenshot(app_page, "voila_app.png", content=".labkit-demo")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
