"""``kindling schedule add|ls|rm``: EventBridge-style schedules, through the server's ``/kindling/schedules``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import click
from rich.table import Table

from .common import Clients, CliError, client_command, kindling_request, out


@dataclass(frozen=True)
class Schedule:
    name: str
    function: str
    expression: str
    enabled: bool = True
    input: str | None = None


def request(clients: Clients, method: str, path: str = "", body: dict[str, Any] | None = None) -> Any:
    return kindling_request(clients, method, f"/kindling/schedules{path}", body)


def put_schedule(clients: Clients, schedule: Schedule) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ScheduleExpression": schedule.expression,
        "FunctionName": schedule.function,
        "State": "ENABLED" if schedule.enabled else "DISABLED",
    }
    if schedule.input is not None:
        body["Input"] = schedule.input
    try:
        return request(clients, "PUT", "/" + quote(schedule.name, safe=""), body)
    except CliError as error:
        hint = "e.g. rate(5 minutes), cron(0 12 * * ? *) or at(2030-01-01T09:00:00)"
        raise CliError(f"schedule {schedule.name}: {error.message}", hint) from None


@click.group()
def schedule() -> None:
    """Run functions on a schedule: rate(...), cron(...) or at(...), in UTC."""


@schedule.command("add")
@click.argument("name")
@click.argument("expression")
@click.option("--function", "function", required=True, help="the function to invoke (asynchronously)")
@click.option("--input", "event", help="JSON sent instead of the scheduled event")
@click.option("--disabled", is_flag=True, help="create it switched off")
@client_command
def add(clients: Clients, name: str, expression: str, function: str, event: str | None, disabled: bool) -> None:
    """Create or replace schedule NAME, e.g. `add nightly "cron(0 3 * * ? *)" --function report`."""
    rule = put_schedule(clients, Schedule(name, function, expression, not disabled, event))
    out.print(f"schedule {name}: {expression} → {function}, next {rule['NextFireTime'] or 'never'}", markup=False)


@schedule.command("ls")
@client_command
def ls(clients: Clients) -> None:
    """List the schedules."""
    rules = request(clients, "GET")["Schedules"]
    if not rules:
        out.print('no schedules yet: `kindling schedule add NAME "rate(5 minutes)" --function F` makes one')
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("NAME", "EXPRESSION", "FUNCTION", "STATE", "NEXT", "LAST"):
        table.add_column(column)
    for rule in rules:
        table.add_row(
            rule["Name"], rule["ScheduleExpression"], rule["FunctionName"], rule["State"],
            rule["NextFireTime"] or "-", rule["LastFireTime"] or "-",
        )  # fmt: skip
    out.print(table)


@schedule.command("rm")
@click.argument("name")
@client_command
def rm(clients: Clients, name: str) -> None:
    """Delete schedule NAME."""
    try:
        request(clients, "DELETE", "/" + quote(name, safe=""))
    except CliError as error:
        raise CliError(error.message, "`kindling schedule ls` lists the schedules") from None
    out.print(f"removed schedule {name}", markup=False)
