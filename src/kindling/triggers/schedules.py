"""Schedules: EventBridge-style rules that invoke a function asynchronously (configured through
``/kindling/schedules``, ``api/routes/schedules.py``).

A firing is an ``Event`` invoke handed to the async queue, so it takes the path any asynchronous
invocation takes (durable queue, retries, destinations) and needs nothing from the invoker.
Each rule's next firing time is committed to SQLite before its event is queued: after a crash or a
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
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import ResourceNotFound, ValidationError
from ..events.queue import EventQueue
from ..functions.service import FunctionService
from ..ids import request_id
from ..models import InvokeRequest
from ..store.sqlite import Tables
from .schedule_expressions import ScheduleError, ScheduleExpression, parse

log = logging.getLogger("kindling.schedules")
_NAME = re.compile(r"^[\.\-_A-Za-z0-9]{1,64}$")
MISSED_GRACE_S = 60.0  # a firing due this recently when the server starts is still sent
IDLE_WAKE_S = 60.0


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


class RuleStore(Tables):
    """The rules, in the shared database: small, and written on every firing."""

    COLUMNS = "name, expression, function, input, enabled, created, next_fire, last_fire"
    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS schedule_rules (name TEXT PRIMARY KEY, expression TEXT NOT NULL,"
        " function TEXT NOT NULL, input TEXT, enabled INTEGER NOT NULL, created REAL NOT NULL, next_fire REAL,"
        " last_fire REAL)"
    )

    def adopt(self, legacy: Path) -> None:
        """Take over the rules of ``schedules.db``, where releases before the shared database kept them."""
        if not legacy.exists():
            return
        old = sqlite3.connect(legacy)
        try:
            rows = old.execute(f"SELECT {self.COLUMNS} FROM rules").fetchall()
        finally:
            old.close()
        with self.transaction() as db:
            db.executemany(
                f"INSERT OR IGNORE INTO schedule_rules ({self.COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
        for suffix in ("", "-wal", "-shm"):
            legacy.with_name(legacy.name + suffix).unlink(missing_ok=True)

    def load(self) -> dict[str, Rule]:
        rows = self.rows(f"SELECT {self.COLUMNS} FROM schedule_rules")
        return {row[0]: Rule(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6], row[7]) for row in rows}

    def save(self, rule: Rule) -> None:
        self.write(
            f"INSERT OR REPLACE INTO schedule_rules ({self.COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (rule.name, rule.expression, rule.function, rule.input, int(rule.enabled), rule.created, rule.next_fire,
             rule.last_fire),
        )  # fmt: skip

    def delete(self, name: str) -> None:
        self.write("DELETE FROM schedule_rules WHERE name = ?", (name,))


class Schedules:
    def __init__(self, config: Config, store: RuleStore, functions: FunctionService, events: EventQueue) -> None:
        self.config = config
        self.store = store
        self.functions = functions
        self.events = events
        self.rules = self.store.load()
        self._changed = asyncio.Event()
        self._sends: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------- configuration
    def describe(self, rule: Rule) -> dict[str, Any]:
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

    def get(self, name: str) -> Rule:
        rule = self.rules.get(name)
        if rule is None:
            raise ResourceNotFound(f"Schedule {name} does not exist.")
        return rule

    def delete(self, name: str) -> None:
        self.get(name)
        self.store.delete(name)
        del self.rules[name]
        self._changed.set()

    def put(self, name: str, params: Any) -> Rule:
        if not _NAME.match(name):
            raise ValidationError("A schedule name is 1 to 64 letters, digits, '.', '-' or '_'.")
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
        self.functions.lookup(function)  # ResourceNotFound, as GetFunction would answer
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
        return rule

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
        try:
            record, code_dir, invoked_arn = self.functions.invoke_target(rule.function, None)
            await self.events.enqueue(record, code_dir, InvokeRequest(event, invoked_arn, request_id=request_id()))
        except Exception as error:  # a deleted function, a full disk: this firing is lost, the next one is not
            log.warning("schedule %s could not invoke %s: %s", rule.name, rule.function, error)
