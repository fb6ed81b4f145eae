"""``kindling logs NAME``: a function's log events, optionally filtered, optionally followed.

It polls ``FilterLogEvents`` like ``aws logs tail --follow`` does: each poll starts a little before
the newest event seen (lines from several environments may land slightly out of order) and drops
the events it has already printed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import click
from rich.console import Console
from rich.text import Text

from .common import Clients, CliError, client_command, out

POLL_S = 0.5
LOOKBACK_MS = 2000
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_STYLES = (
    (re.compile(r"^(START|END) RequestId"), "dim"),
    (re.compile(r"^REPORT RequestId"), "cyan"),
    (re.compile(r"^INIT_START"), "dim"),
    (re.compile(r"^\[(ERROR|CRITICAL)\]|^Traceback|Task timed out|Runtime\.\w+Error|^\[ERROR\]"), "red"),
    (re.compile(r"^\[WARNING\]"), "yellow"),
)


def parse_since(value: str) -> int:
    """``90s``, ``10m``, ``2h``, ``1d``, ``1w`` (a bare number is minutes) in milliseconds."""
    found = re.fullmatch(r"\s*(\d+)\s*([smhdw]?)\s*", value)
    if found is None:
        raise CliError(f"--since {value!r} is not a duration", "write it like 30s, 10m, 2h or 1d")
    return int(found.group(1)) * _UNITS[found.group(2) or "m"] * 1000


def print_line(console: Console, message: str, timestamp: int | None = None) -> None:
    style = next((style for pattern, style in _STYLES if pattern.search(message)), "")
    text = Text()
    if timestamp is not None:
        moment = datetime.fromtimestamp(timestamp / 1000, UTC)
        text.append(moment.strftime("%H:%M:%S.") + f"{timestamp % 1000:03d} ", style="dim green")
    text.append(message, style=style)
    console.print(text)


def fetch(clients: Clients, group: str, start: int, pattern: str | None) -> Iterator[dict[str, Any]]:
    arguments: dict[str, Any] = {"logGroupName": group, "startTime": start}
    if pattern:
        arguments["filterPattern"] = pattern
    for page in clients.logs.get_paginator("filter_log_events").paginate(**arguments):
        yield from page["events"]


def log_group(clients: Clients, name: str) -> str:
    """The function's own group (``LoggingConfig.LogGroup``); a deleted function's logs stay readable."""
    default = f"/aws/lambda/{name}"
    try:
        config = clients.lam.get_function_configuration(FunctionName=name)
    except clients.lam.exceptions.ResourceNotFoundException:
        return default
    return (config.get("LoggingConfig") or {}).get("LogGroup") or default


@click.command()
@click.argument("name")
@click.option("--follow", "-f", is_flag=True, help="keep printing new events until Ctrl-C")
@click.option("--since", default="10m", show_default=True, help="how far back to start: 30s, 10m, 2h, 1d")
@click.option("--filter", "pattern", help='a filter pattern: words, "a phrase", ?this ?that, { $.level = "ERROR" }')
@client_command
def logs(clients: Clients, name: str, follow: bool, since: str, pattern: str | None) -> None:
    """Print function NAME's log events (all its environments, in time order)."""
    group = log_group(clients, name)
    start = int(time.time() * 1000) - parse_since(since)
    printed: dict[str, int] = {}  # eventId -> timestamp, for the events a later poll sees again
    while True:
        try:
            events = list(fetch(clients, group, start, pattern))
        except clients.logs.exceptions.ResourceNotFoundException:
            if not follow:
                clients.lam.get_function_configuration(FunctionName=name)  # a clear error if it does not exist
                out.print(f"no logs for {name} yet: `kindling invoke {name}` runs it", markup=False)
                return
            events = []
        except clients.logs.exceptions.InvalidParameterException as error:
            raise CliError(error.response["Error"]["Message"], "see README.md, section Logs, for patterns") from None
        for event in events:
            if event["eventId"] not in printed:
                printed[event["eventId"]] = event["timestamp"]
                print_line(out, event["message"], event["timestamp"])
        if not follow:
            return
        if printed:
            start = max(start, max(printed.values()) - LOOKBACK_MS)
            printed = {key: stamp for key, stamp in printed.items() if stamp >= start}
        time.sleep(POLL_S)
