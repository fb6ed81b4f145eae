"""The retention sweep deletes expired events on disk without losing what environments are still writing."""

from __future__ import annotations

import time
from pathlib import Path

from kindling.logs.groups import LogGroups
from kindling.logs.reader import events_from
from kindling.logs.retention import DAY_MS, sweep
from kindling.logs.streams import LogStore


def messages(path: Path) -> list[str]:
    return [event.message for event in events_from(path)]


def test_the_sweep_drops_expired_events_and_keeps_an_open_stream_writable(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "logs")
    groups = LogGroups(store, tmp_path / "log-groups.json")
    now = int(time.time() * 1000)
    live = store.open_stream("/aws/lambda/fn", "2026/01/01/[$LATEST]live")
    live.write("two days old", now - 2 * DAY_MS)
    live.write("fresh")
    finished = store.open_stream("/aws/lambda/fn", "2026/01/01/[$LATEST]done")
    finished.write("old and closed", now - 3 * DAY_MS)
    finished.close()
    store.flush()
    groups.set_retention("/aws/lambda/fn", 1)

    sweep(store, groups)

    assert messages(live.path) == ["fresh"]
    assert not finished.path.exists()  # nothing left in a stream nobody writes to: it goes
    live.write("after the sweep")
    store.flush()
    assert messages(live.path) == ["fresh", "after the sweep"]


def test_groups_without_retention_keep_everything(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "logs")
    groups = LogGroups(store, tmp_path / "log-groups.json")
    stream = store.open_stream("/aws/lambda/keep", "s")
    stream.write("ten years old", int(time.time() * 1000) - 3650 * DAY_MS)
    store.flush()
    sweep(store, groups)
    assert messages(stream.path) == ["ten years old"]
    assert LogGroups(store, tmp_path / "log-groups.json").get("/aws/lambda/keep") is not None
