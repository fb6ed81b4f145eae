"""A Kindling server for the benchmark: a free port, a throw-away data dir, always stopped afterwards."""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import boto3
from botocore.client import BaseClient
from botocore.config import Config

from kit import Progress

HOST = "127.0.0.1"
ROLE = "arn:aws:iam::000000000000:role/bench"
# 1769 MB is one full vCPU on AWS Lambda: Kindling gets as much CPU as the peers, which run unthrottled
MEMORY_SIZE = 1769


class ServerError(Exception):
    """Kindling could not be started: the bench reports why and still measures the peers."""


def executable() -> Path:
    """The console script beside the interpreter running the bench (.venv/bin/python bench/run.py)."""
    return Path(sys.executable).parent / "kindling"


def mounts_under(path: Path) -> list[str]:
    """Mount points at or below path, parents first (the order of /proc/mounts)."""
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return []
    points = [line.split()[1] for line in lines if len(line.split()) > 1]
    return [p for p in points if p == str(path) or p.startswith(f"{path}/")]


@contextlib.contextmanager
def scratch_dir(progress: Progress) -> Iterator[Path]:
    """A temporary folder for the server's data and log, removed afterwards even where the server left its
    sandboxes' mounts in it; that is a server bug, so it is reported rather than silently cleaned up."""
    path = Path(tempfile.mkdtemp(prefix="kindling-bench."))
    try:
        yield path
    finally:
        leftovers = mounts_under(path)
        if leftovers:
            progress(f"warning: kindling left {len(leftovers)} mount(s) in its data dir after it stopped")
        for point in reversed(leftovers):
            subprocess.run(["umount", "--lazy", point], check=False)
        shutil.rmtree(path, ignore_errors=True)
        if path.exists():
            progress(f"warning: could not remove {path}")


@contextlib.contextmanager
def running(kit: ModuleType, workdir: Path, timeout: float = 60.0, extra: tuple[str, ...] = ()) -> Iterator[int]:
    """Starts `kindling server` with its data in workdir, yields its port once /health answers, stops it."""
    exe = executable()
    if not os.access(exe, os.X_OK):
        raise ServerError(f"{exe} not found (run make install)")
    port = kit.free_port()
    data = workdir / "data"
    data.mkdir()
    log_path = workdir / "kindling.log"
    argv = [str(exe), "server", "--host", HOST, "--port", str(port), "--data-dir", str(data), *extra]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_healthy(kit, proc, port, timeout, log_path)
        yield port
    finally:
        if proc.poll() is None:
            kit.stop_process_tree(proc)
        else:  # it died by itself: its execution environments may live on in its process group
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)


def endpoint(port: int) -> str:
    return f"http://{HOST}:{port}"


def wait_healthy(kit: ModuleType, proc: subprocess.Popen, port: int, timeout: float, log_path: Path) -> None:
    """Polls GET /health until it answers 200; the server's own log explains a failure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(
                f"kindling server exited with status {proc.returncode}: {kit.log_tail(log_path)}",
            )
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            conn.request("GET", "/health")
            resp = conn.getresponse()
            resp.read()
            if resp.status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        time.sleep(0.05)
    raise ServerError(f"kindling server not healthy within {timeout:.0f} s: {kit.log_tail(log_path)}")


def lambda_client(endpoint: str) -> BaseClient:
    """boto3's lambda client against Kindling, without retries so that a failure shows at once."""
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=120),
    )


def handler_zip(handler: Path) -> bytes:
    """The kit's handler.py as a deployment package, so Kindling runs exactly what the peers run."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(handler, "handler.py")
    return buf.getvalue()


def deploy(
    client: BaseClient,
    name: str,
    code: bytes,
    handler: str = "handler.handler",
    timeout: int = 3,
    snap_start: bool = False,
) -> None:
    """Creates a python3.12 function (``snap_start``: its published versions restore from a snapshot) and
    waits until it is Active, i.e. invokable."""
    client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler=handler,
        Code={"ZipFile": code},
        MemorySize=MEMORY_SIZE,
        Timeout=timeout,
        SnapStart={"ApplyOn": "PublishedVersions" if snap_start else "None"},
    )
    client.get_waiter("function_active_v2").wait(
        FunctionName=name,
        WaiterConfig={"Delay": 1, "MaxAttempts": 60},
    )
