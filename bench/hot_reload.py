"""Save-to-served latency of ``kindling dev``: how long after a file is saved the next invocation runs it.

    from hot_reload import measure_hot_reload
    measure_hot_reload(port, samples=20, progress=print)  # -> {"p50_ms": ..., "p90_ms": ..., ...}

It runs the real ``kindling dev`` on a scratch function against a running server, writes a new
version of the handler, and invokes in a tight loop until the new version answers. Target: p50 < 300 ms.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import boto3
from botocore.config import Config

NAME = "bench-hot-reload"
TARGET_P50_MS = 300.0
SOURCE = "def handler(event, context):\n    return {version}\n"


def _lambda(endpoint: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 1}),
    )


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            raise RuntimeError(f"kindling dev exited: {log.read_text(errors='replace')[-500:]}")
        time.sleep(0.02)
    raise RuntimeError(f"kindling dev not ready in {timeout:.0f} s: {log.read_text(errors='replace')[-500:]}")


def _served(client, version: int, timeout: float) -> float:  # type: ignore[no-untyped-def]
    """Invokes until ``version`` answers; the moment it did."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if json.load(client.invoke(FunctionName=NAME)["Payload"]) == version:
            return time.perf_counter()
    raise RuntimeError(f"version {version} not served within {timeout:.0f} s")


def measure_hot_reload(port: int, samples: int = 20, progress: Callable[[str], None] = print) -> dict:
    """``samples`` saves of the handler, each timed until an invocation returns the new code."""
    endpoint = f"http://127.0.0.1:{port}"
    client = _lambda(endpoint)
    kindling = Path(sys.executable).with_name("kindling")
    with tempfile.TemporaryDirectory(prefix="kindling-hot-reload.") as scratch:
        directory = Path(scratch) / NAME
        directory.mkdir()
        source = directory / "app.py"
        source.write_text(SOURCE.format(version=0))
        log = Path(scratch) / "dev.log"
        with log.open("wb") as output:
            dev = subprocess.Popen(
                [str(kindling), "dev", str(directory), "--name", NAME, "--endpoint", endpoint],
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "NO_COLOR": "1"},
            )
        try:
            _wait_for(log, "watching ", dev, 60)
            _served(client, 0, 10)
            progress(f"hot reload: {samples} saves through kindling dev")
            latencies = []
            for version in range(1, samples + 1):
                source.write_text(SOURCE.format(version=version))
                saved = time.perf_counter()
                latencies.append((_served(client, version, 10) - saved) * 1000)
        except RuntimeError as error:
            return {"error": str(error)}
        finally:
            dev.send_signal(signal.SIGINT)
            try:
                dev.wait(timeout=10)
            except subprocess.TimeoutExpired:
                dev.kill()
            with contextlib.suppress(Exception):
                client.delete_function(FunctionName=NAME)
    ordered = sorted(latencies)
    p50 = statistics.median(ordered)
    return {
        "samples": len(ordered),
        "p50_ms": round(p50, 1),
        "p90_ms": round(ordered[max(0, int(len(ordered) * 0.9) - 1)], 1),
        "max_ms": round(ordered[-1], 1),
        "target_p50_ms": TARGET_P50_MS,
        "met": p50 < TARGET_P50_MS,
    }


if __name__ == "__main__":
    print(json.dumps(measure_hot_reload(int(sys.argv[1]) if len(sys.argv) > 1 else 9000), indent=2))
