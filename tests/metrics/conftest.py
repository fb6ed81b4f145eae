"""One server per module, whose metrics are flushed and alarms evaluated every second."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from support import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    os.environ["KINDLING_METRICS_INTERVAL_S"] = "1"
    try:
        instance = Server(tmp_path_factory.mktemp("metrics") / "data").start()
    finally:
        del os.environ["KINDLING_METRICS_INTERVAL_S"]
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def lam(server: Server):  # type: ignore[no-untyped-def]
    return server.client()


@pytest.fixture(scope="module")
def cw(server: Server):  # type: ignore[no-untyped-def]
    return server.client("cloudwatch")
