"""What the cold-start issues ask the bench to show besides latency: what isolation costs, bursts of 200
and 1,000 sleeping invocations, cold starts on a busy machine, the memory of an idle environment, and a
numpy cold start."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path
from types import ModuleType

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

import cold
import kindling_server
from kit import Progress

SLEEPER = "import time\ndef handler(event, context):\n    time.sleep(event.get('sleep', 1))\n    return 'ok'\n"
NUMPY = "import numpy\ndef handler(event, context):\n    return float(numpy.arange(10).sum())\n"


def zip_tree(files: dict[str, str], tree: Path | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in files.items():
            zf.writestr(name, text)
        for path in sorted(tree.rglob("*")) if tree else ():
            if path.is_file():
                zf.write(path, path.relative_to(tree).as_posix())
    return buf.getvalue()


def isolation_cost(kit: ModuleType, workdir: Path, code: bytes, count: int, progress: Progress) -> dict:
    """Cold starts on a second server without isolation (``--sandbox process``), for comparison."""
    plain = workdir / "process-sandbox"
    plain.mkdir()
    try:
        with kindling_server.running(kit, plain, extra=("--sandbox", "process")) as port:
            client = kindling_server.lambda_client(kindling_server.endpoint(port))
            progress("isolation cost: cold starts with --sandbox process")
            return cold.measure(kit, client, port, code, count, progress)["summary"]
    except kindling_server.ServerError as exc:
        return {"error": str(exc)}


async def _post(port: int, name: str, payload: bytes) -> int:
    reader, writer = await asyncio.open_connection(kindling_server.HOST, port)
    writer.write(
        f"POST /2015-03-31/functions/{name}/invocations HTTP/1.1\r\nHost: bench\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
        + payload
    )
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    await reader.read()
    writer.close()
    return status


def burst(
    client: BaseClient, port: int, count: int, progress: Progress, sleep_s: float = 1.0, target_s: float = 3.0
) -> dict:
    """``count`` simultaneous invocations (each on its own connection) of a function that sleeps ``sleep_s``,
    each needing a new environment: how fast Kindling scales a function up from nothing."""
    name = f"burst-{count}"
    try:
        kindling_server.deploy(client, name, zip_tree({"app.py": SLEEPER}), handler="app.handler", timeout=30)
    except (BotoCoreError, ClientError) as exc:
        return {"error": str(exc)}
    payload = json.dumps({"sleep": sleep_s}).encode()

    async def all_at_once() -> list[int | BaseException]:
        calls = (_post(port, name, payload) for _ in range(count))
        return await asyncio.gather(*calls, return_exceptions=True)

    started = time.perf_counter()
    statuses = asyncio.run(all_at_once())
    elapsed = time.perf_counter() - started
    ok = statuses.count(200)
    progress(f"burst: {ok}/{count} ok in {elapsed:.2f} s (each sleeps {sleep_s:g} s)")
    return {"invocations": count, "ok": ok, "sleep_s": sleep_s, "total_s": round(elapsed, 3), "target_s": target_s}


def cold_under_load(
    kit: ModuleType, client: BaseClient, port: int, code: bytes, count: int, progress: Progress
) -> dict:
    """Cold starts while a CPU-bound process runs on every core: the kernel's run queue, not Kindling, is
    what a cold start waits on then, and this shows how much."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
    try:
        return cold.measure(kit, client, port, code, count, progress, prefix="loaded-cold")["summary"]
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def _memory_kb(pid: int) -> dict[str, int]:
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        fields[key] = int(rest.split()[0])
    return {
        "rss_kb": fields["Rss"],
        "pss_kb": fields["Pss"],
        "uss_kb": fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0),
    }


def idle_memory(port: int) -> dict:
    """Unique (USS) and proportional (PSS) memory of idle environments, next to their zygote's."""
    with urllib.request.urlopen(f"{kindling_server.endpoint(port)}/kindling/environments") as reply:
        environments = json.loads(reply.read())["Environments"]
    samples, zygote = [], None
    for env in environments:
        pid = env.get("pid")
        try:
            samples.append(_memory_kb(pid))
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            zygote = zygote or _memory_kb(parent)
        except (OSError, ValueError, TypeError):
            continue
    if not samples:
        return {"error": "no idle environment to measure"}
    uss = sorted(s["uss_kb"] for s in samples)
    pss = sorted(s["pss_kb"] for s in samples)
    return {
        "environments": len(samples),
        "uss_mb_p50": round(uss[len(uss) // 2] / 1024, 2),
        "pss_mb_p50": round(pss[len(pss) // 2] / 1024, 2),
        "zygote": zygote,
        "target_uss_mb": 5.0,
    }


def numpy_cold(kit: ModuleType, client: BaseClient, port: int, count: int, progress: Progress) -> dict:
    """Cold starts of a function that imports numpy (installed into its package for python3.12)."""
    with tempfile.TemporaryDirectory() as target:
        install = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-qq",
                "--disable-pip-version-check",
                "--target",
                target,
                "--python-version",
                "3.12",
                "--only-binary=:all:",
                "--implementation",
                "cp",
                "numpy",
            ],
            capture_output=True,
            text=True,
        )
        if install.returncode != 0:
            return {"error": f"pip could not fetch numpy: {install.stderr.strip()[-300:]}"}
        code = zip_tree({"app.py": NUMPY}, Path(target))
    samples = []
    for i in range(count):
        name = f"numpy-{i}"
        try:
            kindling_server.deploy(client, name, code, handler="app.handler", timeout=30)
        except (BotoCoreError, ClientError) as exc:
            return {"error": f"creating {name} failed: {exc}"}
        samples.append(cold.first_invoke(kit, port, name))
    ok = [s["ms"] for s in samples if s["ok"]]
    summary = cold.summarize(kit, ok)
    progress(f"numpy cold starts: {len(ok)}/{count} ok" + (f", p50 {summary['p50_ms']:.1f} ms" if ok else ""))
    try:
        kindling_server.deploy(client, "numpy-snap", code, handler="app.handler", timeout=30, snap_start=True)
    except (BotoCoreError, ClientError) as exc:
        summary["snapshot"] = {"error": f"creating numpy-snap failed: {exc}"}
        return summary
    summary["snapshot"] = cold.from_snapshot(kit, client, port, "numpy-snap", count, progress)
    return summary
