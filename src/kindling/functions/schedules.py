"""Schedules: EventBridge-style rules that invoke a function asynchronously. The control plane's side: the
rules, checked and stored (configured through ``/kindling/schedules``, ``api/routes/schedules.py``); the
loop that fires them is ``triggers/schedules.py``."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import ResourceNotFound, ValidationError
from ..store.sqlite import Tables
from .schedule_expressions import ScheduleError, ScheduleExpression, parse
from .service import FunctionService

_NAME = re.compile(r"^[\.\-_A-Za-z0-9]{1,64}$")


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


def iso(epoch: float | None) -> str | None:
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
    def __init__(self, config: Config, store: RuleStore, functions: FunctionService) -> None:
        self.config = config
        self.store = store
        self.functions = functions
        self.rules = self.store.load()
        self.changed = asyncio.Event()  # set on every change, for the loop that fires them

    # ------------------------------------------------------- configuration
    def describe(self, rule: Rule) -> dict[str, Any]:
        described = {
            "Name": rule.name,
            "Arn": self.arn(rule),
            "ScheduleExpression": rule.expression,
            "FunctionName": rule.function,
            "State": "ENABLED" if rule.enabled else "DISABLED",
            "NextFireTime": iso(rule.next_fire) if rule.enabled else None,
            "LastFireTime": iso(rule.last_fire),
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
        self.changed.set()

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
        self.changed.set()
        return rule

    def advance(self, rule: Rule, fired: float | None, now: float) -> Rule:
        """The rule's next firing after ``now``, stored before anything is sent: a restart never repeats one."""
        updated = replace(rule, next_fire=rule.following(now), last_fire=fired)
        self.store.save(updated)
        self.rules[rule.name] = updated
        return updated

    def arn(self, rule: Rule) -> str:
        return f"arn:aws:events:{self.config.region}:{self.config.account_id}:rule/{rule.name}"
