"""The queue behind ``InvocationType=Event``: durable accept, then attempts, retries, destinations.

An event is on disk before it is acknowledged (``store.py``); the dispatcher then runs it when it is
due, never more attempts at once than ``KINDLING_ASYNC_CONCURRENCY`` nor more per function than its
reserved concurrency. Lambda's rules follow (``lambda-contract.md`` §6): a function error is retried
``MaximumRetryAttempts`` times after 1 x and 2 x the base delay; a throttle or a platform error goes
back with exponential backoff without using an attempt; an event older than
``MaximumEventAgeInSeconds`` (or whose next retry would be) goes to the failure path, as does every
event of a function with reserved concurrency 0. Each attempt is marked in the store before it
starts, so an attempt that a crash interrupted is run again and counted as a possible duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..arn import parse_function
from ..config import Config
from ..errors import ResourceNotFound, ServiceError, TooManyRequests
from ..functions.invocations import Invocations
from ..functions.service import FunctionService
from ..ids import request_id as new_request_id
from ..metrics.recorder import Recorder
from ..models import FunctionVersion, InvokeRequest
from .config import LATEST, InvokeConfig, InvokeConfigs
from .counters import Counters
from .destinations import Destinations, SqsSender
from .event import Delivery, QueuedEvent
from .records import AttemptResult, dead_letter_attributes, invocation_record
from .settings import QueueSettings
from .store import EventStore, StoreError

log = logging.getLogger("kindling.events")
DELIVERY_TRIES = 20  # a record that cannot be sent is retried with the backoff (about 1.5 h), then dropped


@dataclass(frozen=True)
class Target:
    """What an attempt runs, resolved again at each attempt (an alias may point elsewhere by then)."""

    record: FunctionVersion
    code_dir: Path
    arn: str  # the qualified ARN invoked, as destination records name it (…:function:f:$LATEST)
    config: InvokeConfig


class EventQueue:
    def __init__(
        self,
        config: Config,
        data_dir: Path,
        invocations: Invocations,
        functions: FunctionService | None = None,
        settings: QueueSettings | None = None,
    ) -> None:
        self.config = config
        self.invocations = invocations
        self.functions = functions
        self.settings = settings or QueueSettings.from_env()
        self.store = EventStore(data_dir / "events" / "events.db")
        self.configs = InvokeConfigs(self.store)
        self.counters = Counters()
        self.destinations = Destinations(
            SqsSender(self.settings.sqs_endpoint, self.settings.sqs_keys), self.function_exists
        )
        self.quarantined = 0
        self.metrics = Recorder()  # the composition root hands the shared one over
        self._limit = max(1, min(self.settings.concurrency, config.account_concurrency))
        self._ready: deque[QueuedEvent] = deque()
        self._timers: list[tuple[float, int, QueuedEvent]] = []
        self._blocked: dict[str, deque[QueuedEvent]] = {}  # over their function's reserved concurrency
        self._running: dict[str, int] = {}
        self._tasks: dict[asyncio.Task[None], QueuedEvent] = {}
        self._wake = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None
        self._paused = True  # until resume(): the server calls it once its port answers
        self._accepting = True
        self._housekeeping: set[asyncio.Task[None]] = set()

    # -------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Resume whatever was accepted before a restart or a crash."""
        assert self.functions is not None, "EventQueue needs the function service"
        self.configs.load({record.name for record in self.functions.list_functions()})
        events, self.quarantined = self.store.load()
        self.store.start()
        interrupted = 0
        for event in events:
            counters = self.counters[event.function]
            counters.queue_depth += 1
            if event.leased:
                counters.redelivered += 1
                interrupted += 1
            self._schedule(event)
        if events:
            log.info("resuming %d stored events (%d interrupted attempts run again)", len(events), interrupted)
        self._dispatcher = asyncio.create_task(self._dispatch_forever())

    def function_deleted(self, function: str) -> None:
        """A function created again under the same name must not inherit the old configuration."""
        for qualifier in self.configs.forget(function):
            task = asyncio.get_running_loop().create_task(self.store.save_config(function, qualifier, None))
            self._housekeeping.add(task)
            task.add_done_callback(self._housekeeping.discard)

    def resume(self) -> None:
        """Start attempts: what a restart resumed and what was accepted meanwhile."""
        self._paused = False
        self._wake.set()

    def pause(self) -> None:
        """Start no new attempt (shutdown has begun); queued events wait for the next start."""
        self._paused = True

    async def close(self) -> None:
        """Let running attempts finish for a while, stop the rest, keep everything queued for next time."""
        self._accepting = False
        self.pause()
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=self.settings.drain_s)
            events = [self._tasks[task] for task in late]
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            for event in events:  # cut short by the shutdown, not by a crash: no duplicate to count
                event.leased = False
            released = [self.store.update(event) for event in events]
            with contextlib.suppress(StoreError, TimeoutError):  # a failing disk must not hold up the exit
                await asyncio.wait_for(asyncio.gather(*released), 5)
            if events:
                log.warning("stopped %d asynchronous attempts at shutdown; they run again at next start", len(events))
        await asyncio.to_thread(self.store.close)

    # ----------------------------------------------------------------- accept
    async def enqueue(self, version: FunctionVersion, code_dir: Path, request: InvokeRequest) -> None:
        """Accept one event; returns once it is durably stored."""
        now = time.time()
        event = QueuedEvent(
            request_id=request.request_id or new_request_id(),
            function=version.name,
            invoked_arn=request.invoked_arn,
            payload=request.payload,
            received=now,
            due=now,
            client_context=request.client_context,
            trace_id=request.trace_id,
        )
        if not self._accepting:
            raise ServiceError("Kindling is shutting down and accepts no new asynchronous invocation.")
        event.leased = self._starts_at_once(version.name)
        try:
            await self.store.insert(event)
        except StoreError as error:
            raise ServiceError(str(error)) from None
        self._admit(event)

    def _starts_at_once(self, function: str) -> bool:
        """Whether an event accepted now starts at once: then it is stored already leased, which saves the
        attempt an fsync (a crash in between counts it as redelivered, an overcount never an undercount)."""
        if self._ready or self._paused or len(self._tasks) >= self._limit:
            return False
        reserved = self._reserved(function)
        return not reserved or self._running.get(function, 0) < reserved

    def _admit(self, event: QueuedEvent) -> None:
        counters = self.counters[event.function]
        counters.received += 1
        counters.queue_depth += 1
        self.metrics.count("AsyncEventsReceived", event.function)
        self._schedule(event)
        event.shed_payload()

    def _schedule(self, event: QueuedEvent) -> None:
        if event.due <= time.time():
            self._ready.append(event)
        else:
            heapq.heappush(self._timers, (event.due, event.id, event))
        self._wake.set()

    # --------------------------------------------------------------- dispatch
    async def _dispatch_forever(self) -> None:
        while True:
            self._wake.clear()
            now = time.time()
            while self._timers and self._timers[0][0] <= now:
                self._ready.append(heapq.heappop(self._timers)[2])
            while self._ready and len(self._tasks) < self._limit and not self._paused:
                self._start(self._ready.popleft())
            timeout = self._timers[0][0] - now if self._timers else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _reserved(self, function: str) -> int | None:
        return self.invocations.reserved_concurrency(function)

    def _start(self, event: QueuedEvent) -> None:
        name = event.function
        reserved = self._reserved(name)
        if event.deliveries is None and reserved and self._running.get(name, 0) >= reserved:
            self._blocked.setdefault(name, deque()).append(event)
            return
        self._running[name] = self._running.get(name, 0) + 1
        self.counters[name].in_flight += 1
        task = asyncio.create_task(self._process(event))
        self._tasks[task] = event
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        event = self._tasks.pop(task)
        name = event.function
        self._running[name] -= 1
        self.counters[name].in_flight -= 1
        blocked = self._blocked.get(name)
        if blocked:  # as many as the reservation now allows (it may have been raised or removed)
            reserved = self._reserved(name)
            room = reserved - self._running[name] if reserved else len(blocked)
            released = [blocked.popleft() for _ in range(min(room, len(blocked)))]
            self._ready.extendleft(reversed(released))
        self._wake.set()

    async def _process(self, event: QueuedEvent) -> None:
        try:
            if event.deliveries is not None:
                await self._settle(event, event.deliveries)
            elif await self._load_payload(event):
                await self._attempt(event)
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug must not lose the event: it is still stored, try again later
            log.exception("async event %s for %s: unexpected error", event.request_id, event.function)
            event.backoffs += 1
            event.due = time.time() + self.settings.backoff_delay(event.backoffs)
            self._schedule(event)
        finally:
            event.shed_payload()

    async def _load_payload(self, event: QueuedEvent) -> bool:
        """Read back a payload that waited on disk; False when its row is gone (nothing left to run)."""
        if event.payload is None:
            try:
                event.payload = await self.store.payload(event)
            except StoreError as error:
                log.error("async event %s for %s: dropped: %s", event.request_id, event.function, error)
                self.counters[event.function].dropped["Unreadable"] += 1
                self.counters[event.function].queue_depth -= 1
                return False
        return True

    # --------------------------------------------------------------- attempts
    def _target(self, event: QueuedEvent) -> Target:
        assert self.functions is not None
        qualifier = parse_function(event.invoked_arn, self.config.region).qualifier or LATEST
        record, code_dir, _ = self.functions.invoke_target(event.invoked_arn, None)
        config = self.configs.effective(event.function, qualifier)
        return Target(record, code_dir, self.functions.arn(record.name, qualifier), config)

    async def _attempt(self, event: QueuedEvent) -> None:
        counters = self.counters[event.function]
        try:
            target = self._target(event)
        except ResourceNotFound:
            log.warning("async event %s: %s no longer exists; dropped", event.request_id, event.invoked_arn)
            counters.dropped["FunctionDeleted"] += 1
            await self._remove(event)
            return
        config = target.config
        if time.time() - event.received > config.event_age_s or self._reserved(event.function) == 0:
            await self._fail(event, target, "EventAgeExceeded", None)
            return
        if not event.leased:
            event.leased = True
            await self.store.update(event)
        counters.started(time.time() - event.received)
        self.metrics.count("AsyncEventAge", event.function, (time.time() - event.received) * 1000, "Milliseconds")
        request = InvokeRequest(
            payload=event.body(),
            invoked_arn=event.invoked_arn,
            client_context=event.client_context,
            trace_id=event.trace_id,
            request_id=event.request_id,  # every attempt runs under the RequestId the 202 carried, as on Lambda
            queued_at=event.received,
            attempt=event.attempts + 1,
        )
        try:
            result = await self.invocations.invoke(target.record, target.code_dir, request)
        except TooManyRequests as error:
            counters.throttles += 1
            await self._back_off(event, target, f"throttled ({error.extra.get('Reason')})")
            return
        except Exception as error:
            counters.platform_errors += 1
            await self._back_off(event, target, f"platform error: {error}")
            return
        event.attempts += 1
        event.backoffs = 0
        outcome = AttemptResult(result.payload, result.executed_version, result.function_error)
        if not result.function_error:
            counters.succeeded += 1
            success = config.on_success
            record = self._record(event, target, "Success", outcome) if success else ""
            await self._settle(event, [Delivery("OnSuccess", success, record)] if success else [])
            return
        counters.function_errors += 1
        if event.attempts <= config.retries:
            delay = self.settings.retry_delay(event.attempts)
            if time.time() + delay - event.received <= config.event_age_s:
                log.info(
                    "async event %s for %s: function error on attempt %d (%s); retrying in %.1f s",
                    event.request_id, event.function, event.attempts, outcome.error_message, delay,
                )  # fmt: skip
                await self._later(event, delay)
                return
            await self._fail(event, target, "EventAgeExceeded", outcome)
            return
        await self._fail(event, target, "RetriesExhausted", outcome)

    async def _back_off(self, event: QueuedEvent, target: Target, why: str) -> None:
        """Throttles and platform errors: back to the queue without using an attempt, until too old."""
        event.backoffs += 1
        delay = self.settings.backoff_delay(event.backoffs)
        if time.time() + delay - event.received > target.config.event_age_s:
            await self._fail(event, target, "EventAgeExceeded", None)
            return
        log.info("async event %s for %s: %s; trying again in %.1f s", event.request_id, event.function, why, delay)
        await self._later(event, delay)

    async def _later(self, event: QueuedEvent, delay: float) -> None:
        event.due = time.time() + delay
        event.leased = False
        await self.store.update(event)
        self._schedule(event)

    def _record(self, event: QueuedEvent, target: Target, condition: str, outcome: AttemptResult | None) -> str:
        return invocation_record(
            request_id=event.request_id,
            function_arn=target.arn,
            condition=condition,
            invoke_count=event.attempts,
            request_payload=event.body(),
            outcome=outcome,
        )

    async def _fail(self, event: QueuedEvent, target: Target, condition: str, outcome: AttemptResult | None) -> None:
        """The failure path: the OnFailure destination and the dead-letter queue, whichever are set."""
        event.backoffs = 0
        self.counters[event.function].dropped[condition] += 1
        self.metrics.count("AsyncEventsDropped", event.function)
        deliveries = []
        on_failure = target.config.on_failure
        if on_failure:
            deliveries.append(Delivery("OnFailure", on_failure, self._record(event, target, condition, outcome)))
        dead_letter = target.record.dead_letter_target
        if dead_letter:
            attributes = dead_letter_attributes(event.request_id, outcome, condition)
            deliveries.append(Delivery("DeadLetter", dead_letter, event.body().decode() or "{}", attributes))
        log.info(
            "async event %s for %s: %s after %d attempts%s",
            event.request_id, event.function, condition, event.attempts,
            "".join(f"; record to {d.condition} {d.arn}" for d in deliveries) or "; no destination, dropped",
        )  # fmt: skip
        await self._settle(event, deliveries)

    # ------------------------------------------------------------- deliveries
    async def _settle(self, event: QueuedEvent, deliveries: list[Delivery]) -> None:
        """Send the records of a decided event; retire it once nothing is left to send."""
        counters = self.counters[event.function]
        role = self._role(event.function) if deliveries else None
        sent, failed, refused = await self.destinations.send_remote(deliveries, role) if deliveries else ([], [], [])
        handed_on, lost = self.destinations.follow_ups(deliveries, time.time())
        lost += refused
        follow_ups = tuple(follow_up for _, follow_up in handed_on)
        for delivery in [*sent, *(delivery for delivery, _ in handed_on)]:
            counters.delivered[delivery.condition] += 1
        event.backoffs += 1 if failed else 0
        if failed and event.backoffs >= DELIVERY_TRIES:
            lost += failed
            failed = []
        for delivery, why in lost:
            counters.delivery_failures[delivery.condition] += 1
            failure = "DeadLetterErrors" if delivery.condition == "DeadLetter" else "DestinationDeliveryFailures"
            self.metrics.count(failure, event.function)
            log.error("async event %s: %s record dropped: %s", event.request_id, delivery.condition, why)
        for delivery, why in failed:
            log.warning("async event %s: %s record not sent yet: %s", event.request_id, delivery.condition, why)
        if failed:
            event.deliveries = [delivery for delivery, _ in failed]
            event.due = time.time() + self.settings.backoff_delay(event.backoffs)
            event.leased = False
            await self.store.update(event, follow_ups)
            self._schedule(event)
        else:
            await self._remove(event, follow_ups)
        for follow_up in follow_ups:
            self._admit(follow_up)

    async def _remove(self, event: QueuedEvent, follow_ups: tuple[QueuedEvent, ...] = ()) -> None:
        await self.store.remove(event, follow_ups)
        self.counters[event.function].queue_depth -= 1

    def _role(self, name: str) -> str | None:
        """The execution role records of the function's events are sent as (None: it is gone)."""
        assert self.functions is not None
        try:
            return self.functions.resolve(name).latest.role
        except ResourceNotFound:
            return None

    def function_exists(self, name: str) -> bool:
        assert self.functions is not None
        try:
            self.functions.resolve(name)
        except ResourceNotFound:
            return False
        return True

    # ------------------------------------------------------------- visibility
    def snapshot(self, function: str | None = None) -> dict[str, Any]:
        """The counters, for ``GET /kindling/async-events``; one function's alone when it is named."""
        if function is not None:
            return {"FunctionName": function, **self.counters.of(function)}
        return {**self.counters.summary(), "Quarantined": self.quarantined, "StoreError": self.store.failing}
