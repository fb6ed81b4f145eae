"""Helpers for tests that drive a real ``kindling server`` process through its public API."""

from __future__ import annotations

import asyncio
import configparser
import io
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
KINDLING = str(Path(sys.executable).with_name("kindling"))
ROLE = "arn:aws:iam::000000000000:role/test"
LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_zip(files: dict[str, str | bytes], modes: dict[str, int] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = ((modes or {}).get(name, 0o644) | 0o100000) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


def create_function(
    lam,
    name: str,
    files: dict[str, str | bytes],
    handler: str = "app.handler",  # type: ignore[no-untyped-def]
    runtime: str = "python3.12",
    **settings: object,
) -> str:
    """CreateFunction from a dict of files, the way every test deploys code."""
    lam.create_function(
        FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler, Code={"ZipFile": make_zip(files)}, **settings
    )
    return name


class Server:
    """A ``kindling server`` child process on a free port with its own data dir."""

    def __init__(self, data_dir: Path, *extra: str, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.tls_ca: str | None = extra[extra.index("--tls-cert") + 1] if "--tls-cert" in extra else None
        self.endpoint = f"{'https' if self.tls_ca else 'http'}://127.0.0.1:{self.port}"
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"server-{self.port}.log"

    def start(self, timeout: float = 30) -> Server:
        log = open(self.log_path, "ab")  # noqa: SIM115  (owned by the child)
        self.process = subprocess.Popen(
            [KINDLING, "server", "--port", str(self.port), "--data-dir", str(self.data_dir), *self.extra],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                context = ssl.create_default_context(cafile=self.tls_ca) if self.tls_ca else None
                with urllib.request.urlopen(self.endpoint + "/health", timeout=1, context=context) as reply:
                    if reply.status == 200:
                        return self._with_role()
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not become ready")

    def _with_role(self) -> Server:
        """Under ``--auth iam`` CreateFunction wants a role Lambda may assume: ``ROLE``, made on first start."""
        if "iam" in self.extra and self.extra[self.extra.index("iam") - 1] == "--auth":
            iam = self.client("iam")
            with suppress(iam.exceptions.EntityAlreadyExistsException):
                iam.create_role(RoleName=ROLE.rsplit("/", 1)[-1], AssumeRolePolicyDocument=LAMBDA_TRUST)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def health(self) -> dict:
        with urllib.request.urlopen(self.endpoint + "/health", timeout=5) as reply:
            return json.loads(reply.read())

    @property
    def root_keys(self) -> tuple[str, str]:
        """The root identity's keys the server wrote to ``<data-dir>/credentials`` on its first start."""
        parser = configparser.ConfigParser()
        parser.read(self.data_dir / "credentials")
        if not parser.has_section("kindling"):
            return "test", "test"
        return parser["kindling"]["aws_access_key_id"], parser["kindling"]["aws_secret_access_key"]

    def client(self, service: str = "lambda", *, validate: bool = True, keys: tuple[str, str] | None = None):  # type: ignore[no-untyped-def]
        """A boto3 client signing with ``keys`` (the root's by default); ``validate=False`` lets bad input
        reach the server, to test its checks."""
        key, secret = keys or self.root_keys
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            verify=self.tls_ca,
            config=Config(
                retries={"max_attempts": 1},
                read_timeout=120,
                connect_timeout=5,
                parameter_validation=validate,
            ),
        )


@contextmanager
def running(data_dir: Path, *extra: str) -> Iterator[Server]:
    server = Server(data_dir, *extra).start()
    try:
        yield server
    finally:
        server.stop()


def aws_cli(
    endpoint: str, *args: str, check: bool = True, keys: tuple[str, str] = ("test", "test")
) -> subprocess.CompletedProcess[str]:
    """The AWS CLI v1, installed by ``make install`` in a virtualenv of its own."""
    aws = ROOT / ".venv-awscli" / "bin" / "aws"
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": keys[0],
        "AWS_SECRET_ACCESS_KEY": keys[1],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_PAGER": "",
    }
    return subprocess.run(
        [str(aws), "--endpoint-url", endpoint, *args],
        capture_output=True,
        text=True,
        env=env,
        check=check,
        timeout=120,
    )


async def _raw_invoke(host: str, port: int, name: str, payload: bytes) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"POST /2015-03-31/functions/{name}/invocations HTTP/1.1\r\nHost: {host}\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
        + payload
    )
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def invoke_many(
    endpoint: str, name: str, count: int, payload: bytes = b"{}"
) -> list[tuple[int, dict[str, str], bytes]]:
    """``count`` simultaneous invocations over raw HTTP, each on its own connection."""
    host, port = endpoint.removeprefix("http://").split(":")

    async def all_at_once() -> list[tuple[int, dict[str, str], bytes]]:
        return await asyncio.gather(*(_raw_invoke(host, int(port), name, payload) for _ in range(count)))

    return asyncio.run(all_at_once())


@contextmanager
def deleting(lam) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """Names appended to the yielded list are deleted afterwards (if a test has not already done so)."""
    created: list[str] = []
    try:
        yield created
    finally:
        for name in created:
            with suppress(lam.exceptions.ResourceNotFoundException):
                lam.delete_function(FunctionName=name)
