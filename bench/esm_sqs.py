"""SQS event source mapping figures: message sent -> handler started (idle queue), and the drain rate of a
backlog through a no-op function with BatchSize 10. The queue lives in a ``moto_server`` the Kindling server
reaches with ``--service-endpoint sqs=...`` (the same path as any external SQS).

    .venv/bin/python bench/esm_sqs.py [--samples 100] [--messages 1000] [--embedded]

``--embedded`` uses the SQS Kindling serves on its own port instead (moto in process, with Kindling's patches
that keep a send and a count from walking the whole queue).

Targets (issue 13): latency p50 <= 50 ms, p99 <= 200 ms; drain >= 2,000 messages/s. moto's queues cost
time in proportion to their length on every send and receive, so a large backlog measures moto: the drain is
reported beside the floor, the same backlog drained by a plain receive/delete loop with no function at all.
"""

from __future__ import annotations

import argparse
import io
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import boto3

BIN = Path(sys.executable).parent
STAMP = r"""
import json, os, time, urllib.request

def handler(event, context):
    started = time.time()
    queue = os.environ["RECORD_QUEUE"]
    body = {"QueueUrl": queue, "MessageBody": json.dumps({"started": started, "sent": event["Records"][0]["body"]})}
    request = urllib.request.Request(queue.rsplit("/", 2)[0] + "/", data=json.dumps(body).encode(), headers={
        "X-Amz-Target": "AmazonSQS.SendMessage", "Content-Type": "application/x-amz-json-1.0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=b/20240101/us-east-1/sqs/aws4_request, "
                         "SignedHeaders=host, Signature=0"})
    urllib.request.urlopen(request, timeout=10).read()
"""
NOOP = "def handler(event, context):\n    return None\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the process exited")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not answer")


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="b",
                        aws_secret_access_key="b")  # fmt: skip


def deploy(lam: Any, name: str, source: str, environment: dict[str, str]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    lam.create_function(FunctionName=name, Runtime="python3.12", Role="arn:aws:iam::000000000000:role/bench",
                        Handler="app.handler", Code={"ZipFile": buffer.getvalue()}, MemorySize=1769,
                        Environment={"Variables": environment})  # fmt: skip


def enabled(lam: Any, uuid: str) -> None:
    while lam.get_event_source_mapping(UUID=uuid)["State"] != "Enabled":
        time.sleep(0.02)


def queue_arn(sqs: Any, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def latency(lam: Any, sqs: Any, samples: int) -> dict[str, float]:
    record = sqs.create_queue(QueueName="latency-record")["QueueUrl"]
    source = sqs.create_queue(QueueName="latency-in")["QueueUrl"]
    deploy(lam, "latency", STAMP, {"RECORD_QUEUE": record})
    enabled(lam, lam.create_event_source_mapping(FunctionName="latency", EventSourceArn=queue_arn(sqs, source))["UUID"])
    delays = []
    for index in range(samples + 1):
        sent = time.time()
        sqs.send_message(QueueUrl=source, MessageBody=str(sent))
        reply = sqs.receive_message(QueueUrl=record, WaitTimeSeconds=20)
        message = reply["Messages"][0]
        sqs.delete_message(QueueUrl=record, ReceiptHandle=message["ReceiptHandle"])
        if index:  # the first includes the function's cold start
            delays.append((json.loads(message["Body"])["started"] - sent) * 1000)
        time.sleep(0.05)  # the queue is idle again, its poller back in a long poll
    delays.sort()
    return {
        "p50_ms": round(statistics.median(delays), 1),
        "p99_ms": round(delays[min(len(delays) - 1, int(len(delays) * 0.99))], 1),
    }


def fill(sqs: Any, name: str, messages: int) -> str:
    source = sqs.create_queue(QueueName=name)["QueueUrl"]
    for start in range(0, messages, 10):
        sqs.send_message_batch(QueueUrl=source, Entries=[{"Id": str(i), "MessageBody": f"m{i}"}
                                                         for i in range(start, min(start + 10, messages))])  # fmt: skip
    return source


def floor(sqs: Any, messages: int) -> float:
    """The same backlog drained by one client doing nothing else: what the queue itself allows."""
    source = fill(sqs, "floor-in", messages)
    began = time.monotonic()
    while batch := sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10).get("Messages", []):
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        sqs.delete_message_batch(QueueUrl=source, Entries=entries)
    return round(messages / (time.monotonic() - began))


def drain(lam: Any, sqs: Any, messages: int) -> dict[str, float]:
    deploy(lam, "drain", NOOP, {})
    lam.invoke(FunctionName="drain", Payload=b"{}")  # warm
    source = fill(sqs, "drain-in", messages)
    began = time.monotonic()
    created = lam.create_event_source_mapping(FunctionName="drain", EventSourceArn=queue_arn(sqs, source), BatchSize=10)
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    while True:
        attributes = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=names)["Attributes"]
        if sum(int(attributes[name]) for name in names) == 0:
            break
        time.sleep(0.05)
    elapsed = time.monotonic() - began
    lam.delete_event_source_mapping(UUID=created["UUID"])
    return {
        "messages": messages,
        "seconds": round(elapsed, 2),
        "per_second": round(messages / elapsed),
        "queue_floor_per_second": floor(sqs, messages),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--embedded", action="store_true", help="the SQS on Kindling's own port")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kindling-esm.") as scratch, Path(scratch, "log").open("wb") as log:
        moto_port, port = free_port(), free_port()
        kindling_url = f"http://127.0.0.1:{port}"
        sqs_url, flags, moto = kindling_url, [], None
        if not args.embedded:
            sqs_url, flags = (
                f"http://127.0.0.1:{moto_port}",
                ["--service-endpoint", f"sqs=http://127.0.0.1:{moto_port}"],
            )
            moto = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)], stdout=log,
                                    stderr=subprocess.STDOUT)  # fmt: skip
        server = subprocess.Popen([str(BIN / "kindling"), "server", "--port", str(port), "--data-dir",
                                   f"{scratch}/data", *flags], stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            if moto is not None:
                wait_http(sqs_url + "/moto-api/", moto)
            wait_http(f"{kindling_url}/health", server)
            lam, sqs = client("lambda", kindling_url), client("sqs", sqs_url)
            results = {"latency": latency(lam, sqs, args.samples), "drain": drain(lam, sqs, args.messages)}
        finally:
            server.terminate()
            server.wait(60)
            if moto is not None:
                moto.terminate()
                moto.wait(10)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
