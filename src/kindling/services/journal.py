"""The journal: every request that changed the services' state, in the order it ran, to be run again after
a restart on top of the last snapshot.

A record is written (to the kernel) before its reply leaves, so a ``kill -9`` of the server loses nothing
it acknowledged; a thread fsyncs the journal and the request bodies it names every ``SYNC_S`` seconds, so
a crash of the machine loses at most the last second. A body larger than ``INLINE_MAX`` stays a file of
its own (the spool it was received into), named by the record's sequence number.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("kindling.services")
SYNC_S = 1.0
INLINE_MAX = 256 * 1024


@dataclass
class Record:
    seq: int
    seed: int
    service: str
    method: str
    path: str  # raw, as received (latin-1)
    query: str
    headers: list[tuple[str, str]]
    body: bytes | None  # None: in the file ``bodies/<seq>``


class Journal:
    def __init__(self, path: Path, bodies: Path) -> None:
        self.path = path
        self.bodies = bodies
        bodies.mkdir(parents=True, exist_ok=True)
        self.seq = sum(1 for _ in self._lines())
        self._file = open(path, "ab")  # noqa: SIM115 - open for the server's lifetime
        self._unsynced: list[Path] = []
        self._dirty = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._syncer = threading.Thread(target=self._sync_forever, name="services-journal", daemon=True)
        self._syncer.start()

    def _lines(self) -> Iterator[bytes]:
        if self.path.exists():
            with open(self.path, "rb") as file:
                for line in file:
                    if line.endswith(b"\n"):  # a torn last line (a crash mid-write) was never acknowledged
                        yield line

    def records(self) -> Iterator[Record]:
        for line in self._lines():
            data = json.loads(line)
            body = base64.b64decode(data["body"]) if data["body"] is not None else None
            yield Record(
                data["seq"],
                data["seed"],
                data["service"],
                data["method"],
                data["path"],
                data["query"],
                [(k, v) for k, v in data["headers"]],
                body,
            )

    def body_path(self, seq: int) -> Path:
        return self.bodies / str(seq)

    def append(self, record: Record, body_file: Path | None) -> None:
        """Record a request that ran; ``body_file`` (its spooled body) becomes the journal's."""
        if body_file is not None:
            target = self.body_path(record.seq)
            os.replace(body_file, target)
        inline = base64.b64encode(record.body).decode() if record.body is not None else None
        line = json.dumps(
            {
                "seq": record.seq,
                "seed": record.seed,
                "service": record.service,
                "method": record.method,
                "path": record.path,
                "query": record.query,
                "headers": record.headers,
                "body": inline,
            },
            separators=(",", ":"),
        )
        with self._lock:
            if body_file is not None:
                self._unsynced.append(self.body_path(record.seq))
            self._file.write(line.encode() + b"\n")
            self._file.flush()
            self._dirty = True

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def _sync_forever(self) -> None:
        while not self._stop.wait(SYNC_S):
            self.sync()

    def sync(self) -> None:
        with self._lock:
            if not self._dirty:
                return
            self._dirty = False
            pending, self._unsynced = self._unsynced, []
        try:
            for body in pending:
                with open(body, "rb") as file:
                    os.fsync(file.fileno())
            if pending:
                fsync_dir(self.bodies)
            os.fsync(self._file.fileno())
        except OSError as error:  # the next round tries again; the files are still there
            log.error("services journal: fsync failed: %s", error)
            with self._lock:
                self._dirty = True

    def close(self) -> None:
        self._stop.set()
        self._syncer.join()
        self.sync()
        self._file.close()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
