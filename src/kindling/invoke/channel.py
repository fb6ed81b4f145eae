"""Server end of the private channel to a runtime, as an asyncio protocol.

Frames (two big-endian uint32 lengths, a JSON header, a raw body) are parsed as bytes arrive
and handed to whoever waits in ``next()``; the end of the connection or of the runtime process
wakes that waiter at once, so a dead runtime can never hold an invocation.
"""

from __future__ import annotations

import asyncio
import json
import struct
from collections import deque
from dataclasses import dataclass

HEAD = struct.Struct("!II")


@dataclass
class Frame:
    """One message on the channel: a JSON header (``type``: ready, init_error, result, error, chunk...)
    and a raw body."""

    header: dict
    body: bytes


class RuntimeGone(Exception):
    """The runtime process ended (or closed its channel) while we needed it."""


class ControlChannel(asyncio.Protocol):
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._frames: deque[Frame | None] = deque()
        self._waiter: asyncio.Future[Frame | None] | None = None
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        while len(buffer) >= HEAD.size:
            header_len, body_len = HEAD.unpack_from(buffer)
            end = HEAD.size + header_len + body_len
            if len(buffer) < end:
                return
            header = json.loads(buffer[HEAD.size : HEAD.size + header_len])
            body = bytes(buffer[HEAD.size + header_len : end])
            del buffer[:end]
            self._deliver(Frame(header, body))

    def connection_lost(self, exc: Exception | None) -> None:
        self._deliver(None)

    def runtime_exited(self) -> None:
        self._deliver(None)

    def _deliver(self, frame: Frame | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(frame)
        else:
            self._frames.append(frame)

    def send(self, header: dict, body: bytes) -> None:
        assert self._transport is not None
        data = json.dumps(header).encode()
        self._transport.write(HEAD.pack(len(data), len(body)) + data + body)

    async def next(self, timeout: float) -> Frame:
        """The next frame; ``TimeoutError`` after ``timeout`` s, ``RuntimeGone`` if the runtime ended."""
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

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def _expire(waiter: asyncio.Future[Frame | None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())
