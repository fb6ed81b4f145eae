"""The invoker against the fake sandbox backend (``kindling/sandbox/fake.py``): no server, no processes.

``world.run(scenario)`` builds an ``Invoker`` over a ``FakeBackend`` and runs ``scenario(invoker, backend)``
on a fresh event loop; ``version()`` makes a function version and ``call()`` invokes it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from kindling.config import Config
from kindling.invoke.invoker import Invoker
from kindling.logs.streams import LogStore
from kindling.models import FunctionVersion, InvokeRequest, InvokeResult
from kindling.runtimes.registry import Runtime
from kindling.sandbox.fake import FakeBackend

RUNTIME = Runtime("python3.12", "/fake/bin/python3.12", "/usr", "3.12", Path("/fake/bootstrap.py"))
ARN = "arn:aws:lambda:us-east-1:000000000000:function:"
Scenario = Callable[[Invoker, FakeBackend], Awaitable[Any]]


def version(name: str = "f", **changes: Any) -> FunctionVersion:
    fields: dict[str, Any] = {
        "name": name,
        "arn": ARN + name,
        "version": "$LATEST",
        "runtime": RUNTIME.name,
        "role": "arn:aws:iam::000000000000:role/r",
        "handler": "app.handler",
        "code_sha256_hex": "0" * 64,
        "code_sha256": "",
        "code_size": 1,
        "unzipped_size": 1,
        "last_modified": "",
        "revision_id": "1",
        "log_group": f"/aws/lambda/{name}",
    }
    return FunctionVersion(**{**fields, **changes})


class World:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.code = root / "code"
        self.code.mkdir()

    def run(self, scenario: Scenario, *, capacity: int | None = None, **config: Any) -> Any:
        async def main() -> Any:
            backend = FakeBackend(capacity)
            settings = Config(data_dir=self.root, min_free_memory_mb=0, **config)
            invoker = Invoker(settings, backend, LogStore(self.root / "logs"), {RUNTIME.name: RUNTIME})
            invoker.start()
            try:
                return await scenario(invoker, backend)
            finally:
                await invoker.close()
                await backend.close()

        return asyncio.run(main())

    async def call(
        self, invoker: Invoker, target: FunctionVersion, payload: Any = None, **request: Any
    ) -> InvokeResult:
        body = json.dumps(payload if payload is not None else {}).encode()
        return await invoker.invoke(target, self.code, InvokeRequest(body, target.arn, **request))


async def until(check: Callable[[], Any], limit: int = 1000) -> None:
    """Let the loop run until ``check()`` holds (a wait on state, not on time)."""
    for _ in range(limit):
        if check():
            return
        await asyncio.sleep(0)
    raise AssertionError("the state never came")
