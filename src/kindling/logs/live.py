"""StartLiveTail's read side: what is appended to some log groups from the moment a session starts.

A session remembers, per stream file, the offset where it stopped (new streams start at 0), so each
poll reads only the bytes written since the previous one: no index, the same offsets GetLogEvents uses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .reader import complete_size, events_from, stream_names
from .streams import LogStore

MAX_EVENTS = 500  # per sessionUpdate, as CloudWatch sends at most


class LiveTail:
    def __init__(self, logs: LogStore, groups: dict[str, str], streams: list[str] | None, prefixes: list[str] | None,
                 matches: Callable[[str], bool]) -> None:  # fmt: skip
        """``groups`` maps each identifier the caller gave to its group name."""
        self.logs = logs
        self.groups = groups
        self.streams = set(streams) if streams else None
        self.prefixes = tuple(prefixes or ())
        self.matches = matches
        self.positions = {path: complete_size(path) for _, _, path in self._files()}

    def _files(self) -> Iterator[tuple[str, str, Path]]:
        for identifier, group in self.groups.items():
            for name, path in stream_names(self.logs.group_dir(group)):
                if self.streams is not None and name not in self.streams:
                    continue
                if self.prefixes and not name.startswith(self.prefixes):
                    continue
                yield identifier, name, path

    def poll(self) -> tuple[list[dict[str, Any]], bool]:
        """The new matching events, oldest first, and whether some were left out (more than one update holds)."""
        now = int(time.time() * 1000)
        found: list[dict[str, Any]] = []
        for identifier, name, path in self._files():
            position = self.positions.get(path, 0)
            for event in events_from(path, position):
                position = event.end
                if self.matches(event.message):
                    found.append({"logStreamName": name, "logGroupIdentifier": identifier, "message": event.message,
                                  "timestamp": event.timestamp, "ingestionTime": now})  # fmt: skip
            self.positions[path] = position
        found.sort(key=lambda event: event["timestamp"])
        return found[-MAX_EVENTS:], len(found) > MAX_EVENTS
