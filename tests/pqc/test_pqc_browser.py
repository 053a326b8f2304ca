"""A real third-party client: headless Chromium negotiates X25519MLKEM768 with labkit.pqc.serve.

Needs Debian's ``chromium`` package and the ``playwright`` Python package;
skipped with the reason when either is missing.
"""

from __future__ import annotations

import shutil

import pytest

from labkit.pqc import serve

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.slow
def test_chromium_negotiates_hybrid_group():
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed here")
    if not shutil.which("chromium"):
        pytest.skip("Debian's chromium package is not installed here")
    with (
        serve(groups="X25519MLKEM768:X25519", cert="ecdsa-p256", https=True) as server,
        playwright.sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--ignore-certificate-errors"])
        try:
            page = browser.new_page()
            page.goto(server.url, timeout=15_000)
            shown = page.inner_text("#group")
        finally:
            browser.close()
    groups = [entry.get("group") for entry in server.log if entry.get("ok")]
    assert "X25519MLKEM768" in groups
    assert shown == "X25519MLKEM768"
