"""Browser fixtures: one headless Chromium per test module, a fresh page per test.

The tests skip, with the reason, only when ``/usr/bin/chromium`` is absent
(``make browser-deps`` installs it). Helpers live in ``browserkit.py``.
"""

from __future__ import annotations

import pytest
from browserkit import CHROMIUM, CHROMIUM_ARGS, PAGE_TIMEOUT_MS


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for one test module (skips when Debian's chromium is absent)."""
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM} (`make browser-deps` installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    """A fresh page (own context) with bounded default timeouts."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()
