"""One invocation whose response is read as it is produced, for streamed URLs and InvokeWithResponseStream.

The environment hands each ``chunk`` frame over as it arrives; an HTTP sender takes them from
here at its own pace. Past ``STREAM_MAX`` bytes the rest is dropped and the stream reports it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

from ..limits import STREAM_MAX
from ..models import FunctionVersion, InvokeRequest, InvokeResult
from .environment import StreamingInvokeRequest
from .invoker import Invoker

PRELUDE_END = b"\0" * 8  # what separates the HTTP prelude from the body, as in Lambda's Node streams


class StreamedInvocation:
    def __init__(self, invoker: Invoker, record: FunctionVersion, code_dir: Path, request: InvokeRequest) -> None:
        self._queue: asyncio.Queue[tuple[bool, bytes] | None] = asyncio.Queue()
        fields = {f.name: getattr(request, f.name) for f in dataclasses.fields(InvokeRequest)}
        streaming = StreamingInvokeRequest(**fields, on_chunk=self._take)
        self.task = asyncio.ensure_future(invoker.invoke(record, code_dir, streaming))
        self.task.add_done_callback(lambda _: self._queue.put_nowait(None))
        self.sent = 0
        self.too_large = False

    def _take(self, header: dict, body: bytes) -> None:
        self._queue.put_nowait((bool(header.get("prelude")), body))

    async def first(self) -> tuple[bool, bytes] | None:
        """The first piece, or None when the invocation ended without streaming (errors raise here)."""
        item = await self._queue.get()
        if item is None:
            await self.task
        else:
            self.sent = len(item[1])
        return item

    async def rest(self) -> AsyncIterator[bytes]:
        """Every later piece, up to the streaming limit."""
        while (item := await self._queue.get()) is not None:
            self.sent += len(item[1])
            if self.sent > STREAM_MAX:
                self.too_large = True
                continue
            yield item[1]

    async def result(self) -> InvokeResult:
        return await self.task
