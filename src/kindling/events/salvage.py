"""A damaged event store file: set it aside, start a new one, carry over every row that can still be read.

Reading row by row (by id) means one bad page costs the rows on it, not the queue; the damaged file is kept
beside the new one for whoever wants to look closer.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SUFFIXES = ("", "-wal", "-shm")


def problem(path: Path) -> str | None:
    """Why the file cannot be trusted, or None when it is sound (or does not exist yet)."""
    if not path.exists():
        return None
    try:
        db = sqlite3.connect(path)
        try:
            found = [row[0] for row in db.execute("PRAGMA quick_check(3)")]
        finally:
            db.close()
    except sqlite3.DatabaseError as error:
        return str(error)
    return None if found == ["ok"] else "; ".join(found)


def set_aside(path: Path) -> Path:
    """Rename the file and its WAL companions to ``<name>.damaged-<time>``; returns the new name."""
    damaged = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
    for suffix in SUFFIXES:
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.rename(f"{damaged}{suffix}")
    return damaged


def readable_rows(damaged: Path, columns: str) -> Iterator[tuple[Any, ...]]:
    """The events that can still be read, one row at a time."""
    db = sqlite3.connect(damaged)
    try:
        try:
            ids: Any = [row[0] for row in db.execute("SELECT id FROM events")]
        except sqlite3.DatabaseError:  # the scan breaks on the bad page: probe every id up to the largest
            try:
                ids = range(1, (db.execute("SELECT max(id) FROM events").fetchone()[0] or 0) + 1)
            except sqlite3.DatabaseError:
                ids = []
        for ident in ids:
            with contextlib.suppress(sqlite3.DatabaseError):
                row = db.execute(f"SELECT {columns} FROM events WHERE id = ?", (ident,)).fetchone()
                if row is not None:
                    yield row
    finally:
        db.close()


def readable_configs(damaged: Path) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(damaged)
    try:
        return db.execute("SELECT function, qualifier, config FROM invoke_configs").fetchall()
    except sqlite3.DatabaseError:
        return []
    finally:
        db.close()
