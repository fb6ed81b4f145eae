"""SQLite (WAL) store for functions and their versions.

Records go in as JSON documents keyed by name and version: the schema stays small while
the configuration grows with the API, and each write is one transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..models import FunctionVersion

SCHEMA = """
CREATE TABLE IF NOT EXISTS functions (
    name TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '{}',
    reserved_concurrency INTEGER
);
CREATE TABLE IF NOT EXISTS versions (
    function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    version TEXT NOT NULL,
    config TEXT NOT NULL,
    PRIMARY KEY (function, version)
);
"""


class Store:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def insert_function(self, latest: FunctionVersion, created: str, tags: dict[str, str]) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO functions (name, created, tags) VALUES (?, ?, ?)",
                (latest.name, created, json.dumps(tags)),
            )
            db.execute(
                "INSERT INTO versions (function, version, config) VALUES (?, ?, ?)",
                (latest.name, latest.version, json.dumps(latest.to_row())),
            )

    def save_version(self, record: FunctionVersion) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO versions (function, version, config) VALUES (?, ?, ?)",
                (record.name, record.version, json.dumps(record.to_row())),
            )

    def delete_function(self, name: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM functions WHERE name = ?", (name,))

    def set_reserved_concurrency(self, name: str, value: int | None) -> None:
        with self.transaction() as db:
            db.execute("UPDATE functions SET reserved_concurrency = ? WHERE name = ?", (value, name))

    def reserved_concurrency(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name, reserved_concurrency FROM functions WHERE reserved_concurrency IS NOT NULL"
            ).fetchall()
        return dict(rows)

    def tags(self, name: str) -> dict[str, str]:
        with self._lock:
            row = self._db.execute("SELECT tags FROM functions WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else {}

    def all_versions(self) -> list[FunctionVersion]:
        with self._lock:
            rows = self._db.execute("SELECT config FROM versions ORDER BY function, version").fetchall()
        return [FunctionVersion.from_row(json.loads(row[0])) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
