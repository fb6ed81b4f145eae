"""The event store on its own: group commit, reload, quarantine of damaged rows, failing writes."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

import pytest

from kindling.events import salvage
from kindling.events.event import Delivery, QueuedEvent
from kindling.events.store import EventStore, StoreError


def event(mark: str) -> QueuedEvent:
    now = time.time()
    return QueuedEvent("rid-" + mark, "fn", "arn:aws:lambda:us-east-1:000000000000:function:fn", b'{"m": 1}', now, now)


def run(path: Path, work) -> object:  # type: ignore[no-untyped-def]
    async def main() -> object:
        store = EventStore(path)
        store.start()
        try:
            return await work(store)
        finally:
            await asyncio.to_thread(store.close)

    return asyncio.run(main())


def test_events_written_concurrently_are_all_stored_and_read_back_in_order(tmp_path):
    path = tmp_path / "events.db"

    async def work(store: EventStore) -> None:
        batch = [event(str(n)) for n in range(200)]
        await asyncio.gather(*(store.insert(e) for e in batch))
        batch[0].deliveries = [Delivery("OnSuccess", "arn:aws:sqs:us-east-1:000000000000:q", "{}")]
        batch[0].attempts, batch[0].leased = 1, True
        await store.update(batch[0], (event("follow-up"),))
        await store.remove(batch[1])

    run(path, work)
    loaded, bad = EventStore(path).load()
    assert bad == 0
    assert [e.request_id for e in loaded] == ["rid-0", *(f"rid-{n}" for n in range(2, 200)), "rid-follow-up"]
    first = loaded[0]
    assert first.attempts == 1 and first.leased
    assert first.deliveries == [Delivery("OnSuccess", "arn:aws:sqs:us-east-1:000000000000:q", "{}")]


def test_a_damaged_row_is_moved_aside_with_its_reason(tmp_path):
    path = tmp_path / "events.db"

    async def work(store: EventStore) -> None:
        for n in range(3):
            await store.insert(event(str(n)))

    run(path, work)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE events SET attempts = 'many' WHERE request_id = 'rid-1'")
    loaded, bad = EventStore(path).load()
    assert bad == 1 and [e.request_id for e in loaded] == ["rid-0", "rid-2"]
    with sqlite3.connect(path) as db:
        (reason,) = db.execute("SELECT reason FROM quarantine").fetchone()
    assert "attempts" in reason
    assert len(EventStore(path).load()[0]) == 2  # and it stays out


def test_a_failing_disk_refuses_new_events_and_retries_the_bookkeeping(tmp_path):
    path = tmp_path / "events.db"

    async def work(store: EventStore) -> None:
        kept = event("kept")
        await store.insert(kept)
        store._db.execute("PRAGMA max_page_count = 1")  # no room for one more page: as good as a full disk
        with pytest.raises(StoreError, match="could not store the event durably"):
            await store.insert(event("refused" * 2000))
        kept.attempts = 2
        kept.deliveries = [Delivery("OnFailure", "arn:aws:sqs:us-east-1:000000000000:q", "x" * 20_000)]
        pending = asyncio.ensure_future(store.update(kept))
        await asyncio.sleep(0.2)
        assert store.failing and not pending.done()
        store._db.execute("PRAGMA max_page_count = 1000000")
        await asyncio.wait_for(pending, 5)
        assert store.failing == ""

    run(path, work)
    loaded, _ = EventStore(path).load()
    assert [(e.request_id, e.attempts) for e in loaded] == [("rid-kept", 2)]


def test_a_damaged_file_is_set_aside_and_the_readable_rows_carried_over(tmp_path):
    path = tmp_path / "events.db"

    async def work(store: EventStore) -> None:
        for n in range(60):
            mark = event(str(n))
            mark.payload = json.dumps({"pad": "x" * 1500}).encode()
            await store.insert(mark)

    run(path, work)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = db.execute("PRAGMA page_size").fetchone()[0]
        pages = db.execute("PRAGMA page_count").fetchone()[0]
    with path.open("r+b") as raw:  # garbage over one page of rows in the middle
        raw.seek(page * (pages // 2))
        raw.write(b"\xde\xad" * (page // 2))
    loaded, _ = EventStore(path).load()
    assert 40 <= len(loaded) < 60
    assert list(tmp_path.glob("events.db.damaged-*"))
    assert salvage.problem(path) is None


def test_a_big_payload_waits_on_disk_and_is_read_back(tmp_path):
    path = tmp_path / "events.db"
    big = json.dumps({"data": "y" * 200_000}).encode()

    async def work(store: EventStore) -> None:
        waiting = event("big")
        waiting.payload = big
        await store.insert(waiting)

    run(path, work)
    (loaded,), _ = EventStore(path).load()
    assert loaded.payload is None

    async def read_back(store: EventStore) -> bytes:
        return await store.payload(loaded)

    assert run(path, read_back) == big
