"""The queue behind ``InvocationType=Event``: accepted events run in the background.

Not yet durable and not yet retried: an accepted event is run once, in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from ..config import Config
from ..invoke.invoker import Invoker
from ..models import FunctionVersion, InvokeRequest

log = logging.getLogger("kindling.events")


class EventQueue:
    def __init__(self, config: Config, data_dir: Path, invoker: Invoker) -> None:
        self.config = config
        self.invoker = invoker
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Resume whatever was accepted before a restart (nothing yet: the queue is in memory)."""

    async def enqueue(self, version: FunctionVersion, code_dir: Path, request: InvokeRequest) -> None:
        """Accept one event; returns once it is accepted."""
        task = asyncio.create_task(self._run(version, code_dir, request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, version: FunctionVersion, code_dir: Path, request: InvokeRequest) -> None:
        try:
            result = await self.invoker.invoke(version, code_dir, request)
        except Exception as error:
            log.warning("event for %s failed before it ran: %s", version.name, error)
            return
        if result.function_error:
            log.info("event for %s ended with a function error", version.name)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
