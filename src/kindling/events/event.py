"""An accepted event as the queue holds it, and the records still to send once its outcome is known."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PAYLOAD_IN_MEMORY_MAX = 65_536  # bigger events wait on disk and are read back for each attempt


@dataclass
class Delivery:
    """One record still to send once the outcome of an event is known."""

    condition: str  # OnSuccess, OnFailure or DeadLetter
    arn: str
    body: str
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)  # SQS message attributes (DLQ)

    def to_json(self) -> dict[str, Any]:
        return {"condition": self.condition, "arn": self.arn, "body": self.body, "attributes": self.attributes}

    @classmethod
    def from_json(cls, item: Any) -> Delivery:
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("condition", "arn", "body")):
            raise ValueError(f"bad delivery {item!r}")
        return cls(item["condition"], item["arn"], item["body"], dict(item.get("attributes") or {}))


@dataclass
class QueuedEvent:
    request_id: str
    function: str
    invoked_arn: str
    payload: bytes | None  # None: too big to keep in memory while it waits, read back by the attempt
    received: float  # epoch seconds when accepted: the event's age counts from here
    due: float  # epoch seconds before which it must not start again
    client_context: str | None = None
    trace_id: str = ""
    attempts: int = 0  # invocations that ended with an outcome (approximateInvokeCount)
    backoffs: int = 0  # throttles and platform errors in a row (drive the exponential backoff)
    leased: bool = False  # an attempt was under way: found so after a crash, it runs again (a duplicate)
    deliveries: list[Delivery] | None = None  # None: still to run; a list: decided, records left to send
    id: int = 0

    def shed_payload(self) -> None:
        """While it waits, a big payload stays on disk only: a flood of large events cannot exhaust memory."""
        if self.payload is not None and len(self.payload) > PAYLOAD_IN_MEMORY_MAX:
            self.payload = None

    def body(self) -> bytes:
        assert self.payload is not None, "the payload is read back before the attempt"
        return self.payload

    def row(self) -> tuple[Any, ...]:
        deliveries = None if self.deliveries is None else json.dumps([d.to_json() for d in self.deliveries])
        return (
            self.request_id,
            self.function,
            self.invoked_arn,
            self.payload,
            self.client_context,
            self.trace_id,
            self.received,
            self.due,
            self.attempts,
            self.backoffs,
            int(self.leased),
            deliveries,
        )


def decode(row: tuple[Any, ...]) -> QueuedEvent:
    """A stored row back into an event, checked field by field: a damaged row must not run."""
    (ident, request_id, function, arn, payload, context, trace, received, due, attempts, backoffs, leased, deliv) = row
    for name, value, kind in (
        ("request_id", request_id, str),
        ("function", function, str),
        ("invoked_arn", arn, str),
        ("trace_id", trace, str),
        ("attempts", attempts, int),
        ("backoffs", backoffs, int),
        ("leased", leased, int),
    ):
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ValueError(f"{name} is {type(value).__name__}, not {kind.__name__}")
    if not function or attempts < 0 or backoffs < 0 or leased not in (0, 1):
        raise ValueError("function, attempts, backoffs or leased out of range")
    if not all(isinstance(v, int | float) for v in (received, due)):
        raise ValueError("received or due is not a time")
    if context is not None and not isinstance(context, str):
        raise ValueError("client_context is not text")
    if payload is not None and not isinstance(payload, bytes):
        raise ValueError(f"payload is {type(payload).__name__}, not bytes")
    if payload:
        json.loads(payload)
    deliveries = None
    if deliv is not None:
        items = json.loads(deliv)
        if not isinstance(items, list):
            raise ValueError("deliveries is not a list")
        deliveries = [Delivery.from_json(item) for item in items]
    return QueuedEvent(
        request_id, function, arn, payload, float(received), float(due), context, trace,
        attempts, backoffs, bool(leased), deliveries, ident,
    )  # fmt: skip
