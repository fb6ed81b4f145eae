"""Shared fixtures: one real server for the whole session, and a factory for functions."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from support import Server, create_function, deleting

_names = itertools.count()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    instance = Server(tmp_path_factory.mktemp("kindling") / "data", "--keep-alive", "30").start()
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def lam(server: Server):  # type: ignore[no-untyped-def]
    return server.client()


@pytest.fixture(scope="session")
def raw_lam(server: Server):  # type: ignore[no-untyped-def]
    """A client that skips boto3's own parameter checks, so the server's are what is tested."""
    return server.client(validate=False)


Deploy = Callable[..., str]


@pytest.fixture
def deploy(lam) -> Iterator[Deploy]:  # type: ignore[no-untyped-def]
    """Create a function from a dict of files; it is deleted after the test."""
    with deleting(lam) as created:

        def _deploy(
            files: dict[str, str | bytes],
            handler: str = "app.handler",
            runtime: str = "python3.12",
            name: str | None = None,
            **settings: object,
        ) -> str:
            function_name = name or f"fn-{next(_names)}"
            create_function(lam, function_name, files, handler=handler, runtime=runtime, **settings)
            created.append(function_name)
            return function_name

        yield _deploy
