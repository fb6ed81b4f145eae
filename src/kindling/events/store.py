"""The durable half of the queue: one SQLite file of its own (WAL, ``synchronous=FULL``), one writer thread.

Every change is an operation handed to the writer thread, which runs whatever has piled up in one
transaction and one fsync (group commit), then wakes the waiting coroutines. So an accepted event is
on disk before its 202 goes out, a burst of accepts costs one fsync, and the event loop never blocks
on the disk. When the disk is full the operations that answer a caller (accepting an event) fail at
once with a clear error; the bookkeeping of events already stored is retried until it goes through,
so nothing stored is lost. A row that cannot be read back is moved to ``quarantine`` at start, with
the reason, and the others run as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..store.sqlite import Database
from . import salvage
from .event import PAYLOAD_IN_MEMORY_MAX, QueuedEvent, decode

log = logging.getLogger("kindling.events")
RETRY_WRITE_S = 1.0
_NOTHING: Any = object()  # the writer woke up only to retry what failed

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    request_id TEXT NOT NULL,
    function TEXT NOT NULL,
    invoked_arn TEXT NOT NULL,
    payload BLOB NOT NULL,
    client_context TEXT,
    trace_id TEXT NOT NULL DEFAULT '',
    received REAL NOT NULL,
    due REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    backoffs INTEGER NOT NULL DEFAULT 0,
    leased INTEGER NOT NULL DEFAULT 0,
    deliveries TEXT
);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY,
    reason TEXT NOT NULL,
    row TEXT NOT NULL,
    quarantined REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS invoke_configs (
    function TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    config TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
"""
COLUMNS = (
    "id, request_id, function, invoked_arn, payload, client_context, trace_id, "
    "received, due, attempts, backoffs, leased, deliveries"
)
_LOAD_COLUMNS = COLUMNS.replace(
    "payload",
    f"CASE WHEN typeof(payload) = 'blob' AND length(payload) > {PAYLOAD_IN_MEMORY_MAX} THEN NULL ELSE payload END",
)


class StoreError(Exception):
    """The event could not be stored durably (full disk, I/O error); nothing was accepted."""


@dataclass
class _Op:
    work: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any]
    keep_trying: bool  # bookkeeping of stored events: retried until it lands, never dropped


