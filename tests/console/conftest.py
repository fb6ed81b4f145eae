"""One headless Debian chromium and one server per module for the console's tests (``playwright install`` cannot
download browsers here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from support import Server, running

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as driver:
        instance = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per test module (its ``SERVER_ARGS`` added, e.g. ``--auth iam``): what one module makes
    (functions, buckets, queues, metrics) never shows in another's pages."""
    extra = getattr(request.module, "SERVER_ARGS", ())
    with running(tmp_path_factory.mktemp("console") / "data", "--keep-alive", "30", *extra) as instance:
        yield instance


@pytest.fixture(scope="module")
def lam(server: Server):  # type: ignore[no-untyped-def]
    return server.client()
