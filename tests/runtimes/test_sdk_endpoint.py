"""The endpoint a function's SDK is given: the server as a sandbox reaches it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kindling.config import Config
from kindling.invoke.credentials import sandbox_endpoint


@pytest.mark.parametrize(
    ("host", "network", "expected"),
    [
        ("127.0.0.1", True, "http://127.0.0.1:9000"),
        ("0.0.0.0", True, "http://127.0.0.1:9000"),
        ("::", True, "http://127.0.0.1:9000"),
        ("10.1.2.3", True, "http://10.1.2.3:9000"),
        ("fd00::5", True, "http://[fd00::5]:9000"),
        ("10.1.2.3", False, "http://127.0.0.1:9000"),  # the bridge listens on the sandbox's own loopback
    ],
)
def test_sandbox_endpoint(host: str, network: bool, expected: str) -> None:
    assert sandbox_endpoint(Config(Path("/nonexistent"), host=host, port=9000, network=network)) == expected
