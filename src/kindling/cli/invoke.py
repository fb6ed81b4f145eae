"""``kindling invoke NAME``: run a function once and show its result and its log tail."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import click

from .common import Clients, CliError, client_command, err, out
from .logs import print_line


def read_payload(payload: str) -> bytes:
    """Inline JSON, ``@file`` or ``@-`` (stdin); checked here so a typo is not a server round trip."""
    if payload == "@-":
        text = sys.stdin.read()
    elif payload.startswith("@"):
        path = Path(payload[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            hint = "pass --payload @path/to/event.json"
            raise CliError(f"cannot read payload file {path}: {error.strerror}", hint) from None
    else:
        text = payload
    try:
        json.loads(text)
    except ValueError as error:
        hint = 'e.g. --payload \'{"name": "world"}\' or --payload @event.json'
        raise CliError(f"the payload is not JSON: {error}", hint) from None
    return text.encode()


def show_result(body: bytes) -> None:
    """Pretty JSON on a terminal; exactly what the function returned otherwise, for jq and friends."""
    try:
        text = body.decode()
        if out.is_terminal:
            out.print_json(text)
        else:
            out.print(text, markup=False)
    except (ValueError, UnicodeDecodeError):
        out.print(repr(body), markup=False)


@click.command()
@click.argument("name")
@click.option("--payload", default="{}", show_default=True, help="the event: JSON, @file.json, or @- for stdin")
@click.option("--async", "asynchronous", is_flag=True, help="queue the event (InvocationType=Event) and return")
@client_command
def invoke(clients: Clients, name: str, payload: str, asynchronous: bool) -> None:
    """Invoke function NAME: the result on stdout, the log tail on stderr."""
    event = read_payload(payload)
    if asynchronous:
        reply = clients.lam.invoke(FunctionName=name, InvocationType="Event", Payload=event)
        request_id = reply["ResponseMetadata"]["RequestId"]
        err.print(f"queued (request {request_id}); follow it with: kindling logs {name} --follow", markup=False)
        return
    reply = clients.lam.invoke(FunctionName=name, Payload=event, LogType="Tail")
    for line in base64.b64decode(reply.get("LogResult", "")).decode("utf-8", "replace").splitlines():
        print_line(err, line)
    show_result(reply["Payload"].read())
    if reply.get("FunctionError"):
        raise CliError(f"{name} failed ({reply['FunctionError']})", "the error is above; `kindling logs` shows more")
