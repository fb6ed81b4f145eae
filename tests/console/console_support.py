"""What the console's test modules share besides fixtures: names, waits, screenshots."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page

from support import Server

# set to a folder (e.g. docs/console) to keep a screenshot of each main page
SHOTS = os.environ.get("KINDLING_CONSOLE_SHOTS")


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


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
