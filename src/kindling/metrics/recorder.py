"""The recording side, on the hot path: counters in memory, a dictionary update per invocation.

The invoker, the event queue and the log pump call it; nothing here touches the disk. Once a minute (or
when a reader needs the latest figures) ``drain()`` hands what was gathered to the writer (``flush.py``),
which expands it into CloudWatch's series (account-wide, ``FunctionName``, ``Resource``,
``ExecutedVersion``) and stores it. A leaf of the metrics part: it imports only the histogram and leaves.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..logs.platform import billed_ms
from ..models import FunctionVersion
from .histogram import Histogram

Dims = tuple[tuple[str, str], ...]
SeriesKey = tuple[str, str, Dims, str]  # namespace, metric name, dimensions (sorted), unit
LAMBDA = "AWS/Lambda"


class Agg:
    """What CloudWatch keeps of a series in one period: sum, sample count, min, max, and a histogram when
    percentiles are asked of it."""

    __slots__ = ("count", "hist", "max", "min", "sum")

    def __init__(self, hist: bool = False) -> None:
        self.sum = 0.0
        self.count = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.hist: Histogram | None = Histogram() if hist else None

    def add(self, value: float, count: float = 1.0) -> None:
        self.sum += value * count
        self.count += count
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        if self.hist is not None:
            self.hist.add(value, count)

    def add_stats(self, total: float, count: float, low: float, high: float) -> None:
        self.sum += total
        self.count += count
        self.min = min(self.min, low)
        self.max = max(self.max, high)

    def merge(self, other: Agg) -> None:
        self.add_stats(other.sum, other.count, other.min, other.max)
        if other.hist is not None:
            if self.hist is None:
                self.hist = Histogram()
            self.hist.merge(other.hist)


@dataclass
class _Invocations:
    """One (function, qualifier invoked, version run)'s invocations in the open minute."""

    count: int = 0
    errors: int = 0
    provisioned: int = 0  # served by a provisioned environment
    spillover: int = 0  # of a function with provisioned concurrency, served by an on-demand one
    duration: Agg = field(default_factory=lambda: Agg(hist=True))


@dataclass
class _Usage:
    """What one hour of a version's invocations bills: requests and billed milliseconds."""

    requests: int = 0
    billed_ms: int = 0
    duration_ms: float = 0.0


@dataclass
class Totals:
    """A function's figures since the server started, for Prometheus (added up as each minute closes)."""

    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    cold_starts: int = 0
    duration: Agg = field(default_factory=lambda: Agg(hist=True))


UsageKey = tuple[int, str, str, str, int, int]  # hour, function, version, architecture, memory MB, ephemeral MB


@dataclass
class Batch:
    """What ``drain`` hands the writer."""

    points: dict[tuple[int, SeriesKey], Agg]
    usage: dict[UsageKey, _Usage]


def qualifier_of(invoked_arn: str) -> str:
    """``…:function:name:qualifier`` -> ``qualifier``; "" for an unqualified ARN."""
    return invoked_arn.rsplit(":", 1)[1] if invoked_arn.count(":") == 7 else ""


