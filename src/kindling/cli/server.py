"""``kindling server``: options in, ``Config`` out, server run. Nothing else lives here."""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path

import click

from ..config import SANDBOX_BACKENDS, Config


def _service_endpoints(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not name or not url.startswith(("http://", "https://")):
            raise click.BadParameter("expected SERVICE=URL, e.g. sqs=http://127.0.0.1:4566")
        found[name.strip().lower()] = url.rstrip("/")
    return found


def _runtimes(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise click.BadParameter("expected RUNTIME=INTERPRETER, e.g. python3.12=/usr/bin/python3.12")
        pairs.append((name, path))
    return pairs


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=9000, show_default=True)
@click.option("--data-dir", type=click.Path(path_type=Path), default=Path(".kindling"), show_default=True)
@click.option(
    "--sandbox",
    type=click.Choice(SANDBOX_BACKENDS),
    default="auto",
    show_default=True,
    help="namespaces (isolated, needs root on Linux), process (no isolation), or auto",
)
@click.option("--no-network", is_flag=True, help="give functions no network at all")
@click.option(
    "--keep-alive",
    type=float,
    default=600.0,
    metavar="SECONDS",
    show_default=True,
    help="reclaim execution environments idle for this long",
)
@click.option(
    "--min-free-memory",
    type=float,
    default=512.0,
    metavar="MB",
    show_default=True,
    help="below this much free memory, reclaim idle environments (least recently used first)",
)
@click.option("--concurrency", type=int, default=1000, show_default=True, help="account concurrency limit")
@click.option(
    "--sqs-endpoint",
    default="",
    envvar="KINDLING_SQS_ENDPOINT",
    metavar="URL",
    help="SQS-compatible endpoint for dead-letter queues and SQS destinations",
)
@click.option(
    "--service-endpoint",
    "service_endpoints",
    multiple=True,
    callback=_service_endpoints,
    metavar="SERVICE=URL",
    help="reach an AWS service elsewhere instead of on this server, e.g. sqs=http://host:4566 (repeatable)",
)
@click.option("--no-cpu-quota", is_flag=True, help="do not cap CPU in proportion to memory after init")
@click.option(
    "--runtime",
    "runtimes",
    multiple=True,
    callback=_runtimes,
    metavar="NAME=PATH",
    help="interpreter for a runtime, e.g. python3.12=/usr/bin/python3.12 (repeatable)",
)
@click.option(
    "--otlp-endpoint",
    envvar="OTEL_EXPORTER_OTLP_ENDPOINT",
    default="",
    help="export traces of sampled invocations over OTLP/HTTP, e.g. http://127.0.0.1:4318",
)
@click.option(
    "--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info", show_default=True
)
def server(
    host: str,
    port: int,
    data_dir: Path,
    sandbox: str,
    no_network: bool,
    keep_alive: float,
    min_free_memory: float,
    concurrency: int,
    sqs_endpoint: str,
    service_endpoints: dict[str, str],
    no_cpu_quota: bool,
    runtimes: list[tuple[str, str]],
    otlp_endpoint: str,
    log_level: str,
) -> None:
    """Serve the Lambda and CloudWatch Logs APIs."""
    logging.basicConfig(
        level=log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    from ..server import run

    config = Config(
        data_dir=data_dir.resolve(),
        host=host,
        port=port,
        sandbox=sandbox,
        network=not no_network,
        keep_alive_s=keep_alive,
        min_free_memory_mb=min_free_memory,
        account_concurrency=concurrency,
        sqs_endpoint=sqs_endpoint,
        service_endpoints=service_endpoints,
        cpu_quota=not no_cpu_quota,
        runtime_paths={**Config.runtime_overrides_from_env(), **dict(runtimes)},
        otlp_endpoint=otlp_endpoint,
    )
    with contextlib.suppress(KeyboardInterrupt):
        run(config)
