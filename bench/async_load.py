"""Asynchronous invocation under load: events per second from accept to completion, and accept-to-start latency.

    .venv/bin/python bench/async_load.py --endpoint http://127.0.0.1:9000 [--events 5000]

`measure(client, endpoint, code, progress)` is what bench/run.py calls with a running Kindling: it deploys two
functions from `code`, floods one with events from several keep-alive connections and times accept to the last
completion (the server's own counters say when every event has succeeded), then sends events one at a time to
the other, idle one and reads the p99 of the time from accept to the start of the attempt the server measured.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from botocore.client import BaseClient

THROUGHPUT_TARGET = 1000.0  # events/s
LATENCY_TARGET_MS = 20.0
Progress = Callable[[str], None]


def _connection(endpoint: str) -> http.client.HTTPConnection:
    parts = urlsplit(endpoint)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)


def _send(conn: http.client.HTTPConnection, function: str, body: bytes) -> int:
    conn.request(
        "POST",
        f"/2015-03-31/functions/{function}/invocations",
        body=body,
        headers={"X-Amz-Invocation-Type": "Event", "Content-Type": "application/json"},
    )
    reply = conn.getresponse()
    reply.read()
    return reply.status


def counters(endpoint: str, function: str) -> dict[str, Any]:
    conn = _connection(endpoint)
    try:
        conn.request("GET", f"/kindling/async-events/{function}")
        return json.loads(conn.getresponse().read())
    finally:
        conn.close()


def _deploy(client: BaseClient, name: str, code: bytes) -> None:
    client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role="arn:aws:iam::000000000000:role/bench",
        Handler="handler.handler",
        Code={"ZipFile": code},
    )
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def throughput(endpoint: str, function: str, events: int, senders: int = 4, timeout: float = 120) -> dict[str, Any]:
    """Send `events` events from `senders` connections; time from the first send to the last completion."""
    refused: list[int] = []
    share = [events // senders + (1 if i < events % senders else 0) for i in range(senders)]

    def sender(count: int) -> None:
        conn = _connection(endpoint)
        try:
            for n in range(count):
                status = _send(conn, function, b'{"n": %d}' % n)
                if status != 202:
                    refused.append(status)
        finally:
            conn.close()

    threads = [threading.Thread(target=sender, args=(count,)) for count in share]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accepted_s = time.perf_counter() - started
    deadline = time.monotonic() + timeout
    done = 0
    while time.monotonic() < deadline:
        seen = counters(endpoint, function)
        done = seen["Succeeded"] + sum(seen["Dropped"].values())
        if done >= events - len(refused):
            break
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    return {
        "events": events,
        "refused": len(refused),
        "completed": done,
        "accept_s": round(accepted_s, 3),
        "accept_per_s": round(events / accepted_s, 1),
        "seconds": round(elapsed, 3),
        "events_per_s": round(done / elapsed, 1),
    }


def idle_latency(endpoint: str, function: str, samples: int = 200, gap_s: float = 0.02) -> dict[str, Any]:
    """One event at a time into an empty queue; the server's accept-to-start times."""
    conn = _connection(endpoint)
    try:
        _send(conn, function, b"{}")  # the cold start is not what this measures
        time.sleep(0.5)
        before = counters(endpoint, function)["EventAgeAtStartMs"]["Samples"]
        for n in range(samples):
            _send(conn, function, b'{"n": %d}' % n)
            time.sleep(gap_s)
    finally:
        conn.close()
    time.sleep(0.5)
    ages = counters(endpoint, function)["EventAgeAtStartMs"]
    return {"samples": ages["Samples"] - before, "p50_ms": ages["P50"], "p99_ms": ages["P99"], "max_ms": ages["Max"]}


def measure(client: BaseClient, endpoint: str, code: bytes, progress: Progress, events: int = 5000) -> dict[str, Any]:
    """Both measurements against a running Kindling, with the verdicts against the issue's targets."""
    _deploy(client, "async-flood", code)
    _deploy(client, "async-idle", code)
    progress(f"async: {events} events into async-flood")
    flood = throughput(endpoint, "async-flood", events)
    progress(f"async: {flood['events_per_s']} events/s accept to completion ({flood['accept_per_s']} accepted/s)")
    idle = idle_latency(endpoint, "async-idle")
    progress(f"async: accept-to-start p99 {idle['p99_ms']} ms with an idle queue")
    return {
        "throughput": flood,
        "idle_latency": idle,
        "targets": [
            {
                "name": "async_events_per_s",
                "target": f"at least {THROUGHPUT_TARGET:.0f} async events/s accept to completion",
                "measured": flood["events_per_s"],
                "pass": flood["events_per_s"] >= THROUGHPUT_TARGET and flood["refused"] == 0,
            },
            {
                "name": "async_accept_to_start_p99_ms",
                "target": f"accept-to-start p99 under {LATENCY_TARGET_MS:.0f} ms with an idle queue",
                "measured": idle["p99_ms"],
                "pass": idle["p99_ms"] < LATENCY_TARGET_MS,
            },
        ],
    }


def main(argv: list[str] | None = None) -> int:
    import boto3
    from botocore.config import Config

    from kindling_server import handler_zip
    from kit import kit_dir

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint", required=True)
    p.add_argument("--events", type=int, default=5000)
    args = p.parse_args(argv)
    client = boto3.client(
        "lambda",
        endpoint_url=args.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(retries={"total_max_attempts": 1}),
    )
    code = handler_zip(kit_dir() / "handler" / "handler.py")
    result = measure(client, args.endpoint, code, lambda m: print(m, file=sys.stderr), args.events)
    print(json.dumps(result, indent=1))
    return 0 if all(t["pass"] for t in result["targets"]) else 1


if __name__ == "__main__":
    sys.exit(main())
