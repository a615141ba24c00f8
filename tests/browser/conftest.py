"""Browser tests: a live server on 127.0.0.1 on a free port, and Debian's headless Chromium.

Nothing here downloads a browser; without /usr/bin/chromium (or the playwright package) the
tests skip with the reason, and fail instead under PORTAL_TEST_STRICT=1 (CI).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_app, skip_or_fail
from tests.live import serving

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(items):
    # Hooks in a conftest see the whole session's items: mark only those in this folder.
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def live_app(tmp_path, test_database):
    app = make_app(tmp_path)
    yield app
    app.extensions["search_index"].close()


@pytest.fixture
def live_server(live_app) -> Iterator[str]:
    """Serve ``live_app`` in a thread; yields the base URL."""
    with serving(live_app) as base:
        yield base


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM):
        skip_or_fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright package is not installed (make install-test)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A page with JavaScript on (the portal needs none; see ``page_nojs``)."""
    context = browser.new_context(locale="zh-CN")
    yield context.new_page()
    context.close()


@pytest.fixture
def page_nojs(browser):
    """A page with JavaScript off: the honest test of Tor Browser's Safest mode."""
    context = browser.new_context(locale="zh-CN", java_script_enabled=False)
    yield context.new_page()
    context.close()
