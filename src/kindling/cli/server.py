"""``kindling server``: options in, ``Config`` out, server run. Nothing else lives here."""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path

import click

from ..config import AUTH_MODES, SANDBOX_BACKENDS, Config, egress_rule

log = logging.getLogger("kindling")


def loopback_only(host: str) -> bool:
    """Whether a bind address reaches this machine alone (``0.0.0.0``, ``::`` and names that are not
    ``localhost`` reach the network)."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def auth_mode(requested: str | None, host: str) -> str:
    """``open`` by default on loopback only, ``iam`` otherwise; an explicit ``open`` on the network is allowed,
    loudly."""
    if requested is None:
        return "open" if loopback_only(host) else "iam"
    if requested == "open" and not loopback_only(host):
        log.warning(
            "*** --auth open on %s: anyone who can reach this port can deploy and run code, unauthenticated ***",
            host,
        )
    return requested


def _service_endpoints(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not name or not url.startswith(("http://", "https://")):
            raise click.BadParameter("expected SERVICE=URL, e.g. sqs=http://127.0.0.1:4566")
        found[name.strip().lower()] = url.rstrip("/")
    return found


def _egress(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, tuple[tuple[str, int], ...]]:
    found = {}
    for value in values:
        name, sep, rules = value.partition("=")
        try:
            if not sep or not name or not rules:
                raise ValueError("no rule")
            found[name.strip()] = tuple(sorted({egress_rule(rule) for rule in rules.split(",")}))
        except ValueError as bad:
            raise click.BadParameter(
                f"expected FUNCTION=CIDR:PORT[,CIDR:PORT...], e.g. db=10.0.3.0/24:5432 ({bad})"
            ) from None
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
    "--egress",
    multiple=True,
    callback=_egress,
    metavar="FUNCTION=CIDR:PORT,...",
    help="run FUNCTION in a network namespace of its own that reaches only these TCP destinations and "
    "Kindling's endpoint (repeatable)",
)
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
    "--no-cpu-priority", is_flag=True, help="do not favour the server and its functions over other host processes"
)
@click.option(
    "--runtime",
    "runtimes",
    multiple=True,
    callback=_runtimes,
    metavar="NAME=PATH",
    help="interpreter for a runtime, e.g. python3.12=/usr/bin/python3.12 (repeatable)",
)
@click.option(
    "--auth",
    type=click.Choice(AUTH_MODES),
    default=None,
    help="iam: every request must be SigV4-signed by a known key and allowed by IAM policies; open: no checks. "
    "Default: open when bound to loopback only, iam otherwise",
)
@click.option("--audit-retention", type=float, default=90.0, show_default=True, metavar="DAYS",
              help="keep audit events this long")  # fmt: skip
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), help="serve HTTPS: the certificate (PEM)")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), help="serve HTTPS: its private key (PEM)")
@click.option(
    "--otlp-endpoint",
    envvar="OTEL_EXPORTER_OTLP_ENDPOINT",
    default="",
    help="export traces of sampled invocations over OTLP: http://127.0.0.1:4318 (HTTP) or grpc://127.0.0.1:4317",
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
    egress: dict[str, tuple[tuple[str, int], ...]],
    keep_alive: float,
    min_free_memory: float,
    concurrency: int,
    sqs_endpoint: str,
    service_endpoints: dict[str, str],
    no_cpu_quota: bool,
    no_cpu_priority: bool,
    runtimes: list[tuple[str, str]],
    auth: str | None,
    audit_retention: float,
    tls_cert: str | None,
    tls_key: str | None,
    otlp_endpoint: str,
    log_level: str,
) -> None:
    """Serve the Lambda and CloudWatch Logs APIs."""
    logging.basicConfig(
        level=log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("--tls-cert and --tls-key go together")
    from ..server import run

    config = Config(
        data_dir=data_dir.resolve(),
        host=host,
        port=port,
        sandbox=sandbox,
        network=not no_network,
        egress=egress,
        keep_alive_s=keep_alive,
        min_free_memory_mb=min_free_memory,
        account_concurrency=concurrency,
        sqs_endpoint=sqs_endpoint,
        service_endpoints=service_endpoints,
        cpu_quota=not no_cpu_quota,
        cpu_priority=not no_cpu_priority,
        runtime_paths={**Config.runtime_overrides_from_env(), **dict(runtimes)},
        auth=auth_mode(auth, host),
        audit_retention_days=audit_retention,
        tls_cert=str(Path(tls_cert).resolve()) if tls_cert else "",
        tls_key=str(Path(tls_key).resolve()) if tls_key else "",
        otlp_endpoint=otlp_endpoint,
    )
    with contextlib.suppress(KeyboardInterrupt):
        run(config)