class EventStore(Database):
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        damage = salvage.problem(path)
        damaged = salvage.set_aside(path) if damage else None
        super().__init__(path, SCHEMA)
        self.path = path
        self._ops: queue.SimpleQueue[_Op | None] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.failing = ""  # the last write error while writes are failing, "" when they go through
        if damaged is not None:
            log.error("event store: %s is damaged (%s); kept as %s, carrying over what reads", path, damage, damaged)
            self._carry_over(damaged)

    def _carry_over(self, damaged: Path) -> None:
        with self.transaction() as db:
            rows = list(salvage.readable_rows(damaged, COLUMNS))
            db.executemany(f"INSERT INTO events ({COLUMNS}) VALUES ({', '.join('?' * 13)})", rows)
            configs = salvage.readable_configs(damaged)
            db.executemany("INSERT INTO invoke_configs (function, qualifier, config) VALUES (?, ?, ?)", configs)
        log.error("event store: %d events and %d configurations carried over from %s", len(rows), len(configs), damaged)

    # ----------------------------------------------------------- start-up
    def load(self) -> tuple[list[QueuedEvent], int]:
        """Every stored event, oldest first, and how many unreadable rows were quarantined."""
        events, bad = [], 0
        for row in self.rows(f"SELECT {_LOAD_COLUMNS} FROM events ORDER BY id"):
            try:
                events.append(decode(row))
            except (ValueError, TypeError) as error:
                bad += 1
                log.error("event store: row %s is unreadable (%s); moving it to the quarantine table", row[0], error)
                try:
                    self._quarantine(row, str(error))
                except sqlite3.Error as failure:
                    log.error("event store: row %s stays where it is, skipped: %s", row[0], failure)
        return events, bad

    def _quarantine(self, row: tuple[Any, ...], reason: str) -> None:
        shown = [v.hex() if isinstance(v, bytes) else v for v in row]
        with self.transaction() as db:
            db.execute(
                "INSERT INTO quarantine (reason, row, quarantined) VALUES (?, ?, ?)",
                (reason, json.dumps(shown, default=repr), time.time()),
            )
            db.execute("DELETE FROM events WHERE id = ?", (row[0],))

    async def payload(self, event: QueuedEvent) -> bytes:
        """The payload of an event that waited on disk, read on a connection of its own (WAL readers
        do not wait for the writer)."""

        def read() -> bytes:
            reader = sqlite3.connect(self.path)
            try:
                row = reader.execute("SELECT payload FROM events WHERE id = ?", (event.id,)).fetchone()
            finally:
                reader.close()
            if row is None or not isinstance(row[0], bytes):
                raise StoreError(f"the payload of event {event.id} cannot be read back")
            return row[0]

        return await asyncio.to_thread(read)

    def load_configs(self) -> list[tuple[str, str, str]]:
        return self.rows("SELECT function, qualifier, config FROM invoke_configs")

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._write_forever, name="kindling-events-store", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self._ops.put(None)
            self._thread.join()
            self._thread = None
        super().close()

    # ---------------------------------------------------------- operations
    def _submit(self, work: Callable[[sqlite3.Connection], Any], keep_trying: bool = True) -> asyncio.Future[Any]:
        assert self._loop is not None, "EventStore.start() first"
        future = self._loop.create_future()
        self._ops.put(_Op(work, future, keep_trying))
        return future

    async def insert(self, event: QueuedEvent) -> None:
        """Store a new event; returns once it is on disk, raises StoreError when it cannot be."""

        def work(db: sqlite3.Connection) -> int:
            return _insert(db, event)

        event.id = await self._submit(work, keep_trying=False)

    async def update(self, event: QueuedEvent, follow_ups: tuple[QueuedEvent, ...] = ()) -> None:
        """Write back the state of a stored event (lease, attempts, schedule, records left to send),
        and store the events it hands on in the same transaction."""
        values = (event.due, event.attempts, event.backoffs, int(event.leased), event.row()[-1], event.id)

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE events SET due = ?, attempts = ?, backoffs = ?, leased = ?, deliveries = ? WHERE id = ?",
                values,
            )
            _insert_all(db, follow_ups)

        await self._submit(work)

    async def remove(self, event: QueuedEvent, follow_ups: tuple[QueuedEvent, ...] = ()) -> None:
        """Forget a finished event and store the events it hands on, in one transaction."""

        def work(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM events WHERE id = ?", (event.id,))
            _insert_all(db, follow_ups)

        await self._submit(work)

    async def save_config(self, function: str, qualifier: str, config: str | None) -> None:
        def work(db: sqlite3.Connection) -> None:
            if config is None:
                db.execute("DELETE FROM invoke_configs WHERE function = ? AND qualifier = ?", (function, qualifier))
            else:
                db.execute(
                    "INSERT OR REPLACE INTO invoke_configs (function, qualifier, config) VALUES (?, ?, ?)",
                    (function, qualifier, config),
                )

        await self._submit(work, keep_trying=False)

    # -------------------------------------------------------- writer thread
    def _write_forever(self) -> None:
        retry: list[_Op] = []
        while True:
            try:
                first = self._ops.get(timeout=RETRY_WRITE_S if retry else None)
            except queue.Empty:
                first = _NOTHING
            batch, stopping = retry, first is None
            if isinstance(first, _Op):
                batch.append(first)
            while not stopping:
                try:
                    more = self._ops.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                else:
                    batch.append(more)
            retry = self._commit(batch) if batch else []
            if stopping:
                if retry:
                    log.error("event store: %d writes could not be made before shutdown: %s", len(retry), self.failing)
                return

    def _commit(self, batch: list[_Op]) -> list[_Op]:
        """Run a batch in one transaction; returns the operations to try again."""
        with self._lock:
            return self._commit_locked(batch)

    def _commit_locked(self, batch: list[_Op]) -> list[_Op]:
        db = self._db
        results: list[tuple[_Op, Any, BaseException | None]] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            for op in batch:
                db.execute("SAVEPOINT op")
                try:
                    value = op.work(db)
                except sqlite3.OperationalError:
                    raise  # disk full, I/O error: the whole transaction is gone
                except Exception as error:  # this operation alone is refused, the batch goes on
                    db.execute("ROLLBACK TO op")
                    results.append((op, None, StoreError(str(error))))
                else:
                    results.append((op, value, None))
                db.execute("RELEASE op")
            db.execute("COMMIT")
        except sqlite3.Error as error:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            if self.failing != str(error):
                log.error("event store: writing %s failed: %s; stored events are kept and retried", self.path, error)
            self.failing = str(error)
            message = f"Kindling could not store the event durably: {error}"
            failed: list[tuple[_Op, Any, BaseException | None]] = [
                (op, None, StoreError(message)) for op in batch if not op.keep_trying
            ]
            self._resolve(failed)
            return [op for op in batch if op.keep_trying]
        if self.failing:
            log.warning("event store: writes go through again")
            self.failing = ""
        self._resolve(results)
        return []

    def _resolve(self, results: list[tuple[_Op, Any, BaseException | None]]) -> None:
        if results and self._loop is not None:
            self._loop.call_soon_threadsafe(_settle, results)


def _insert(db: sqlite3.Connection, event: QueuedEvent) -> int:
    cursor = db.execute(
        f"INSERT INTO events ({COLUMNS.removeprefix('id, ')}) VALUES ({', '.join('?' * 12)})", event.row()
    )
    return int(cursor.lastrowid or 0)


def _insert_all(db: sqlite3.Connection, events: tuple[QueuedEvent, ...]) -> None:
    for event in events:
        event.id = _insert(db, event)


def _settle(results: list[tuple[_Op, Any, BaseException | None]]) -> None:
    for op, value, error in results:
        if op.future.done():
            continue
        if error is not None:
            op.future.set_exception(error)
        else:
            op.future.set_result(value)
