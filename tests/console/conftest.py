"""One headless Debian chromium and one server per module for the console's tests (``playwright install`` cannot
download browsers here)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from support import Server, running

CHROMIUM = "/usr/bin/chromium"
# set to a folder (e.g. docs/console) to keep a screenshot of each main page
SHOTS = os.environ.get("KINDLING_CONSOLE_SHOTS")


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


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


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


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def eventually(check: Callable[[], object], timeout: float = 30) -> None:
    """Returns once ``check()`` is true (state the server reaches on its own time, e.g. a deleted mapping)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout} s: {check}")
        time.sleep(0.1)


def logged(server: Server, function: str, text: str, timeout: float = 30) -> str:
    """The function's log text once it contains ``text`` (an event delivered by a trigger runs on its own time)."""
    logs = server.client("logs")
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            events = []
        seen = "".join(event["message"] for event in events)
        if text in seen:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in the logs of {function}: {seen[-2000:]}")
