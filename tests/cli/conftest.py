"""The ``kindling`` CLI run as a user runs it: a subprocess against the session's real server."""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from support import KINDLING

_names = itertools.count()


@dataclass
class Cli:
    env: dict[str, str]

    def __call__(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([KINDLING, *args], capture_output=True, text=True, env=self.env, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"kindling {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [KINDLING, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=self.env,
        )


@pytest.fixture(scope="session")
def cli(server, tmp_path_factory: pytest.TempPathFactory) -> Cli:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "KINDLING_ENDPOINT": server.endpoint,
        "XDG_CACHE_HOME": str(tmp_path_factory.mktemp("cache")),
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
    return Cli(env)


@pytest.fixture
def function_dir(tmp_path: Path, lam) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    """An empty directory whose name is a fresh function name; that function is deleted afterwards."""
    directory = tmp_path / f"clifn-{next(_names)}"
    directory.mkdir()
    yield directory
    with contextlib.suppress(lam.exceptions.ResourceNotFoundException):
        lam.delete_function(FunctionName=directory.name)