class Recorder:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._minute = int(clock()) // 60 * 60
        self._invocations: dict[tuple[str, str, str], _Invocations] = {}
        self._throttles: dict[tuple[str, str], int] = {}
        self._running: dict[str, int] = {}
        self._peak: dict[str, int] = {}
        self._provisioned_running: dict[str, int] = {}
        self._provisioned_peak: dict[str, tuple[int, int]] = {}  # peak, allocated
        self._total = self._total_peak = 0
        self._unreserved = self._unreserved_peak = 0
        self._points: dict[tuple[int, SeriesKey], Agg] = {}  # closed minutes and custom metrics
        self._usage: dict[UsageKey, _Usage] = {}
        self.totals: dict[str, Totals] = {}
        self.owners: dict[str, tuple[str, str, float]] = {}  # env id -> (function, version, created): usage samples
        self.cold_starts: dict[str, int] = {}  # runtime -> count, for Prometheus
        self.init_ms: dict[str, Histogram] = {}
        self.iterator_ages: dict[str, tuple[str, float]] = {}  # mapping UUID -> (function, last IteratorAge ms)

    # ------------------------------------------------------------ invocations
    def _tick(self) -> None:
        minute = int(self.clock()) // 60 * 60
        if minute != self._minute:
            self._close_minute()
            self._minute = minute

    def started(self, function: str, reserved: bool) -> None:
        """An invocation holds concurrency (placed, before its environment is found or started)."""
        self._tick()
        running = self._running[function] = self._running.get(function, 0) + 1
        if running > self._peak.get(function, 0):
            self._peak[function] = running
        self._total += 1
        self._total_peak = max(self._total_peak, self._total)
        if not reserved:
            self._unreserved += 1
            self._unreserved_peak = max(self._unreserved_peak, self._unreserved)

    def on_provisioned(self, function: str, allocated: int) -> None:
        """The invocation just placed runs on one of ``allocated`` provisioned environments."""
        running = self._provisioned_running[function] = self._provisioned_running.get(function, 0) + 1
        peak, _ = self._provisioned_peak.get(function, (0, allocated))
        self._provisioned_peak[function] = (max(peak, running), allocated)

    def finished(
        self,
        version: FunctionVersion,
        invoked_arn: str,
        reserved: bool,
        duration_ms: float | None,
        init_ms: float | None = None,
        error: bool = False,
        provisioned: str = "",
    ) -> None:
        """An invocation ended (``duration_ms`` None: it never ran); ``provisioned`` is "" (no provisioned
        concurrency), "provisioned" or "spillover"."""
        self._tick()
        name = version.name
        self._running[name] -= 1
        self._total -= 1
        if not reserved:
            self._unreserved -= 1
        if provisioned == "provisioned":
            self._provisioned_running[name] -= 1
        if duration_ms is None:
            return
        key = (name, qualifier_of(invoked_arn), version.version)
        stats = self._invocations.get(key)
        if stats is None:
            stats = self._invocations[key] = _Invocations()
        stats.count += 1
        stats.errors += error
        stats.duration.add(duration_ms)
        if provisioned == "provisioned":
            stats.provisioned += 1
        elif provisioned:
            stats.spillover += 1
        hour = self._minute // 3600 * 3600
        usage_key = (hour, name, version.version, version.architectures[0], version.memory_size,
                     version.ephemeral_storage)  # fmt: skip
        usage = self._usage.get(usage_key)
        if usage is None:
            usage = self._usage[usage_key] = _Usage()
        usage.requests += 1
        usage.billed_ms += billed_ms(duration_ms, init_ms)
        usage.duration_ms += duration_ms

    def environment(self, env_id: str, version: FunctionVersion) -> None:
        """A new environment (or SnapStart template) of ``version``: its cgroup's use is the function's."""
        self.owners[env_id] = (version.name, version.version, time.monotonic())

    def cold_start(self, function: str, runtime: str, init_ms: float) -> None:
        self._totals(function).cold_starts += 1
        self.cold_starts[runtime] = self.cold_starts.get(runtime, 0) + 1
        self.init_ms.setdefault(runtime, Histogram()).add(init_ms)

    def throttled(self, function: str, invoked_arn: str) -> None:
        """A 429: counted where it is raised, before anything runs."""
        self._tick()
        key = (function, qualifier_of(invoked_arn))
        self._throttles[key] = self._throttles.get(key, 0) + 1

    # ---------------------------------------------------- any other metric
    def count(self, metric: str, function: str, value: float = 1.0, unit: str = "Count") -> None:
        """One sample of an AWS/Lambda metric of a function (the async queue's, the dead-letter errors…),
        under the account-wide and the ``FunctionName`` series."""
        for dims in ((), (("FunctionName", function),)):
            self.put(LAMBDA, metric, dims, unit, self.clock(), value)

    def post_runtime(self, function: str, duration_ms: float) -> None:
        """``PostRuntimeExtensionsDuration``: the extensions' work after the runtime answered."""
        self.count("PostRuntimeExtensionsDuration", function, duration_ms, "Milliseconds")

    def mapping_events(self, uuid: str, metric: str, events: int) -> None:
        """An event source mapping's event count (``PolledEventCount``…), under ``EventSourceMappingUUID``."""
        if events:
            self.put(LAMBDA, metric, (("EventSourceMappingUUID", uuid),), "Count", self.clock(), float(events))

    def iterator_age(self, function: str, uuid: str, age_ms: float) -> None:
        """A stream mapping's ``IteratorAge``: the last record's age as its batch goes to the function."""
        age_ms = max(0.0, age_ms)
        self.iterator_ages[uuid] = (function, age_ms)
        self.count("IteratorAge", function, age_ms, "Milliseconds")
        self.put(LAMBDA, "IteratorAge", (("EventSourceMappingUUID", uuid),), "Milliseconds", self.clock(), age_ms)

    def put(
        self,
        namespace: str,
        name: str,
        dims: Dims,
        unit: str,
        timestamp: float,
        value: float | None = None,
        stats: tuple[float, float, float, float] | None = None,
        count: float = 1.0,
    ) -> None:
        """A sample (``value`` seen ``count`` times) or a statistic set (sum, count, min, max)."""
        key = (int(timestamp) // 60 * 60, (namespace, name, tuple(sorted(dims)), unit or "None"))
        agg = self._points.get(key)
        if agg is None:
            agg = self._points[key] = Agg(hist=True)
        if stats is not None:
            agg.add_stats(*stats)
        elif value is not None:
            agg.add(value, count)

    # ----------------------------------------------------------- draining
    def _point(self, minute: int, name: str, dims: Dims, unit: str) -> Agg:
        key = (minute, (LAMBDA, name, dims, unit))
        agg = self._points.get(key)
        if agg is None:
            agg = self._points[key] = Agg(hist=name == "Duration")
        return agg

    def _close_minute(self) -> None:
        """Expand the open minute's counters into CloudWatch series, and start the next minute."""
        minute = self._minute
        for (name, qualifier, executed), stats in self._invocations.items():
            totals = self._totals(name)
            totals.invocations += stats.count
            totals.errors += stats.errors
            totals.duration.merge(stats.duration)
            for dims in _dimension_sets(name, qualifier, executed):
                self._point(minute, "Invocations", dims, "Count").add(1.0, stats.count)
                errors = self._point(minute, "Errors", dims, "Count")
                errors.add(1.0, stats.errors)
                errors.add(0.0, stats.count - stats.errors)
                if stats.errors == 0 or stats.errors == stats.count:
                    errors.min = errors.max = 1.0 if stats.errors else 0.0
                self._point(minute, "Duration", dims, "Milliseconds").merge(stats.duration)
                if stats.provisioned:
                    self._point(minute, "ProvisionedConcurrencyInvocations", dims, "Count").add(1.0, stats.provisioned)
                if stats.spillover:
                    self._point(minute, "ProvisionedConcurrencySpilloverInvocations", dims, "Count").add(
                        1.0, stats.spillover
                    )
        for (name, qualifier), throttles in self._throttles.items():
            self._totals(name).throttles += throttles
            for dims in _dimension_sets(name, qualifier, ""):
                self._point(minute, "Throttles", dims, "Count").add(1.0, throttles)
        for name, peak in self._peak.items():
            self._point(minute, "ConcurrentExecutions", (("FunctionName", name),), "Count").add(float(peak))
        if self._peak:
            self._point(minute, "ConcurrentExecutions", (), "Count").add(float(self._total_peak))
            self._point(minute, "UnreservedConcurrentExecutions", (), "Count").add(float(self._unreserved_peak))
            self._point(minute, "ClaimedAccountConcurrency", (), "Count").add(float(self._total_peak))
        for name, (peak, allocated) in self._provisioned_peak.items():
            dims = (("FunctionName", name),)
            self._point(minute, "ProvisionedConcurrentExecutions", dims, "Count").add(float(peak))
            utilization = peak / allocated if allocated else 0.0
            self._point(minute, "ProvisionedConcurrencyUtilization", dims, "None").add(utilization)
        self._invocations = {}
        self._throttles = {}
        # the next minute's peaks start from what is running now
        self._peak = {name: running for name, running in self._running.items() if running > 0}
        self._running = dict(self._peak)
        self._total_peak = self._total
        self._unreserved_peak = self._unreserved
        self._provisioned_peak = {
            name: (running, self._provisioned_peak[name][1])
            for name, running in self._provisioned_running.items()
            if running > 0 and name in self._provisioned_peak
        }

    def _totals(self, function: str) -> Totals:
        totals = self.totals.get(function)
        if totals is None:
            totals = self.totals[function] = Totals()
        return totals

    def running(self) -> dict[str, int]:
        """Invocations running now, per function."""
        return {name: count for name, count in self._running.items() if count > 0}

    def drain(self) -> Batch:
        """Everything gathered so far (the open minute too: the store adds it up with what comes later)."""
        self._close_minute()
        batch = Batch(self._points, self._usage)
        self._points, self._usage = {}, {}
        return batch


def _dimension_sets(function: str, qualifier: str, executed: str) -> list[Dims]:
    """The series one invocation counts in, as CloudWatch shows Lambda's metrics."""
    sets: list[Dims] = [(), (("FunctionName", function),)]
    if qualifier:
        resource = (("FunctionName", function), ("Resource", f"{function}:{qualifier}"))
        sets.append(resource)
        if executed:
            sets.append(tuple(sorted((*resource, ("ExecutedVersion", executed)))))
    return sets
