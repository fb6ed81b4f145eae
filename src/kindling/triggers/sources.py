"""What every event source poller shares: a runner for boto3's blocking calls, the mapping's filters, the
reading of a ReportBatchItemFailures response, and the synchronous invocation of the mapped function."""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ..functions.event_sources import Mapping
from ..ids import request_id
from ..models import InvokeRequest, InvokeResult
from ..patterns import Pattern, compiled

log = logging.getLogger("kindling.pollers")
T = TypeVar("T")
if TYPE_CHECKING:
    from .pollers import Pollers
ENDPOINT_SERVICE = {"sqs": "sqs", "kinesis": "kinesis", "dynamodb": "dynamodbstreams"}


class Blocking:
    """Runs blocking calls (boto3) on daemon threads, one more whenever all are busy: a long poll holds a
    thread for up to 20 s, and a thread left in one must not keep the process alive at exit."""

    def __init__(self) -> None:
        self._work: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    async def __call__(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            if self._idle == 0:
                threading.Thread(target=self._serve, name="poller-io", daemon=True).start()
            else:
                self._idle -= 1
        self._work.put((loop, future, call, args, kwargs))
        return await future

    def _serve(self) -> None:
        while True:
            loop, future, call, args, kwargs = self._work.get()
            try:
                outcome, failed = call(*args, **kwargs), False
            except BaseException as error:  # handed to the awaiting task
                outcome, failed = error, True
            loop.call_soon_threadsafe(_settle, future, outcome, failed)
            with self._lock:
                self._idle += 1


def _settle(future: asyncio.Future[Any], outcome: Any, failed: bool) -> None:
    if future.cancelled():
        return
    if failed:
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


def region_of(arn: str) -> str:
    return arn.split(":")[3]


def filters(mapping: Mapping) -> list[Pattern]:
    return [compiled(item.get("Pattern", "")) for item in mapping.settings.get("FilterCriteria", {}).get("Filters", [])]


def kept(patterns: list[Pattern], record: dict[str, Any]) -> bool:
    """Whether a record passes the mapping's FilterCriteria (any filter matches; no filter keeps all)."""
    return not patterns or any(pattern.matches(record) for pattern in patterns)


def item_failures(result: InvokeResult, identifiers: list[str]) -> list[str] | None:
    """The ``batchItemFailures`` a function reported, in batch order; ``None`` when the report is invalid
    and the whole batch counts as failed, as AWS documents for ReportBatchItemFailures."""
    try:
        response = json.loads(result.payload) if result.payload else None
    except ValueError:
        return None
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return []
    failures = response["batchItemFailures"]
    if not isinstance(failures, list):
        return None
    reported = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in identifiers:
            return None
        reported.add(identifier)
    return [identifier for identifier in identifiers if identifier in reported]


def problem(kind: str, error: Exception) -> str:
    """LastProcessingResult for a source the mapping cannot read: Lambda's words when the role may not."""
    code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
    if code in ("AccessDenied", "AccessDeniedException") and kind == "sqs":
        action = getattr(error, "operation_name", "ReceiveMessage")
        return f"PROBLEM: The provided execution role does not have permissions to call {action} on SQS"
    return f"PROBLEM: {error}"


class EventSourcePoller(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Source:
    """What every poller shares: the mapping, the source's client, the blocking runner, the invocation."""

    def __init__(self, mapping: Mapping, pollers: Pollers) -> None:
        self.mapping = mapping
        self.uuid = mapping.uuid
        self.settings = dict(mapping.settings)
        self.pollers = pollers
        self.blocking = pollers.blocking
        self.patterns = filters(mapping)
        self.client: Any = None
        self.failing = False  # the last call to the source failed (LastProcessingResult says why)
        # AWS publishes a mapping's event counts only when its MetricsConfig asks for them
        self.event_counts = "EventCount" in (self.settings.get("MetricsConfig") or {}).get("Metrics", [])

    def count(self, metric: str, events: int) -> None:
        """``PolledEventCount``, ``FilteredOutEventCount``, ``DeletedEventCount``… of this mapping."""
        if self.event_counts and self.pollers.metrics is not None:
            self.pollers.metrics.mapping_events(self.uuid, metric, events)

    def iterator_age(self, arrival: float) -> None:
        """A stream's ``IteratorAge``: how long the batch's last record waited, as the batch is sent."""
        if self.pollers.metrics is not None:
            name = self.mapping.function_arn.split(":")[6]
            self.pollers.metrics.iterator_age(name, self.uuid, (time.time() - arrival) * 1000)

    async def connect(self) -> None:
        service = ENDPOINT_SERVICE[self.mapping.kind]
        region = region_of(self.mapping.source_arn)
        self.client = await self.blocking(self.pollers.client, service, region, self.role)

    def failed(self, error: Exception) -> None:
        """The source refused or could not be reached: the mapping says so until a call succeeds again."""
        self.failing = True
        self.pollers.mappings.processed(self.uuid, problem(self.mapping.kind, error))

    def reached(self, result: str = "OK") -> None:
        if self.failing:
            self.failing = False
            self.pollers.mappings.processed(self.uuid, result)

    async def invoke(self, records: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> InvokeResult:
        """One synchronous invocation with ``{"Records": records}`` (and a tumbling window's fields)."""
        invocations = self.pollers.invocations
        record, code_dir, invoked = invocations.target(self.mapping.function_arn, None)
        payload = json.dumps({"Records": records, **(extra or {})}, default=str).encode()
        self.count("InvokedEventCount", len(records))
        try:
            result = await invocations.invoke(
                record, code_dir, InvokeRequest(payload, invoked, request_id=request_id())
            )
        except Exception:
            self.count("FailedInvokeEventCount", len(records))
            raise
        if result.function_error:
            self.count("FailedInvokeEventCount", len(records))
        return result

    @property
    def role(self) -> str:
        record, _, _ = self.pollers.invocations.target(self.mapping.function_arn, None)
        return record.role
