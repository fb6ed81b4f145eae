"""The queue loses nothing: SIGKILL with events queued, SIGTERM, restarts, a full disk, a damaged row.

Functions report each event they run to a TCP collector in the test, so what ran is known even when the
server dies before it could write anything down.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from harness import Collector, counters, deploy, settled, start_server, wait_for

from support import Server


@pytest.fixture
def collector() -> Iterator[Collector]:
    instance = Collector()
    yield instance
    instance.close()


def send_all(server: Server, function: str, marks: list[str], threads: int = 8) -> list[str]:
    """Send one event per mark from several clients; returns the marks that were accepted (202)."""
    clients = [server.client() for _ in range(threads)]

    def send(index: int) -> str | None:
        mark = marks[index]
        reply = clients[index % threads].invoke(
            FunctionName=function, InvocationType="Event", Payload=json.dumps({"mark": mark})
        )
        return mark if reply["StatusCode"] == 202 else None

    with ThreadPoolExecutor(threads) as pool:
        return [mark for mark in pool.map(send, range(len(marks))) if mark]


def kill(server: Server) -> None:
    assert server.process is not None
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()


def events_db(server: Server) -> Path:
    return server.data_dir / "events" / "events.db"


def test_sigkill_with_a_thousand_events_queued_loses_none(tmp_path, collector, capsys):
    data = tmp_path / "data"
    first = start_server(data, KINDLING_ASYNC_CONCURRENCY="16")
    lam = first.client()
    deploy(lam, "busy", collector.handler("    time.sleep(0.1)\n"))
    deploy(lam, "ping", "def handler(event, context):\n    return 'pong'\n")
    marks = [f"e-{n}" for n in range(1000)]
    accepted = send_all(first, "busy", marks)
    assert len(accepted) == 1000
    queued = counters(first, "busy")["QueueDepth"]
    began = time.monotonic()  # a backlog does not hold up synchronous calls
    assert json.loads(lam.invoke(FunctionName="ping")["Payload"].read()) == "pong"
    assert time.monotonic() - began < 2
    kill(first)
    assert queued > 100  # the kill really found events waiting and running
    second = start_server(data, KINDLING_ASYNC_CONCURRENCY="16")
    try:
        after = settled(second, "busy")
        wait_for(lambda: all(collector.seen[mark] for mark in accepted), timeout=30, what="every event to run")
    finally:
        second.stop()
    lost = [mark for mark in accepted if not collector.seen[mark]]
    duplicates = sum(count - 1 for count in collector.seen.values() if count > 1)
    with capsys.disabled():
        print(
            f"\n[sigkill] 1000 accepted, {queued} queued at the kill, {len(lost)} lost, {duplicates} duplicates, "
            f"{after['Redelivered']} attempts interrupted by the kill and run again"
        )
    assert lost == []
    # every duplicate is one the server counted: attempts in flight, or accepts that found the queue idle
    assert duplicates <= after["Redelivered"] <= 16 + 8
    assert set(collector.seen) == set(accepted)


def test_sigterm_finishes_synchronous_work_and_keeps_queued_events(tmp_path, collector):
    data = tmp_path / "data"
    server = start_server(data, KINDLING_ASYNC_CONCURRENCY="1")
    lam = server.client()
    deploy(lam, "queued", collector.handler("    time.sleep(0.2)\n"))
    deploy(lam, "slow", "import time\ndef handler(event, context):\n    time.sleep(1.5)\n    return 'finished'\n")
    marks = [f"q-{n}" for n in range(30)]
    assert send_all(server, "queued", marks, threads=2) == marks
    reply: dict[str, Any] = {}
    sync = threading.Thread(target=lambda: reply.update(lam.invoke(FunctionName="slow")))
    sync.start()
    time.sleep(0.3)
    assert server.stop(signal.SIGTERM) == 0
    sync.join()
    assert json.loads(reply["Payload"].read()) == "finished"
    ran_before = sum(collector.seen.values())
    assert 0 < ran_before < 30  # the rest waited for the next start
    again = start_server(data)
    try:
        wait_for(lambda: set(collector.seen) == set(marks), what="the queued events to run after the restart")
        assert settled(again, "queued")["Redelivered"] == 0
    finally:
        again.stop()
    assert max(collector.seen.values()) == 1  # a graceful stop duplicates nothing


def test_events_too_old_after_a_long_stop_go_to_on_failure_and_the_config_survives(tmp_path, collector):
    data = tmp_path / "data"
    server = start_server(data, KINDLING_ASYNC_CONCURRENCY="1")
    lam = server.client()
    deploy(lam, "late", collector.handler("    time.sleep(0.5)\n"))
    receiver_arn = deploy(
        lam, "receiver", collector.handler().replace("event['mark']", "event['requestPayload']['mark']")
    )
    lam.put_function_event_invoke_config(
        FunctionName="late", MaximumEventAgeInSeconds=60, DestinationConfig={"OnFailure": {"Destination": receiver_arn}}
    )
    marks = [f"old-{n}" for n in range(5)]
    send_all(server, "late", marks, threads=1)
    kill(server)
    with sqlite3.connect(events_db(server)) as db:  # as if the server had been down for an hour
        db.execute("UPDATE events SET received = received - 3600, due = due - 3600, leased = 0")
    again = start_server(data)
    try:
        assert again.client().get_function_event_invoke_config(FunctionName="late")["MaximumEventAgeInSeconds"] == 60
        wait_for(lambda: collector.seen.keys() >= set(marks), what="the OnFailure records")
        seen = settled(again, "late")
        assert seen["Dropped"]["EventAgeExceeded"] >= 4 and seen["Delivered"]["OnFailure"] >= 4
    finally:
        again.stop()


def test_a_damaged_row_is_quarantined_and_the_rest_run(tmp_path, collector):
    data = tmp_path / "data"
    server = start_server(data, KINDLING_ASYNC_CONCURRENCY="1")
    deploy(server.client(), "sturdy", collector.handler("    time.sleep(0.3)\n"))
    marks = [f"row-{n}" for n in range(8)]
    send_all(server, "sturdy", marks, threads=1)
    kill(server)
    with sqlite3.connect(events_db(server)) as db:
        ids = [row[0] for row in db.execute("SELECT id FROM events ORDER BY id")]
        db.execute("UPDATE events SET payload = 'not json' WHERE id = ?", (ids[-1],))
        db.execute("UPDATE events SET deliveries = '[{broken' WHERE id = ?", (ids[-2],))
    again = start_server(data)
    try:
        assert counters(again)["Quarantined"] == 2
        wait_for(lambda: set(collector.seen) >= set(marks[:-2]), what="the readable events to run")
        settled(again, "sturdy")
    finally:
        again.stop()
    log = again.log_path.read_text()
    assert f"row {ids[-1]} is unreadable" in log and f"row {ids[-2]} is unreadable" in log
    assert marks[-1] not in collector.seen and marks[-2] not in collector.seen
    with sqlite3.connect(events_db(again)) as db:
        assert db.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 2


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small file system needs root")
def test_a_full_disk_refuses_new_events_clearly_and_keeps_the_stored_ones(tmp_path, collector):
    data = tmp_path / "data"
    small = data / "events"
    small.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small)], check=True)
    try:
        server = start_server(data, KINDLING_ASYNC_CONCURRENCY="1")
        try:
            lam = server.client()
            deploy(lam, "steady", collector.handler("    time.sleep(0.1)\n"))
            before = [f"before-{n}" for n in range(10)]
            assert send_all(server, "steady", before, threads=1) == before
            filler = small / "filler"
            subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k"], capture_output=True, check=False)
            refused = None
            for n in range(200):  # the WAL may still have room for a few
                try:
                    lam.invoke(FunctionName="steady", InvocationType="Event", Payload=json.dumps({"mark": f"x-{n}"}))
                except ClientError as error:
                    refused = error.response
                    break
            assert refused is not None
            assert refused["Error"]["Code"] == "ServiceException"
            assert "could not store the event durably" in refused["Error"]["Message"]
            assert "full" in refused["Error"]["Message"]
            filler.unlink()
            accepted_during = [f"x-{m}" for m in range(n)]
            after = [f"after-{n}" for n in range(5)]
            assert send_all(server, "steady", after, threads=1) == after
            expected = set(before) | set(after) | set(accepted_during)
            wait_for(lambda: set(collector.seen) >= expected, timeout=40, what="every accepted event to run")
            assert f"x-{n}" not in collector.seen  # the refused one was really not taken
        finally:
            server.stop()
    finally:
        subprocess.run(["umount", "--lazy", str(small)], check=False)
