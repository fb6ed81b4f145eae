"""Write side of the function logs, laid out as CloudWatch Logs names them.

Each log group (``/aws/lambda/<name>``) is a directory under ``<data>/logs`` and each stream
(``YYYY/MM/DD/[$LATEST]<env id>``) one file of ``<epoch ms>\\t<message>`` lines, so a reader
can follow, filter and tail them without a database on the hot path.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TextIO
from urllib.parse import quote


def stream_name(version: str, env_id: str, now: float | None = None) -> str:
    return time.strftime("%Y/%m/%d/", time.gmtime(now)) + f"[{version}]{env_id}"


def iso_now() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


class LogStream:
    """An open stream; lines are buffered and written out by the store's flusher, off the hot path."""

    def __init__(self, path: Path, dirty: set[LogStream]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO = open(path, "a", encoding="utf-8")  # noqa: SIM115  (closed in close())
        self._dirty = dirty

    def write(self, message: str) -> None:
        self._file.write(f"{int(time.time() * 1000)}\t{message}\n")
        self._dirty.add(self)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._dirty.discard(self)
        self._file.close()


class LogStore:
    FLUSH_INTERVAL_S = 0.2

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._dirty: set[LogStream] = set()

    def flush(self) -> None:
        while self._dirty:
            self._dirty.pop().flush()

    async def flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.FLUSH_INTERVAL_S)
            self.flush()

    def group_dir(self, group: str) -> Path:
        return self.root / quote(group, safe="")

    def open_stream(self, group: str, stream: str) -> LogStream:
        return LogStream(self.group_dir(group) / quote(stream, safe=""), self._dirty)
