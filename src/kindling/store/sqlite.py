"""One SQLite connection with Kindling's durability settings, and the table groups that share it.

``kindling.db`` is opened once, by the composition root, as one ``Database``; each store module is a
``Tables`` over it (its schema, its queries), so every part writes through the same connection and lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any


class Database:
    """WAL, ``synchronous=FULL``, foreign keys on; one writer at a time through ``transaction()``."""

    def __init__(self, path: Path, schema: str = "") -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.execute("PRAGMA busy_timeout=5000")
        if schema:
            self.apply(schema)

    def apply(self, schema: str, migrations: tuple[tuple[str, str, str], ...] = ()) -> None:
        """Create what ``schema`` declares, then add the columns ``(table, column, definition)`` added since."""
        with self._lock:
            self._db.executescript(schema)
            for table, column, definition in migrations:
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

    def write(self, sql: str, parameters: tuple[Any, ...] = ()) -> None:
        """One statement in its own transaction."""
        with self.transaction() as db:
            db.execute(sql, parameters)

    def rows(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()


class Tables:
    """A group of tables in a shared ``Database``: created on first use, queried through its connection."""

    SCHEMA = ""
    MIGRATIONS: tuple[tuple[str, str, str], ...] = ()  # columns added after a table first shipped

    def __init__(self, database: Database) -> None:
        self.database = database
        database.apply(self.SCHEMA, self.MIGRATIONS)

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.database.transaction()

    def write(self, sql: str, parameters: tuple[Any, ...] = ()) -> None:
        self.database.write(sql, parameters)

    def rows(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self.database.rows(sql, parameters)
