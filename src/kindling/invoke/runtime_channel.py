"""What an environment talks to its runtime through, whichever runtime it is.

Two channels implement ``RuntimeChannel``: the private channel of the built-in Python runtime
(``channel.py``, frames on a socket pair) and the HTTP Runtime API of every other runtime
(``runtime_api.py``). Both turn what the runtime says into ``Frame``s in a ``FrameQueue``, which
``next`` hands out; the end of the connection or of the runtime process wakes the waiter at
once, so a dead runtime can never hold an invocation.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from ..sandbox.contract import RuntimeProcess


@dataclass
class Frame:
    """One message from or to the runtime: a JSON header (``type``: ready, init_error, result, error,
    chunk, invoke...) and a raw body."""

    header: dict
    body: bytes


class RuntimeGone(Exception):
    """The runtime process ended (or closed its channel) while we needed it."""


class RuntimeChannel(Protocol):
    async def attach(self, process: RuntimeProcess) -> None:
        """Take the started runtime's control socket (the Runtime API leaves it unused)."""
        ...

    def send(self, header: dict, body: bytes) -> None:
        """Hand the runtime an invocation (``header``: request id, deadline, ARN, trace...)."""
        ...

    async def next(self, timeout: float) -> Frame:
        """The runtime's next frame; ``TimeoutError`` after ``timeout`` s, ``RuntimeGone`` if it ended."""
        ...

    async def settle(self, timeout: float) -> None:
        """Until the runtime is ready for another invocation, or gone (one may exit after its answer)."""
        ...

    def runtime_exited(self) -> None: ...

    def close(self) -> None: ...


class FrameQueue:
    """Frames in arrival order, for one waiter at a time; ``None`` marks the runtime's end."""

    def __init__(self) -> None:
        self._frames: deque[Frame | None] = deque()
        self._waiter: asyncio.Future[Frame | None] | None = None

    def deliver(self, frame: Frame | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(frame)
        else:
            self._frames.append(frame)

    async def next(self, timeout: float) -> Frame:
        if self._frames:
            frame = self._frames.popleft()
        else:
            loop = asyncio.get_running_loop()
            self._waiter = waiter = loop.create_future()
            timer = loop.call_later(timeout, _expire, waiter)
            try:
                frame = await waiter
            finally:
                timer.cancel()
                self._waiter = None
        if frame is None:
            self._frames.append(None)  # stays gone for every later caller
            raise RuntimeGone()
        return frame


def _expire(waiter: asyncio.Future[Frame | None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())
