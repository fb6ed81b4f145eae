"""EventBridge rules with a ``ScheduleExpression`` (``PutRule``, ``rate()`` or ``cron()``) fire their Lambda
targets: moto keeps such rules but never fires them. Each firing is EventBridge's Scheduled Event
(``"detail-type": "Scheduled Event"``, ``"source": "aws.events"``, the rule's ARN in ``resources``), shaped by
the target's ``Input``, ``InputPath`` or ``InputTransformer`` like any other event, and queued for an
asynchronous invoke through ``LambdaDeliveries``.

The rules stay moto's: after each EventBridge request the loop reads them again (in the services' thread)
and reckons the next firing with ``functions/schedule_expressions.py``, Kindling's own schedules' parser. A
rate is counted from when the rule was first seen by this process: a restart may delay a firing, never
repeat one (the state of firings is not kept, as EventBridge does not backfill either).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..functions.schedule_expressions import ScheduleError, ScheduleExpression, parse
from .deliveries import LambdaDeliveries

log = logging.getLogger("kindling.services")
IDLE_WAKE_S = 60.0


@dataclass
class ScheduledRule:
    arn: str
    name: str
    region: str
    account: str
    expression: str
    targets: list[dict[str, Any]]  # the rule's Lambda targets, as PutTargets gave them
    schedule: ScheduleExpression | None = None
    anchor: datetime = field(default_factory=lambda: datetime.now(UTC))
    next_fire: datetime | None = None


def _scan() -> list[ScheduledRule]:
    """The enabled scheduled rules with Lambda targets, from moto's backends (in the services' thread)."""
    from moto.events.models import events_backends

    found = []
    for account, regions in events_backends.items():
        for region, backend in regions.items():
            for bus in backend.event_buses.values():
                for rule in bus.rules.values():
                    targets = [dict(t) for t in rule.targets if t["Arn"].split(":")[2:3] == ["lambda"]]
                    if rule.scheduled_expression and rule.state == "ENABLED" and targets:
                        found.append(ScheduledRule(rule.arn, rule.name, region, account, rule.scheduled_expression,
                                                   targets))  # fmt: skip
    return found


class ScheduledRules:
    def __init__(self, services: Any, deliveries: LambdaDeliveries) -> None:
        self.services = services  # adapter.AwsServices: its thread and its engine
        self.deliveries = deliveries
        self.rules: dict[str, ScheduledRule] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="eventbridge-schedules")

    def changed(self) -> None:
        """An EventBridge request was answered: the rules may differ."""
        self._changed.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._changed.clear()
            if self.services.engine is not None:  # moto in use: otherwise there are no rules to read
                try:
                    self._refresh(await loop.run_in_executor(self.services.thread, _scan))
                except Exception:  # moto's objects not as expected: the rules already known keep firing
                    log.exception("EventBridge schedules: the rules could not be read")
            now = datetime.now(UTC)
            for rule in self.rules.values():
                if rule.next_fire is not None and rule.next_fire <= now:
                    await self._fire(rule, rule.next_fire)
                    rule.next_fire = rule.schedule.next_after(now, rule.anchor) if rule.schedule else None
            upcoming = [rule.next_fire.timestamp() for rule in self.rules.values() if rule.next_fire is not None]
            wait = min([*upcoming, time.time() + IDLE_WAKE_S]) - time.time()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=max(0.0, wait))

    def _refresh(self, scanned: list[ScheduledRule]) -> None:
        """Keeps the firing times of unchanged rules; reckons those of new or changed ones from now."""
        now = datetime.now(UTC)
        fresh = {}
        for rule in scanned:
            known = self.rules.get(rule.arn)
            if known is not None and known.expression == rule.expression:
                known.targets = rule.targets
                fresh[rule.arn] = known
                continue
            try:
                rule.schedule = parse(rule.expression)
            except ScheduleError as error:
                log.warning("EventBridge rule %s will not fire: %s", rule.name, error)
                continue
            rule.anchor = now
            rule.next_fire = rule.schedule.next_after(now, now)
            fresh[rule.arn] = rule
        self.rules = fresh

    async def _fire(self, rule: ScheduledRule, scheduled: datetime) -> None:
        from .lambda_targets import target_input

        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": rule.account,
            "time": scheduled.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": rule.region,
            "resources": [rule.arn],
            "detail": {},
        }
        for target in rule.targets:
            try:
                payload = target_input(rule, target, event)
            except (KeyError, ValueError) as error:  # a transformer moto took but that cannot be applied
                log.warning("EventBridge rule %s: target %s skipped: %s", rule.name, target.get("Id"), error)
                continue
            enforce = self.services.targets is not None and self.services.targets.enforce  # --auth iam
            if enforce and not self.deliveries.may_invoke(
                target["Arn"], "events.amazonaws.com", rule.arn, rule.account
            ):
                log.warning("EventBridge rule %s may not invoke %s (no resource-based policy allows it)", rule.name,
                            target["Arn"])  # fmt: skip
                self.deliveries.refused("AWS/Events", "FailedInvocations", ("RuleName", rule.name))
                continue
            await self.deliveries.invoke(target["Arn"], payload)
