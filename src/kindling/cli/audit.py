"""``kindling audit`` (the trail, through CloudTrail's LookupEvents) and ``kindling user`` (IAM users and
their policies, through ``/kindling/iam/users``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click
from rich.table import Table

from .common import Clients, CliError, client_command, kindling_request, out

_FILTERS = {"user": "Username", "event_name": "EventName", "resource": "ResourceName"}


@click.command()
@click.option("--user", help="only this user's calls")
@click.option("--event-name", help="only this event, as CloudTrail names it (CreateFunction20150331)")
@click.option("--resource", help="only calls on this resource (an ARN)")
@click.option("--limit", type=int, default=50, show_default=True, help="at most this many events")
@click.option("--json", "as_json", is_flag=True, help="the CloudTrail records, as JSON lines")
@client_command
def audit(clients: Clients, user: str | None, event_name: str | None, resource: str | None, limit: int,
          as_json: bool) -> None:  # fmt: skip
    """Who did what: mutating and denied calls, newest first."""
    chosen = {"user": user, "event_name": event_name, "resource": resource}
    attributes = [{"AttributeKey": _FILTERS[k], "AttributeValue": v} for k, v in chosen.items() if v]
    if len(attributes) > 1:
        raise CliError("one filter at a time", "CloudTrail's LookupEvents takes a single lookup attribute")
    events: list[dict[str, Any]] = []
    for page in clients.trail.get_paginator("lookup_events").paginate(LookupAttributes=attributes):
        events.extend(page["Events"])
        if len(events) >= limit:
            break
    records = [json.loads(event["CloudTrailEvent"]) for event in events[:limit]]
    if as_json:
        for record in records:
            out.print(json.dumps(record), markup=False, highlight=False)
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("TIME", "WHO", "EVENT", "RESOURCE", "SOURCE", "ERROR"):
        table.add_column(column)
    for event, record in zip(events, records, strict=False):
        who = record["userIdentity"].get("userName") or record["userIdentity"]["type"].lower()
        resources = ", ".join(r["ResourceName"].rsplit(":", 1)[-1] for r in event.get("Resources", []))
        table.add_row(record["eventTime"], who, record["eventName"], resources or "-", record["sourceIPAddress"],
                      record.get("errorCode", ""))  # fmt: skip
    out.print(table)


@click.group()
def user() -> None:
    """IAM users of this server: their access keys and policies (used when it runs with --auth iam)."""


@user.command("put")
@click.argument("name")
@click.option("--policy", "policies", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="an inline policy document (JSON file), repeatable")  # fmt: skip
@click.option("--managed", multiple=True, metavar="ARN", help="an AWS managed policy to attach, repeatable")
@client_command
def put_user(clients: Clients, name: str, policies: tuple[Path, ...], managed: tuple[str, ...]) -> None:
    """Create user NAME with an access key (printed once), or replace its policies."""
    try:
        inline = {path.stem: json.loads(path.read_text()) for path in policies}
    except ValueError as error:
        raise CliError(f"a policy file is not JSON: {error}") from None
    body = {"Policies": inline, "ManagedPolicyArns": list(managed)}
    answer = kindling_request(clients, "PUT", f"/kindling/iam/users/{quote(name, safe='')}", body)
    out.print(json.dumps(answer, indent=2), markup=False, highlight=False)


@user.command("rm")
@click.argument("name")
@client_command
def remove_user(clients: Clients, name: str) -> None:
    """Delete user NAME and its keys."""
    kindling_request(clients, "DELETE", f"/kindling/iam/users/{quote(name, safe='')}")
    out.print(f"removed user {name}", markup=False)
