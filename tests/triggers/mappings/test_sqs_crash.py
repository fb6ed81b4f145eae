"""An SQS event source mapping survives ``kill -9``: with 1,000 messages in flight through it, the server is
killed, started again on the same data dir, and every message is processed at least once — none lost. Then
a graceful stop is prompt, though the mapping is in the middle of a long poll on the port.

The queues are the server's own (SQS on the port, journaled): the crash takes the poller, the invocations in
progress and the services with it. The function records each body it is given in a second queue."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from support import Server, create_function

COUNT = 1000
RECORDER = """
import os, boto3
sqs = boto3.client("sqs")
def handler(event, context):
    entries = [{"Id": str(i), "MessageBody": r["body"]} for i, r in enumerate(event["Records"])]
    sqs.send_message_batch(QueueUrl=os.environ["RECORDS"], Entries=entries)
"""


def drain(sqs, url: str, seen: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return
        for message in messages:
            seen[message["Body"]] = seen.get(message["Body"], 0) + 1
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        )


def waiting(sqs, url: str) -> int:  # type: ignore[no-untyped-def]
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
               ["ApproximateNumberOfMessages"])  # fmt: skip


@pytest.mark.serial
def test_no_message_is_lost_when_the_server_is_killed_mid_flight(tmp_path: Path) -> None:
    server = Server(tmp_path / "data").start()
    try:
        sqs, lam = server.client("sqs"), server.client("lambda")
        records = sqs.create_queue(QueueName="crash-records")["QueueUrl"]
        source = sqs.create_queue(QueueName="crash-source", Attributes={"VisibilityTimeout": "3"})["QueueUrl"]
        source_arn = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        create_function(lam, "crash-recorder", {"app.py": RECORDER}, Timeout=10,
                        Environment={"Variables": {"RECORDS": records}})  # fmt: skip
        for start in range(0, COUNT, 10):
            entries = [{"Id": str(i), "MessageBody": f"m-{i}"} for i in range(start, start + 10)]
            sqs.send_message_batch(QueueUrl=source, Entries=entries)
        lam.create_event_source_mapping(FunctionName="crash-recorder", EventSourceArn=source_arn, BatchSize=10)
        deadline = time.monotonic() + 30
        while waiting(sqs, records) < 100:  # the mapping is busy: kill it mid-flight
            assert time.monotonic() < deadline, "the mapping did not start"
            time.sleep(0.05)
        server.stop(signal.SIGKILL)
        restarted = time.monotonic()
        server.start(timeout=120)
        print(f"restarted in {time.monotonic() - restarted:.1f} s")
        seen: dict[str, int] = {}
        deadline = time.monotonic() + 60
        while len(seen) < COUNT:
            assert time.monotonic() < deadline, f"{COUNT - len(seen)} messages were lost"
            drain(sqs, records, seen)
            time.sleep(0.2)
        assert set(seen) == {f"m-{i}" for i in range(COUNT)}
        print(json.dumps({"processed": sum(seen.values()), "twice_or_more": sum(n > 1 for n in seen.values())}))
        stopping = time.monotonic()
        assert server.stop() == 0
        # the mapping's 20-second long poll on the port answers at once: it does not hold the graceful stop
        assert time.monotonic() - stopping < 10
    finally:
        server.stop()
