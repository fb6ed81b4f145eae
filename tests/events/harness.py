"""What the asynchronous-invocation tests share: servers with short delays, a moto SQS, a collector.

Imported by the ``test_async_*.py`` modules beside it as ``harness``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import socketserver
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3

from support import ROLE, Server, free_port, make_zip

FAST = {
    "KINDLING_ASYNC_RETRY_BASE_S": "0.5",
    "KINDLING_ASYNC_BACKOFF_MIN_S": "0.2",
    "KINDLING_ASYNC_BACKOFF_MAX_S": "1",
}
MOTO = str(Path(sys.executable).with_name("moto_server"))


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    """Environment variables for the server processes started inside (they inherit ours)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def start_server(data_dir: Path, *extra: str, **env: str) -> Server:
    with environment(**{**FAST, **env}):
        return Server(data_dir, "--keep-alive", "30", *extra).start()


def wait_for(check: Callable[[], Any], timeout: float = 20, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def counters(server: Server, name: str | None = None) -> dict[str, Any]:
    path = "/kindling/async-events" + (f"/{name}" if name else "")
    with urllib.request.urlopen(server.endpoint + path, timeout=5) as reply:
        return json.loads(reply.read())


def settled(server: Server, name: str) -> dict[str, Any]:
    """Counters once the function's queue is empty."""
    return wait_for(lambda: (c := counters(server, name))["QueueDepth"] == 0 and c, what=f"{name}'s queue to drain")


def function_log(server: Server, name: str) -> str:
    group = server.data_dir / "logs" / quote(f"/aws/lambda/{name}", safe="")
    return "".join(stream.read_text() for stream in group.glob("*")) if group.exists() else ""


def starts(server: Server, name: str) -> int:
    return function_log(server, name).count("\tSTART RequestId: ")


def deploy(lam: Any, name: str, source: str, **settings: Any) -> str:
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": make_zip({"app.py": source})},
        **settings,
    )
    return lam.get_function_configuration(FunctionName=name)["FunctionArn"]


class Collector:
    """A TCP listener that counts the marks functions send it: what really ran, and how often."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        lock = threading.Lock()
        seen = self.seen

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                mark = self.rfile.readline().decode().strip()
                with lock:
                    seen[mark] += 1
                self.wfile.write(b"ok\n")

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def handler(self, extra: str = "") -> str:
        """Handler source that reports ``event['mark']`` here before it returns."""
        return (
            "import socket, time\n"
            "def handler(event, context):\n"
            f"{extra}"
            "    with socket.socket() as s:\n"
            "        s.settimeout(10)\n"
            f"        s.connect(('127.0.0.1', {self.port}))\n"
            "        s.sendall(event['mark'].encode() + b'\\n')\n"
            "        s.recv(8)\n"
            "    return {'mark': event['mark']}\n"
        )

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextlib.contextmanager
def moto_sqs() -> Iterator[str]:
    """moto's server as the SQS-compatible endpoint; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [MOTO, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(endpoint), timeout=30, what="moto_server")
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


def _answers(endpoint: str) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", int(endpoint.rsplit(":", 1)[1])), 1):
        return True
    return False


def sqs_client(endpoint: str) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def queue(sqs: Any, name: str) -> tuple[str, str]:
    """A new queue: (its URL, its ARN)."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive(sqs: Any, url: str, count: int, timeout: float = 20) -> list[dict[str, Any]]:
    """Exactly the messages that arrive within the timeout, at least ``count`` of them."""
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(messages) < count and time.monotonic() < deadline:
        reply = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        )
        for message in reply.get("Messages", []):
            messages.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert len(messages) >= count, f"only {len(messages)} of {count} messages arrived"
    return messages
