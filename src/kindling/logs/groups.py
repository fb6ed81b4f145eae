"""Which log groups exist, when each was created and how long it keeps events.

Groups appear two ways: created through the API, or implicitly when a function first writes
to ``/aws/lambda/<name>``. Their metadata lives in one small JSON file beside the stream
directories, rewritten atomically on the rare change and replaced wholesale in memory, so the
API's reader thread and the event loop can both consult it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from .streams import LogStore


@dataclass(frozen=True)
class GroupInfo:
    name: str
    created: int  # epoch ms
    retention_days: int | None


class LogGroups:
    def __init__(self, store: LogStore, path: Path) -> None:
        self.store = store
        self.path = path
        self._lock = threading.Lock()
        try:
            self._entries: dict[str, dict[str, int | None]] = json.loads(path.read_text())
        except FileNotFoundError:
            self._entries = {}

    def names(self) -> list[str]:
        on_disk = {unquote(entry.name) for entry in os.scandir(self.store.root) if entry.is_dir()}
        return sorted(on_disk | set(self._entries))

    def get(self, name: str) -> GroupInfo | None:
        entry = self._entries.get(name)
        if entry is None:
            directory = self.store.group_dir(name)
            if not directory.is_dir():
                return None
            entry = self._record(name, {"created": int(directory.stat().st_mtime * 1000), "retention": None})
        return GroupInfo(name, int(entry["created"] or 0), entry["retention"])

    def create(self, name: str) -> bool:
        """False when it already exists."""
        with self._lock:
            if name in self._entries or self.store.group_dir(name).is_dir():
                return False
            self._save({**self._entries, name: {"created": int(time.time() * 1000), "retention": None}})
        self.store.group_dir(name).mkdir(parents=True, exist_ok=True)
        return True

    def delete(self, name: str) -> bool:
        """False when there was no such group."""
        if self.get(name) is None:
            return False
        with self._lock:
            self._save({key: value for key, value in self._entries.items() if key != name})
        self.store.delete_group(name)
        return True

    def set_retention(self, name: str, days: int | None) -> None:
        info = self.get(name)
        assert info is not None
        self._record(name, {"created": info.created, "retention": days}, replace=True)

    def retentions(self) -> dict[str, int]:
        return {name: entry["retention"] for name, entry in self._entries.items() if entry["retention"]}

    def _record(self, name: str, entry: dict[str, int | None], replace: bool = False) -> dict[str, int | None]:
        with self._lock:
            if name in self._entries and not replace:
                return self._entries[name]
            self._save({**self._entries, name: entry})
            return entry

    def _save(self, entries: dict[str, dict[str, int | None]]) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(entries, indent=1, sort_keys=True))
        os.replace(temporary, self.path)
        self._entries = entries
