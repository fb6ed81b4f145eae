"""Per-function counters of the queue since the server started, for the API and the metrics to come."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

AGE_SAMPLES = 10_000


def percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return 0.0
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class FunctionCounters:
    received: int = 0  # events accepted (Invoke Event, InvokeAsync, Lambda destinations)
    attempts: int = 0  # invocations started
    succeeded: int = 0
    function_errors: int = 0  # attempts that ended in a function error (handler error, timeout, crash)
    throttles: int = 0  # attempts refused for concurrency, retried with backoff
    platform_errors: int = 0  # attempts that failed before the function ran, retried with backoff
    redelivered: int = 0  # events whose attempt a crash interrupted, run again: possible duplicates
    queue_depth: int = 0  # events stored and not finished (waiting, running, or records left to send)
    in_flight: int = 0
    dropped: Counter[str] = field(default_factory=Counter)  # failure path, by condition
    delivered: Counter[str] = field(default_factory=Counter)  # OnSuccess, OnFailure, DeadLetter
    delivery_failures: Counter[str] = field(default_factory=Counter)
    ages_ms: deque[float] = field(default_factory=lambda: deque(maxlen=AGE_SAMPLES))  # accept -> attempt start
    max_age_ms: float = 0.0

    def started(self, age_s: float) -> None:
        self.attempts += 1
        age_ms = age_s * 1000
        self.ages_ms.append(age_ms)
        self.max_age_ms = max(self.max_age_ms, age_ms)

    def to_json(self) -> dict[str, Any]:
        ordered = sorted(self.ages_ms)
        return {
            "EventsReceived": self.received,
            "Attempts": self.attempts,
            "Succeeded": self.succeeded,
            "FunctionErrors": self.function_errors,
            "Throttles": self.throttles,
            "PlatformErrors": self.platform_errors,
            "Redelivered": self.redelivered,
            "QueueDepth": self.queue_depth,
            "InFlight": self.in_flight,
            "Dropped": dict(self.dropped),
            "Delivered": dict(self.delivered),
            "DeliveryFailures": dict(self.delivery_failures),
            "EventAgeAtStartMs": {
                "Samples": len(ordered),
                "P50": round(percentile(ordered, 50), 3),
                "P99": round(percentile(ordered, 99), 3),
                "Max": round(self.max_age_ms, 3),
            },
        }


class Counters:
    def __init__(self) -> None:
        self._functions: dict[str, FunctionCounters] = {}

    def __getitem__(self, function: str) -> FunctionCounters:
        counters = self._functions.get(function)
        if counters is None:
            counters = self._functions[function] = FunctionCounters()
        return counters

    def of(self, function: str) -> dict[str, Any]:
        """One function's counters (zeros for a function the queue has not seen)."""
        return (self._functions.get(function) or FunctionCounters()).to_json()

    def summary(self) -> dict[str, Any]:
        functions = {name: counters.to_json() for name, counters in sorted(self._functions.items())}
        return {
            "Functions": functions,
            "QueueDepth": sum(c.queue_depth for c in self._functions.values()),
            "InFlight": sum(c.in_flight for c in self._functions.values()),
        }
