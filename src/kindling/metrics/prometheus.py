"""``GET /metrics``: the same per-function figures in Prometheus' text format (``prometheus_client``), and the
platform's internals the composition root reports (environments by state, zygote spares, the async queue).

Read on demand: a scrape drains the recorder first (as a CloudWatch read does), then builds the families
from the running totals, so nothing is counted twice and the hot path stays a dictionary update.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ..web import Reply, send_reply
from .cloudwatch import CloudWatchService
from .histogram import Histogram, middle
from .recorder import Recorder

BUCKETS_MS = (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 900000)
Internals = Callable[[], dict[str, Any]]  # {"environments": {state: n}, "spares": n, "queue": {function: {...}}}


def histogram_buckets(hist: Histogram) -> list[tuple[str, float]]:
    """Cumulative Prometheus buckets from a log-linear histogram (each count placed at its bucket's middle)."""
    buckets = []
    for bound in BUCKETS_MS:
        buckets.append((str(float(bound)), sum(c for index, c in hist.counts.items() if middle(index) <= bound)))
    buckets.append(("+Inf", sum(hist.counts.values())))
    return buckets


class _Collector:
    def __init__(self, recorder: Recorder, internals: Internals, write_seconds: Callable[[], float]) -> None:
        self.recorder = recorder
        self.internals = internals
        self.write_seconds = write_seconds

    def collect(self) -> Iterator[Metric]:
        recorder = self.recorder
        invocations = CounterMetricFamily("kindling_invocations", "Invocations that ran", labels=["function"])
        errors = CounterMetricFamily(
            "kindling_errors", "Invocations that ended in a function error", labels=["function"]
        )
        throttles = CounterMetricFamily("kindling_throttles", "Invocations refused with 429", labels=["function"])
        duration = HistogramMetricFamily(
            "kindling_duration_milliseconds", "Duration as REPORT gives it", labels=["function"]
        )
        for name, totals in sorted(recorder.totals.items()):
            invocations.add_metric([name], totals.invocations)
            errors.add_metric([name], totals.errors)
            throttles.add_metric([name], totals.throttles)
            if totals.duration.hist is not None and totals.duration.count:
                duration.add_metric([name], histogram_buckets(totals.duration.hist), totals.duration.sum)
        yield from (invocations, errors, throttles, duration)
        running = GaugeMetricFamily("kindling_concurrent_executions", "Invocations running now", labels=["function"])
        for name, count in sorted(recorder.running().items()):
            running.add_metric([name], count)
        yield running
        cold = CounterMetricFamily("kindling_cold_starts", "Environments started for an invocation", labels=["runtime"])
        init = HistogramMetricFamily(
            "kindling_init_duration_milliseconds", "Init Duration of cold starts", labels=["runtime"]
        )
        per_function = CounterMetricFamily(
            "kindling_function_cold_starts", "Cold starts of each function", labels=["function"]
        )
        for name, totals in sorted(recorder.totals.items()):
            per_function.add_metric([name], totals.cold_starts)
        yield per_function
        for runtime, count in sorted(recorder.cold_starts.items()):
            cold.add_metric([runtime], count)
            hist = recorder.init_ms[runtime]
            init.add_metric([runtime], histogram_buckets(hist), sum(middle(i) * c for i, c in hist.counts.items()))
        yield from (cold, init)
        lag = GaugeMetricFamily(
            "kindling_event_source_mapping_iterator_age_milliseconds",
            "A stream mapping's lag: its last batch's last record's age when sent",
            labels=["mapping", "function"],
        )
        for mapping, (function, age_ms) in sorted(recorder.iterator_ages.items()):
            lag.add_metric([mapping, function], age_ms)
        yield lag
        yield from self._internals()

    def _internals(self) -> Iterator[Metric]:
        internals = self.internals()
        environments = GaugeMetricFamily("kindling_environments", "Execution environments by state", labels=["state"])
        for state, count in sorted(internals.get("environments", {}).items()):
            environments.add_metric([state], count)
        yield environments
        yield GaugeMetricFamily(
            "kindling_zygote_spares", "Spare sandboxes parked for cold starts", value=internals.get("spares", 0)
        )
        depth = GaugeMetricFamily(
            "kindling_async_queue_depth", "Async events stored and not finished", labels=["function"]
        )
        age = GaugeMetricFamily(
            "kindling_async_event_age_max_milliseconds", "Oldest age of an event at its attempt", labels=["function"]
        )
        for name, queue in sorted(internals.get("queue", {}).items()):
            depth.add_metric([name], queue["depth"])
            age.add_metric([name], queue["max_age_ms"])
        yield from (depth, age)
        yield GaugeMetricFamily(
            "kindling_metrics_write_seconds",
            "How long the last metrics flush took to write",
            value=self.write_seconds(),
        )


class PrometheusService:
    def __init__(self, cloudwatch: CloudWatchService) -> None:
        self.cloudwatch = cloudwatch
        self.internals: Internals = dict  # the composition root's report on environments, spares and the queue
        self.registry = CollectorRegistry(auto_describe=False)
        metrics = cloudwatch.metrics
        collector = _Collector(metrics.recorder, lambda: self.internals(), lambda: metrics.write_seconds)
        self.registry.register(collector)

    def claims(self, scope: dict) -> bool:
        return scope["method"] == "GET" and scope["path"] == "/metrics"

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        await self.cloudwatch.flush()
        reply = Reply(200, generate_latest(self.registry), content_type=CONTENT_TYPE_LATEST.encode())
        await send_reply(send, reply, str(uuid.uuid4()))
