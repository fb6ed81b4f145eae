"""The runtime's stdout and stderr, line by line, into its environment's log stream.

Lines also go to the invocation's tail (``LogType: Tail``: the last 4 KB come back with the
answer) and, with external extensions, to their ``function`` telemetry records. The environment's
own lines (START, END, REPORT, timeouts) are written through ``write`` so that they interleave
with the function's in the order they happened.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from collections import deque
from collections.abc import Callable

from ..logs.streams import LogStream

TAIL_BYTES = 4096
READ_SIZE = 65536


class LogPump:
    def __init__(self, stream: LogStream) -> None:
        self.stream = stream
        self.on_function_line: Callable[[str], None] | None = None  # the extensions' telemetry, when there are
        self._fd = -1
        self._partial = b""
        self._tail: deque[str] | None = None

    def write(self, message: str) -> None:
        """One line into the stream (and the tail, if one is kept)."""
        self.stream.write(message)
        if self._tail is not None:
            self._tail.append(message)

    # ------------------------------------------------------------ the runtime's pipe
    def attach(self, fd: int) -> None:
        """Read the runtime's output pipe ``fd`` as it is written."""
        self._fd = fd
        os.set_blocking(fd, False)
        asyncio.get_running_loop().add_reader(fd, self._on_readable)

    def _on_readable(self) -> None:
        try:
            chunk = os.read(self._fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            asyncio.get_running_loop().remove_reader(self._fd)
            self._flush_partial()
            return
        self._take(chunk)

    def _take(self, chunk: bytes) -> None:
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            self._function_line(line.decode("utf-8", "backslashreplace"))

    def _flush_partial(self) -> None:
        if self._partial:
            self._function_line(self._partial.decode("utf-8", "backslashreplace"))
            self._partial = b""

    def _function_line(self, line: str) -> None:
        self.write(line)
        if self.on_function_line is not None:
            self.on_function_line(line)

    def drain(self) -> None:
        """Take whatever the runtime wrote before it answered, so it lands before END."""
        if self._fd < 0:
            return
        with contextlib.suppress(OSError):
            while chunk := os.read(self._fd, READ_SIZE):
                self._take(chunk)
        self._flush_partial()

    def detach(self) -> None:
        """The runtime is gone: its last lines, then the pipe is closed."""
        if self._fd < 0:
            return
        self.drain()
        asyncio.get_running_loop().remove_reader(self._fd)
        os.close(self._fd)
        self._fd = -1
        self.on_function_line = None

    # ------------------------------------------------------------ the invocation's tail
    def keep_tail(self, keep: bool) -> None:
        """From now on, keep (or not) the lines of this invocation for ``take_tail``."""
        self._tail = deque() if keep else None

    @property
    def keeps_tail(self) -> bool:
        return self._tail is not None

    def take_tail(self) -> str:
        """The last 4 KB of the invocation's lines, base64-encoded ('' if none were kept); stops keeping."""
        tail, self._tail = self._tail, None
        if tail is None:
            return ""
        text = ("\n".join(tail) + "\n").encode()
        return base64.b64encode(text[-TAIL_BYTES:]).decode()
