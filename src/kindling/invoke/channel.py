"""Server end of the private channel to the built-in Python runtime, as an asyncio protocol.

Frames (two big-endian uint32 lengths, a JSON header, a raw body) are parsed as bytes arrive and
queued for ``next()`` (``runtime_channel.py``).
"""

from __future__ import annotations

import asyncio
import json
import struct

from ..sandbox.contract import RuntimeProcess
from .runtime_channel import Frame, FrameQueue

HEAD = struct.Struct("!II")


class ControlChannel(asyncio.Protocol):
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._queue = FrameQueue()
        self._transport: asyncio.Transport | None = None

    async def attach(self, process: RuntimeProcess) -> None:
        await asyncio.get_running_loop().create_unix_connection(lambda: self, sock=process.control)

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
            self._queue.deliver(Frame(header, body))

    def connection_lost(self, exc: Exception | None) -> None:
        self._queue.deliver(None)

    def runtime_exited(self) -> None:
        self._queue.deliver(None)

    def send(self, header: dict, body: bytes) -> None:
        assert self._transport is not None
        data = json.dumps(header).encode()
        self._transport.write(HEAD.pack(len(data), len(body)) + data + body)

    async def next(self, timeout: float) -> Frame:
        return await self._queue.next(timeout)

    async def settle(self, timeout: float) -> None:
        """The Python runtime takes its next frame whenever it comes: nothing to wait for."""

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
