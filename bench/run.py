"""`make bench`: Kindling beside the peers (floor, rie, serverless-offline), one client for all; cold starts.

    .venv/bin/python bench/run.py [--quick] [--cold N]

Progress goes to stderr, the table and the verdicts to stdout, everything to bench/results/latest.json.
Exit status 0 when Kindling was measured (missed targets are reported, not failed), 1 when it could not be,
2 without the kit.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from pathlib import Path
from types import FrameType, ModuleType

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

import async_load
import auth_overhead
import cold
import extras
import hot_reload
import http_load
import images
import kindling_server
import kit
import report
import runtimes

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
# Kindling up: (port, lambda client, deployment package); down: why not
Kindling = tuple[int, BaseClient, bytes] | str
QUICK = ["--requests", "200", "--warmup", "20", "--duration", "2"]
IDLE_S = 0.5  # the quiet before each cold start of the after-idle series


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="200 warm requests, 2 s throughput runs, 5 cold starts",
    )
    p.add_argument("--cold", type=int, help="cold-start samples (default 20, 5 with --quick)")
    args = p.parse_args(argv)
    if args.cold is None:
        args.cold = 5 if args.quick else 20
    if args.cold < 1:
        p.error("--cold must be >= 1")
    return args


def start_kindling(stack: contextlib.ExitStack, invoke: ModuleType, path: Path, workdir: Path) -> Kindling:
    """Kindling serving `hello` (stopped when the stack closes), or the reason why not."""
    try:
        port = stack.enter_context(kindling_server.running(invoke, workdir, extra=runtimes.server_flags()))
    except kindling_server.ServerError as exc:
        return f"not started: {exc}"
    client = kindling_server.lambda_client(kindling_server.endpoint(port))
    code = kindling_server.handler_zip(path / "handler" / "handler.py")
    try:
        kindling_server.deploy(client, "hello", code)
    except (BotoCoreError, ClientError) as exc:
        stack.close()
        return f"not deployed: hello: {exc}"
    progress(f"kindling: serving hello on {kindling_server.endpoint(port)}")
    return port, client, code


def measure(invoke: ModuleType, path: Path, workdir: Path, args: argparse.Namespace) -> dict:
    """Installs the peers, starts Kindling, runs bench_invoke and the cold starts; stops all it started."""
    not_installed = kit.install(invoke, path, progress)
    unmeasured = {name: f"not installed: {reason}" for name, reason in not_installed.items()}
    peers = [name for name in kit.PEERS if name not in not_installed]
    cold_start, more = None, {}
    with contextlib.ExitStack() as stack:
        kindling = start_kindling(stack, invoke, path, workdir)
        if isinstance(kindling, str):
            progress(f"kindling: {kindling}")
            unmeasured[report.KINDLING] = kindling
            target = None
        else:
            target = (report.KINDLING, kindling_server.endpoint(kindling[0]), "hello")
        doc, why_not = None, "not measured: no peer and no Kindling"
        if peers or target:
            options = QUICK if args.quick else []
            doc, why_not = kit.compare(invoke, path, peers, target, workdir / "bench_invoke.json", options)
        if doc is None:
            progress(f"bench_invoke: {why_not}")
            unmeasured.update({name: why_not for name in (*peers, report.KINDLING) if name not in unmeasured})
        if target:
            port, client, code = kindling
            cold_start = cold.measure(invoke, client, port, code, args.cold, progress)
            more["boto3_cold"] = cold.measure(
                invoke, client, port, cold.boto3_code(), args.cold, progress, prefix="boto3-cold"
            )["summary"]
            more["cold_after_idle"] = cold.measure(
                invoke, client, port, code, 5 if args.quick else 10, progress, IDLE_S, "idle-cold"
            )["summary"]
            more["idle_memory"] = extras.idle_memory(port)
            more["burst"] = extras.burst(client, port, 200, progress)
            more["burst_1000"] = extras.burst(client, port, 1000, progress, sleep_s=5.0, target_s=6.0)
            more["cold_under_load"] = extras.cold_under_load(invoke, client, port, code, args.cold, progress)
            more["numpy_cold"] = extras.numpy_cold(invoke, client, port, 3 if args.quick else 5, progress)
            more["without_isolation"] = extras.isolation_cost(invoke, workdir, code, args.cold, progress)
            endpoint = kindling_server.endpoint(port)
            more["async"] = async_load.measure(client, endpoint, code, progress, 1000 if args.quick else 5000)
            more["hot_reload"] = hot_reload.measure_hot_reload(port, 5 if args.quick else 20, progress)
            more["runtimes"] = runtimes.measure_runtimes(client, port, progress, 3 if args.quick else 5)
            more["runtimes"] |= images.measure_images(client, port, progress, 3 if args.quick else 5)
            more["auth"] = auth_overhead.measure(progress, 1000 if args.quick else 4000)
            more["http"] = http_load.measure_http(
                invoke, client, port, code, path, workdir, progress, 2 if args.quick else 5
            )
    progress("stopped everything this bench started")
    return {
        "not_installed": not_installed,
        "unmeasured": unmeasured,
        "bench_invoke": doc,
        "cold_start": cold_start,
        "extras": more,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.time()
    path = kit.kit_dir()
    try:
        invoke = kit.load(path)
    except (OSError, ImportError) as exc:
        progress(f"the peers kit is not usable at {path} ({exc}); set KINDLING_PEERS_KIT")
        return 2
    with kindling_server.scratch_dir(progress) as workdir:
        out = measure(invoke, path, workdir, args)
    doc, cold_start = out["bench_invoke"], out["cold_start"]
    verdicts = report.targets(doc, cold_start, out["extras"])
    report.write(
        RESULTS,
        {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "elapsed_s": round(time.time() - started, 1),
            "host": report.host_info(),
            "settings": {
                "quick": args.quick,
                "cold_samples": args.cold,
                "memory_size_mb": kindling_server.MEMORY_SIZE,
                "bench_invoke_options": QUICK if args.quick else [],
            },
            "not_installed": out["not_installed"],
            "unmeasured": out["unmeasured"],
            "bench_invoke": doc,
            "cold_start": cold_start,
            "extras": out["extras"],
            "targets": verdicts,
        },
    )
    print(report.table(doc, out["unmeasured"]))
    print()
    print(report.cold_line(cold_start, out["unmeasured"].get(report.KINDLING)))
    print(report.extras_lines(out["extras"]))
    print("\n".join(report.target_lines(verdicts)))
    print(f"results: {RESULTS}")
    return 1 if report.KINDLING in out["unmeasured"] else 0


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM/SIGHUP unwind like Ctrl-C does, so that the clean-up in the finally blocks runs."""
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        progress("interrupted")
        sys.exit(130)
