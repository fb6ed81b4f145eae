"""Schedules: EventBridge-style rules that invoke a function asynchronously, served under ``/kindling/schedules``.

    PUT    /kindling/schedules/{name}   {"ScheduleExpression": "rate(5 minutes)", "FunctionName": "hello",
                                         "State": "ENABLED", "Input": "{\\"optional\\": \\"event\\"}"}
    GET    /kindling/schedules          -> {"Schedules": [...]}
    GET    /kindling/schedules/{name}
    DELETE /kindling/schedules/{name}

A firing is an ``Event`` invoke through the server's own Lambda API, so it takes the path any
asynchronous invocation takes (queue, retries, destinations) and needs nothing from the invoker.
Each rule's next firing time is committed to SQLite before its invoke is sent: after a crash or a
restart a firing can be missed, never repeated. Firings missed by more than a minute while the
server was down are skipped, as EventBridge does not backfill either.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import sqlite3
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from ..config import Config
from ..errors import ResourceNotFound, ValidationError
from ..web import RawRequest, Reply, json_reply
from .schedule_expressions import ScheduleError, ScheduleExpression, parse

log = logging.getLogger("kindling.schedules")
PREFIX = "/kindling/schedules"
_NAME = re.compile(r"^[\.\-_A-Za-z0-9]{1,64}$")
MISSED_GRACE_S = 60.0  # a firing due this recently when the server starts is still sent
IDLE_WAKE_S = 60.0
SEND_ATTEMPTS = 120  # x 0.25 s


@dataclass(frozen=True)
class Rule:
    name: str
    expression: str
    function: str
    input: str | None
    enabled: bool
    created: float  # the anchor of a rate
    next_fire: float | None
    last_fire: float | None

    def schedule(self) -> ScheduleExpression:
        return parse(self.expression)

    def following(self, moment: float) -> float | None:
        found = self.schedule().next_after(_utc(moment), _utc(self.created))
        return found.timestamp() if found else None


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else _utc(epoch).strftime("%Y-%m-%dT%H:%M:%SZ")


class RuleStore:
    """The rules in SQLite of their own (WAL, synchronous FULL): small, and written on every firing."""

    COLUMNS = "name, expression, function, input, enabled, created, next_fire, last_fire"

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS rules (name TEXT PRIMARY KEY, expression TEXT NOT NULL, function TEXT NOT NULL,"
            " input TEXT, enabled INTEGER NOT NULL, created REAL NOT NULL, next_fire REAL, last_fire REAL)"
        )

    def load(self) -> dict[str, Rule]:
        rows = self.db.execute(f"SELECT {self.COLUMNS} FROM rules").fetchall()
        return {row[0]: Rule(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6], row[7]) for row in rows}

    def save(self, rule: Rule) -> None:
        self.db.execute(
            f"INSERT OR REPLACE INTO rules ({self.COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (rule.name, rule.expression, rule.function, rule.input, int(rule.enabled), rule.created, rule.next_fire,
             rule.last_fire),
        )  # fmt: skip

    def delete(self, name: str) -> None:
        self.db.execute("DELETE FROM rules WHERE name = ?", (name,))


class Schedules:
    def __init__(self, config: Config, path: Path) -> None:
        self.config = config
        self.store = RuleStore(path)
        self.rules = self.store.load()
        self._changed = asyncio.Event()
        self._sends: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ API
    def route(self, request: RawRequest) -> Awaitable[Reply] | None:
        if request.path != PREFIX and not request.path.startswith(PREFIX + "/"):
            return None
        name = unquote(request.path[len(PREFIX) + 1 :])
        if not name:
            return self._list() if request.method == "GET" else None
        if request.method == "PUT":
            return self._put(name, request.body)
        if request.method == "GET":
            return self._get(name)
        if request.method == "DELETE":
            return self._delete(name)
        return None

    def _describe(self, rule: Rule) -> dict[str, Any]:
        described = {
            "Name": rule.name,
            "Arn": f"arn:aws:events:{self.config.region}:{self.config.account_id}:rule/{rule.name}",
            "ScheduleExpression": rule.expression,
            "FunctionName": rule.function,
            "State": "ENABLED" if rule.enabled else "DISABLED",
            "NextFireTime": _iso(rule.next_fire) if rule.enabled else None,
            "LastFireTime": _iso(rule.last_fire),
        }
        if rule.input is not None:
            described["Input"] = rule.input
        return described

    async def _list(self) -> Reply:
        return json_reply({"Schedules": [self._describe(self.rules[name]) for name in sorted(self.rules)]})

    def _existing(self, name: str) -> Rule:
        rule = self.rules.get(name)
        if rule is None:
            raise ResourceNotFound(f"Schedule {name} does not exist.")
        return rule

    async def _get(self, name: str) -> Reply:
        return json_reply(self._describe(self._existing(name)))

    async def _delete(self, name: str) -> Reply:
        self._existing(name)
        self.store.delete(name)
        del self.rules[name]
        self._changed.set()
        return Reply(204)

    async def _put(self, name: str, body: bytes) -> Reply:
        if not _NAME.match(name):
            raise ValidationError("A schedule name is 1 to 64 letters, digits, '.', '-' or '_'.")
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            raise ValidationError("The request body is not JSON.") from None
        if not isinstance(params, dict):
            raise ValidationError("The request body must be a JSON object.")
        expression, function = params.get("ScheduleExpression"), params.get("FunctionName")
        if not isinstance(expression, str) or not isinstance(function, str) or not function:
            raise ValidationError("ScheduleExpression and FunctionName are required strings.")
        state = params.get("State", "ENABLED")
        if state not in ("ENABLED", "DISABLED"):
            raise ValidationError("State must be ENABLED or DISABLED.")
        event = params.get("Input")
        if event is not None:
            try:
                json.loads(event)
            except (TypeError, ValueError):
                raise ValidationError("Input must be a string of JSON text.") from None
        try:
            parse(expression)
        except ScheduleError as error:
            raise ValidationError(f"Parameter ScheduleExpression is not valid: {error}") from None
        status, reply = await self._call("GET", f"/2015-03-31/functions/{quote(function, safe='')}/configuration")
        if status == 404:
            raise ResourceNotFound(json.loads(reply or b"{}").get("Message", f"Function not found: {function}"))
        now = time.time()
        previous = self.rules.get(name)
        rule = Rule(
            name=name,
            expression=expression,
            function=function,
            input=event,
            enabled=state == "ENABLED",
            created=previous.created if previous is not None and previous.expression == expression else now,
            next_fire=None,
            last_fire=previous.last_fire if previous is not None else None,
        )
        rule = replace(rule, next_fire=rule.following(now) if rule.enabled else None)
        self.store.save(rule)
        self.rules[name] = rule
        self._changed.set()
        return json_reply(self._describe(rule))

    # ------------------------------------------------------------ the loop
    def start(self) -> None:
        """Runs until the event loop ends; every state it needs is already on disk."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="schedules")

    async def _run(self) -> None:
        self._recover(time.time())
        while True:
            now = time.time()
            for rule in list(self.rules.values()):
                if rule.enabled and rule.next_fire is not None and rule.next_fire <= now:
                    try:
                        self._fire(rule, now)
                    except (sqlite3.Error, ScheduleError) as error:  # retried in a moment, not in a busy loop
                        log.error("schedule %s could not fire: %s", rule.name, error)
                        await asyncio.sleep(1)
            upcoming = [r.next_fire for r in self.rules.values() if r.enabled and r.next_fire is not None]
            wait = min([*upcoming, now + IDLE_WAKE_S]) - time.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=max(0.0, wait))
            self._changed.clear()

    def _recover(self, now: float) -> None:
        for rule in list(self.rules.values()):
            if rule.enabled and rule.next_fire is not None and rule.next_fire < now - MISSED_GRACE_S:
                log.info("schedule %s missed %s while the server was down", rule.name, _iso(rule.next_fire))
                self._advance(rule, rule.last_fire, now)

    def _advance(self, rule: Rule, fired: float | None, now: float) -> Rule:
        updated = replace(rule, next_fire=rule.following(now), last_fire=fired)
        self.store.save(updated)
        self.rules[rule.name] = updated
        return updated

    def _fire(self, rule: Rule, now: float) -> None:
        scheduled = rule.next_fire
        assert scheduled is not None
        self._advance(rule, scheduled, now)  # on disk before the invoke leaves: a restart never repeats it
        event = rule.input if rule.input is not None else json.dumps(self._event(rule, scheduled))
        send = asyncio.get_running_loop().create_task(self._send(rule, event.encode()))
        self._sends.add(send)
        send.add_done_callback(self._sends.discard)

    def _event(self, rule: Rule, scheduled: float) -> dict[str, Any]:
        """The shape EventBridge gives a scheduled rule's target."""
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.config.account_id,
            "time": _iso(scheduled),
            "region": self.config.region,
            "resources": [f"arn:aws:events:{self.config.region}:{self.config.account_id}:rule/{rule.name}"],
            "detail": {},
        }

    async def _send(self, rule: Rule, event: bytes) -> None:
        path = f"/2015-03-31/functions/{quote(rule.function, safe='')}/invocations"
        for _ in range(SEND_ATTEMPTS):
            try:
                status, body = await self._call("POST", path, event, {"X-Amz-Invocation-Type": "Event"})
                break
            except ConnectionRefusedError:  # a firing due at start-up: the port opens in a moment
                await asyncio.sleep(0.25)
            except OSError as error:
                log.warning("schedule %s could not invoke %s: %s", rule.name, rule.function, error)
                return
        else:
            log.warning("schedule %s could not invoke %s: the server never listened", rule.name, rule.function)
            return
        if status != 202:
            log.warning("schedule %s: invoking %s answered %s %s", rule.name, rule.function, status, body[:200])

    async def _call(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """One request to this server's own Lambda API, on the loopback."""
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.config.host, self.config.host)
        reader, writer = await asyncio.open_connection(host, self.config.port)
        try:
            lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}", "Connection: close"]
            lines += [f"{key}: {value}" for key, value in (headers or {}).items()]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            await writer.drain()
            response = await reader.read()
        finally:
            writer.close()
        head, _, payload = response.partition(b"\r\n\r\n")
        return int(head.split(b" ", 2)[1]), payload
