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

from ..models import Alias, FunctionVersion

SCHEMA = """
CREATE TABLE IF NOT EXISTS functions (
    name TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '{}',
    reserved_concurrency INTEGER,
    last_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS versions (
    function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    version TEXT NOT NULL,
    config TEXT NOT NULL,
    PRIMARY KEY (function, version)
);
CREATE TABLE IF NOT EXISTS provisioned (
    function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    requested INTEGER NOT NULL,
    last_modified TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
CREATE TABLE IF NOT EXISTS aliases (
    function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    PRIMARY KEY (function, name)
);
"""
# columns added after a table first shipped: (table, column, definition)
MIGRATIONS = (
    ("functions", "reserved_concurrency", "INTEGER"),
    ("functions", "last_version", "INTEGER NOT NULL DEFAULT 0"),
)


class Store:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)
        for table, column, definition in MIGRATIONS:
            columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in columns:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

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

    def publish_version(self, record: FunctionVersion) -> None:
        """Store a new published version and remember its number, so numbers are never reused."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO versions (function, version, config) VALUES (?, ?, ?)",
                (record.name, record.version, json.dumps(record.to_row())),
            )
            db.execute("UPDATE functions SET last_version = ? WHERE name = ?", (int(record.version), record.name))

    def delete_version(self, name: str, version: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM versions WHERE function = ? AND version = ?", (name, version))

    def last_versions(self) -> dict[str, int]:
        with self._lock:
            return dict(self._db.execute("SELECT name, last_version FROM functions").fetchall())

    def save_provisioned(self, function: str, qualifier: str, requested: int, last_modified: str) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO provisioned VALUES (?, ?, ?, ?)",
                (function, qualifier, requested, last_modified),
            )

    def delete_provisioned(self, function: str, qualifier: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM provisioned WHERE function = ? AND qualifier = ?", (function, qualifier))

    def all_provisioned(self) -> list[tuple[str, str, int, str]]:
        with self._lock:
            return self._db.execute("SELECT function, qualifier, requested, last_modified FROM provisioned").fetchall()

    def save_alias(self, alias: Alias) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO aliases (function, name, config) VALUES (?, ?, ?)",
                (alias.function_name, alias.name, json.dumps(alias.to_row())),
            )

    def delete_alias(self, function_name: str, name: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM aliases WHERE function = ? AND name = ?", (function_name, name))

    def all_aliases(self) -> list[Alias]:
        with self._lock:
            rows = self._db.execute("SELECT config FROM aliases ORDER BY function, name").fetchall()
        return [Alias.from_row(json.loads(row[0])) for row in rows]

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
