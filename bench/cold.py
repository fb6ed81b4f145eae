"""Cold starts: the first invoke of functions that have never run, each in a fresh execution environment.

bench_invoke.py times a single first invoke per target; one sample says little, so this takes many.
"""

from __future__ import annotations

import base64
import http.client
import io
import re
import time
import zipfile
from types import ModuleType

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from kindling_server import HOST, deploy
from kit import Progress

INIT_DURATION = re.compile(r"Init Duration: ([0-9.]+) ms")
# the boto3 case beside hello: the SDK the runtime provides, imported and two clients made at init
BOTO3_HANDLER = """import boto3
s3 = boto3.client("s3")
dynamodb = boto3.client("dynamodb")
def handler(event, context):
    return {"ok": True}
"""


def boto3_code() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("handler.py", BOTO3_HANDLER)
    return buffer.getvalue()


def init_duration(log_result: str | None) -> float | None:
    """`Init Duration` of the REPORT line in a base64 X-Amz-Log-Result tail, as AWS writes it."""
    if not log_result:
        return None
    text = base64.b64decode(log_result).decode("utf-8", "replace")
    for line in text.splitlines():
        match = INIT_DURATION.search(line) if line.startswith("REPORT") else None
        if match:
            return float(match.group(1))
    return None


def first_invoke(kit: ModuleType, port: int, name: str) -> dict:
    """One invoke on a connection opened beforehand: the time runs from sending the request to having read
    the whole response, so TCP connect is not counted (the warm figures do not count it either)."""
    conn = kit.NoDelayHTTPConnection(HOST, port, timeout=60)
    try:
        conn.connect()
        t0 = time.perf_counter()
        conn.request(
            "POST",
            f"/2015-03-31/functions/{name}/invocations",
            body=b"{}",
            headers={"Content-Type": "application/json", "X-Amz-Log-Type": "Tail"},
        )
        resp = conn.getresponse()
        body = resp.read()
        elapsed_ms = (time.perf_counter() - t0) * 1000.0
    finally:
        conn.close()
    function_error = resp.getheader("X-Amz-Function-Error")
    sample = {
        "function": name,
        "ms": round(elapsed_ms, 3),
        "status": resp.status,
        "ok": resp.status == 200 and not function_error,
        "init_duration_ms": init_duration(resp.getheader("X-Amz-Log-Result")),
    }
    if not sample["ok"]:
        sample["error"] = f"status {resp.status}, function error {function_error}: {body[:200]!r}"
    return sample


def summarize(kit: ModuleType, values: list[float]) -> dict:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}
    return {
        "n": len(ordered),
        "p50_ms": round(kit.percentile(ordered, 50), 3),
        "p99_ms": round(kit.percentile(ordered, 99), 3),
        "min_ms": ordered[0],
        "max_ms": ordered[-1],
    }


def measure(
    kit: ModuleType,
    client: BaseClient,
    port: int,
    code: bytes,
    count: int,
    progress: Progress,
    idle_s: float = 0.0,
    prefix: str = "cold",
) -> dict:
    """Creates cold-0..cold-{count-1}, all before the first invoke so that creating one does not load the
    machine while another starts, then times the first invoke of each, after ``idle_s`` of quiet (a
    cold start usually follows an idle spell, and the kernel is slower to move processes after one)."""
    names = [f"{prefix}-{i}" for i in range(count)]
    progress(f"cold starts: creating {count} functions")
    try:
        for name in names:
            deploy(client, name, code)
    except (BotoCoreError, ClientError) as exc:
        return {"error": f"creating {name} failed: {exc}", "samples": [], "summary": {"n": 0}}
    samples = []
    for name in names:
        time.sleep(idle_s)
        try:
            samples.append(first_invoke(kit, port, name))
        except (OSError, http.client.HTTPException) as exc:
            samples.append({"function": name, "ok": False, "error": f"{type(exc).__name__}: {exc}"})
    ok = [s for s in samples if s["ok"]]
    summary = summarize(kit, [s["ms"] for s in ok])
    summary["errors"] = len(samples) - len(ok)
    inits = [s["init_duration_ms"] for s in ok if s["init_duration_ms"] is not None]
    summary["init_duration"] = summarize(kit, inits)
    progress(
        f"cold starts: {len(ok)}/{count} ok"
        + (f", p50 {summary['p50_ms']:.1f} ms, p99 {summary['p99_ms']:.1f} ms" if ok else "")
    )
    return {"samples": samples, "summary": summary}


def from_snapshot(kit: ModuleType, client: BaseClient, port: int, name: str, count: int, progress: Progress) -> dict:
    """Cold starts from a SnapStart snapshot: ``name`` (deployed with SnapStart) is published ``count``
    times, each version's snapshot made before any is timed, then the first invoke of each version is
    timed: a new environment forked from its template, after-restore hooks included."""
    versions = []
    try:
        for i in range(count):
            version = client.publish_version(FunctionName=name, Description=f"snapshot sample {i}")["Version"]
            versions.append(version)
        for version in versions:
            client.get_waiter("published_version_active").wait(
                FunctionName=name, Qualifier=version, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
            )
    except (BotoCoreError, ClientError) as exc:
        return {"error": f"publishing {name} failed: {exc}"}
    samples = [first_invoke(kit, port, f"{name}:{version}") for version in versions]
    ok = [s for s in samples if s["ok"]]
    summary = summarize(kit, [s["ms"] for s in ok])
    summary["errors"] = len(samples) - len(ok)
    progress(f"{name} from a snapshot: {len(ok)}/{count} ok" + (f", p50 {summary['p50_ms']:.1f} ms" if ok else ""))
    return summary
