"""Write side of the function logs, laid out as CloudWatch Logs names them.

Each log group (``/aws/lambda/<name>``) is a directory under ``<data>/logs`` and each stream
(``YYYY/MM/DD/[$LATEST]<env id>``) one file of ``<epoch ms>\\t<message>`` lines, so a reader
can follow, filter and tail them without a database on the hot path. One event is one line: a newline
inside a message is stored as ``\\r`` (as Lambda's runtime does for multi-line log records).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

log = logging.getLogger("kindling.logs")


def stream_name(version: str, env_id: str, now: float | None = None) -> str:
    return time.strftime("%Y/%m/%d/", time.gmtime(now)) + f"[{version}]{env_id}"


def iso_now() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


class LogStream:
    """An open stream; lines are buffered and written out by the store's flusher, off the hot path."""

    def __init__(
        self, path: Path, dirty: set[LogStream], opened: set[LogStream], on_json: Callable[[str], None] | None = None
    ) -> None:
        self.path = path
        self._on_json = on_json  # JSON lines go there too (Embedded Metric Format documents become metrics)
        self._dirty = dirty
        self._opened = opened
        self._file: TextIO | None = self._open()
        opened.add(self)

    def _open(self) -> TextIO:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return open(self.path, "a", encoding="utf-8")  # closed in detach()

    def write(self, message: str, timestamp_ms: int | None = None) -> None:
        if self._file is None:
            self._file = self._open()
        when = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
        line = message.replace("\n", "\r")
        if self._on_json is not None and message[:1] == "{":
            self._on_json(message)
        self._file.write(f"{when}\t{line}\n")
        self._dirty.add(self)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def detach(self) -> None:
        """After its group was deleted: the next line recreates the file (and the group), as Lambda does."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def close(self) -> None:
        self._dirty.discard(self)
        self._opened.discard(self)
        self.detach()


class LogStore:
    FLUSH_INTERVAL_S = 0.2

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._dirty: set[LogStream] = set()
        self._opened: set[LogStream] = set()
        self._periodic: list[tuple[float, Callable[[], None]]] = []
        self.on_json: Callable[[str], None] | None = None  # every function log line that is a JSON document

    def flush(self) -> None:
        while self._dirty:
            self._dirty.pop().flush()

    def every(self, interval_s: float, job: Callable[[], None]) -> None:
        """Run ``job`` on the flusher's loop every ``interval_s``: housekeeping (the retention sweep)
        that must not race the flushes, so it runs between them."""
        self._periodic.append((interval_s, job))

    async def flush_forever(self) -> None:
        due = {index: time.monotonic() + interval for index, (interval, _) in enumerate(self._periodic)}
        while True:
            await asyncio.sleep(self.FLUSH_INTERVAL_S)
            self.flush()
            now = time.monotonic()
            for index, (interval, job) in enumerate(self._periodic):
                if now >= due.get(index, now):
                    due[index] = now + interval
                    try:
                        job()
                    except Exception:
                        log.exception("log housekeeping failed")

    def is_open(self, path: Path) -> bool:
        return any(stream.path == path for stream in self._opened)

    def delete_stream(self, group: str, stream: str) -> None:
        path = self.stream_path(group, stream)
        self._detach(lambda opened: opened.path == path)
        path.unlink(missing_ok=True)

    def delete_group(self, group: str) -> None:
        """Remove a group's streams; environments still writing to it start new files."""
        directory = self.group_dir(group)
        self._detach(lambda opened: opened.path.parent == directory)
        shutil.rmtree(directory, ignore_errors=True)

    def _detach(self, which: Callable[[LogStream], bool]) -> None:
        self.flush()
        for stream in list(self._opened):
            if which(stream):
                stream.detach()

    def group_dir(self, group: str) -> Path:
        return self.root / quote(group, safe="")

    def open_stream(self, group: str, stream: str) -> LogStream:
        return LogStream(self.stream_path(group, stream), self._dirty, self._opened, self.on_json)

    def stream_path(self, group: str, stream: str) -> Path:
        return self.group_dir(group) / quote(stream, safe="")
