"""What the event source mapping tests share: a ``moto_server`` process (the AWS services the pollers read),
a waiter on state, and a recorder function that tells the test what it was given: each event goes, whole, to
an SQS queue of moto's (``RECORD_QUEUE``), sent with plain urllib so the function needs no SDK. Records whose
body, data or new image says ``fail`` are reported as failed item by item (``ReportBatchItemFailures``)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3

from support import create_function, free_port

_names = itertools.count()

MOTO = str(Path(sys.executable).with_name("moto_server"))
SERVICES = ("sqs", "sns", "kinesis", "dynamodb", "dynamodbstreams")


class Moto:
    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [MOTO, "-H", "127.0.0.1", "-p", str(self.port)], stdout=log.open("ab"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("moto_server did not start")

    def client(self, service: str):  # type: ignore[no-untyped-def]
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def service_flags(moto: Moto) -> list[str]:
    return [flag for service in SERVICES for flag in ("--service-endpoint", f"{service}={moto.endpoint}")]


def wait_for(check: Callable[[], object], timeout: float = 30, what: str = "condition") -> object:
    """Polls ``check`` until it returns something truthy (waiting on state, never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


HANDLER = r"""
import base64, json, os, urllib.request

def _send(event):
    queue = os.environ["RECORD_QUEUE"]
    request = urllib.request.Request(
        queue.rsplit("/", 2)[0] + "/",
        data=json.dumps({"QueueUrl": queue, "MessageBody": json.dumps(event)}).encode(),
        headers={
            "X-Amz-Target": "AmazonSQS.SendMessage",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/sqs/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    urllib.request.urlopen(request, timeout=10).read()

def _failed(record):
    if "body" in record:
        return record["body"].startswith("fail"), record["messageId"]
    if "kinesis" in record:
        data = base64.b64decode(record["kinesis"]["data"]).decode()
        return data.startswith("fail"), record["kinesis"]["sequenceNumber"]
    return "fail" in json.dumps(record["dynamodb"].get("NewImage", {})), record["dynamodb"]["SequenceNumber"]

def handler(event, context):
    _send(event)
    if os.environ.get("FAIL_ALL"):
        raise RuntimeError("failing on purpose")
    if "window" in event:  # a tumbling window: count its records in the state
        return {"state": {"count": event["state"].get("count", 0) + len(event["Records"])}}
    failures = [identifier for failed, identifier in map(_failed, event["Records"]) if failed]
    return {"batchItemFailures": [{"itemIdentifier": identifier} for identifier in failures]}
"""


def events(sqs, queue_url: str) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Every event the function has recorded since the last call, in the order they were sent."""
    found = []
    while True:
        reply = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = reply.get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(json.loads(message["Body"]))
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def recorder_function(lam, sqs, prefix: str, **environment: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A function running ``HANDLER``, and the queue where it records what it was given."""
    name = f"{prefix}-{next(_names)}"
    record_queue = sqs.create_queue(QueueName=f"{name}-record")["QueueUrl"]
    create_function(
        lam, name, {"app.py": HANDLER}, Environment={"Variables": {"RECORD_QUEUE": record_queue, **environment}}
    )
    return name, record_queue
