"""Framing of the private channel between the server and a runtime.

A frame is two big-endian uint32 lengths (JSON header, body) followed by both parts.
The body is raw bytes (event or result), so payloads are never re-encoded.
"""

from __future__ import annotations

import json
import os
import select
import struct

HEAD = struct.Struct("!II")


class Channel:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = bytearray()  # read ahead: a small event arrives in one read, not three
        # Waiting in poll() rather than in read(): a task blocked in read() on a Unix socket is also woken
        # each time the server reads what we sent (the socket's one wait queue), a wasted wakeup per invoke.
        self._readable = select.poll()
        self._readable.register(fd, select.POLLIN)

    def send(self, header: dict, body: bytes = b"") -> None:
        self.send_encoded(json.dumps(header).encode(), body)

    def send_encoded(self, header: bytes, body: bytes = b"") -> None:
        """A frame whose JSON header is already bytes (the invoke loop formats its own)."""
        view = memoryview(HEAD.pack(len(header), len(body)) + header + body)
        while view:
            view = view[os.write(self.fd, view) :]

    def _read_exactly(self, size: int) -> bytes | None:
        buffer = self._buffer
        while len(buffer) < size:
            self._readable.poll()
            chunk = os.read(self.fd, max(size - len(buffer), 1 << 16))
            if not chunk:
                return None
            buffer += chunk
        data = bytes(buffer[:size])
        del buffer[:size]
        return data

    def receive(self) -> tuple[dict, bytes] | None:
        head = self._read_exactly(HEAD.size)
        if head is None:
            return None
        header_len, body_len = HEAD.unpack(head)
        header = self._read_exactly(header_len)
        body = self._read_exactly(body_len) if body_len else b""
        if header is None or body is None:
            return None
        return json.loads(header), body
