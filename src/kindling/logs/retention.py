"""Retention: events older than a group's retention are hidden at once and deleted by a sweep.

The sweep runs on the log store's flusher loop (between flushes, right after one), so rewriting a
stream file in place never races the lines an environment is appending to it.
"""

from __future__ import annotations

import time

from .groups import LogGroups
from .reader import first_event, stream_names
from .streams import LogStore

RETENTION_DAYS: tuple[int, ...] = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731)
RETENTION_DAYS += (1096, 1827, 2192, 2557, 2922, 3288, 3653)
DAY_MS = 86_400_000
SWEEP_INTERVAL_S = 60.0


def now_ms() -> int:
    return int(time.time() * 1000)


def oldest_kept(days: int | None, now: int | None = None) -> int:
    """The first timestamp a group with this retention still shows (0: never expires)."""
    return 0 if not days else (now_ms() if now is None else now) - days * DAY_MS


def sweep(store: LogStore, groups: LogGroups) -> None:
    store.flush()
    for group, days in groups.retentions().items():
        sweep_group(store, group, oldest_kept(days))


def sweep_group(store: LogStore, group: str, oldest: int) -> None:
    for _, path in stream_names(store.group_dir(group)):
        first = first_event(path)
        if first is None:
            if path.stat().st_mtime * 1000 < oldest and not store.is_open(path):
                path.unlink(missing_ok=True)
            continue
        if first.timestamp >= oldest:
            continue  # streams are written in time order: nothing in this one has expired yet
        with open(path, "r+b") as stream:
            lines = stream.read().split(b"\n")
            kept = [line for line in lines[:-1] if _stamp(line) >= oldest]
            if not kept and not store.is_open(path):
                path.unlink(missing_ok=True)
                continue
            stream.seek(0)
            stream.write(b"".join(line + b"\n" for line in kept))
            stream.truncate()


def _stamp(line: bytes) -> int:
    stamp = line.partition(b"\t")[0]
    return int(stamp) if stamp.isdigit() else 0
