"""The loop that fires schedules (``functions/schedules.py`` holds the rules).

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
import sqlite3
import time
import uuid
from typing import Any

from ..events.queue import EventQueue
from ..functions.schedule_expressions import ScheduleError
from ..functions.schedules import Rule, Schedules, iso
from ..functions.service import FunctionService
from ..ids import request_id
from ..models import InvokeRequest

log = logging.getLogger("kindling.schedules")
MISSED_GRACE_S = 60.0  # a firing due this recently when the server starts is still sent
IDLE_WAKE_S = 60.0


class Scheduler:
    def __init__(self, schedules: Schedules, functions: FunctionService, events: EventQueue) -> None:
        self.schedules = schedules
        self.rules = schedules.rules
        self.functions = functions
        self.events = events
        self._sends: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

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
                await asyncio.wait_for(self.schedules.changed.wait(), timeout=max(0.0, wait))
            self.schedules.changed.clear()

    def _recover(self, now: float) -> None:
        for rule in list(self.rules.values()):
            if rule.enabled and rule.next_fire is not None and rule.next_fire < now - MISSED_GRACE_S:
                log.info("schedule %s missed %s while the server was down", rule.name, iso(rule.next_fire))
                self.schedules.advance(rule, rule.last_fire, now)

    def _fire(self, rule: Rule, now: float) -> None:
        scheduled = rule.next_fire
        assert scheduled is not None
        self.schedules.advance(rule, scheduled, now)  # on disk before the invoke leaves: a restart never repeats it
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
            "account": self.schedules.config.account_id,
            "time": iso(scheduled),
            "region": self.schedules.config.region,
            "resources": [self.schedules.arn(rule)],
            "detail": {},
        }

    async def _send(self, rule: Rule, event: bytes) -> None:
        try:
            record, code_dir, invoked_arn = self.functions.invoke_target(rule.function, None)
            await self.events.enqueue(record, code_dir, InvokeRequest(event, invoked_arn, request_id=request_id()))
        except Exception as error:  # a deleted function, a full disk: this firing is lost, the next one is not
            log.warning("schedule %s could not invoke %s: %s", rule.name, rule.function, error)
