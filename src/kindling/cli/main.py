"""``kindling server``: options in, ``Config`` out, server run. Nothing else lives here."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path

from ..config import SANDBOX_BACKENDS, Config


def _runtime_option(value: str) -> tuple[str, str]:
    name, sep, path = value.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError("expected RUNTIME=INTERPRETER, e.g. python3.12=/usr/bin/python3.12")
    return name, path


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="kindling", description="A self-hosted AWS Lambda.")
    commands = top.add_subparsers(dest="command", required=True)
    server = commands.add_parser("server", help="serve the Lambda API")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=9000)
    server.add_argument("--data-dir", type=Path, default=Path(".kindling"))
    server.add_argument(
        "--sandbox",
        choices=SANDBOX_BACKENDS,
        default="auto",
        help="namespaces (isolated, needs root on Linux), process (no isolation), or auto",
    )
    server.add_argument("--no-network", action="store_true", help="give functions no network at all")
    server.add_argument(
        "--keep-alive",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="reclaim execution environments idle for this long",
    )
    server.add_argument("--concurrency", type=int, default=1000, help="account concurrency limit")
    server.add_argument("--no-cpu-quota", action="store_true", help="do not cap CPU in proportion to memory after init")
    server.add_argument(
        "--runtime",
        type=_runtime_option,
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="interpreter for a runtime, e.g. python3.12=/usr/bin/python3.12 (repeatable)",
    )
    server.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    return top


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.command == "server":
        from ..server import run

        config = Config(
            data_dir=args.data_dir.resolve(),
            host=args.host,
            port=args.port,
            sandbox=args.sandbox,
            network=not args.no_network,
            keep_alive_s=args.keep_alive,
            account_concurrency=args.concurrency,
            cpu_quota=not args.no_cpu_quota,
            runtime_paths={**Config.runtime_overrides_from_env(), **dict(args.runtime)},
        )
        with contextlib.suppress(KeyboardInterrupt):
            run(config)
