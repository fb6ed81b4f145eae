"""The ``kindling`` command: one group, one module per verb (or family of verbs)."""

from __future__ import annotations

import click

from .audit import audit, user
from .deploy import deploy
from .dev import dev
from .functions import ls, rm
from .invoke import invoke
from .logs import logs
from .observe import alarms, cost, metrics, top
from .schedules import schedule
from .server import server
from .sign import sign
from .triggers import triggers


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
def cli() -> None:
    """Kindling, a self-hosted AWS Lambda: run the server, and deploy, invoke and follow functions on it."""


for command in (
    server,
    deploy,
    invoke,
    logs,
    ls,
    rm,
    dev,
    schedule,
    sign,
    audit,
    user,
    metrics,
    top,
    alarms,
    cost,
    triggers,
):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="kindling")
