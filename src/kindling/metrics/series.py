"""Between the recorder and the store: the flush that writes what was recorded, and the reads that turn
stored points into CloudWatch statistics per period (``Sum``, ``Average``, ``p99``…)."""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any

from ..store.metrics import MetricStore, Row
from .histogram import Histogram
from .recorder import Agg, Batch, Dims, Recorder

log = logging.getLogger("kindling.metrics")
PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")
BASIC = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")


def to_row(agg: Agg) -> Row:
    hist = json.dumps(agg.hist.to_pairs()) if agg.hist is not None and agg.hist.counts else None
    return agg.sum, agg.count, agg.min, agg.max, hist


def from_row(row: Any) -> Agg:
    total, count, low, high, hist = row
    agg = Agg()
    agg.add_stats(total, count, low, high)
    if hist:
        agg.hist = Histogram.from_pairs(json.loads(hist))
    return agg


def merge_rows(old: Row, new: Row) -> Row:
    agg = from_row(old)
    agg.merge(from_row(new))
    return to_row(agg)


def statistic(agg: Agg, stat: str) -> float | None:
    """One statistic of a period's aggregate; None when it cannot be given (a percentile with no histogram)."""
    if stat == "SampleCount":
        return agg.count
    if stat == "Sum":
        return agg.sum
    if stat == "Average":
        return agg.sum / agg.count if agg.count else 0.0
    if stat == "Minimum":
        return agg.min
    if stat == "Maximum":
        return agg.max
    match = PERCENTILE.match(stat)
    if match and agg.hist is not None:
        return agg.hist.percentile(float(match.group(1)), agg.min, agg.max)
    return None


def dims_json(dims: Dims) -> str:
    return json.dumps(sorted([list(pair) for pair in dims]))


class Metrics:
    """The recorder's figures, once written, as CloudWatch serves them."""

    def __init__(self, store: MetricStore, recorder: Recorder) -> None:
        self.store = store
        self.recorder = recorder
        self._last_roll_up = 0.0
        self.write_seconds = 0.0  # how long the last flush took to write (SQLite latency, for Prometheus)

    def flush(self, batch: Batch | None = None) -> None:
        """Write a drained batch (from the event loop: drain there, then write here, in a thread)."""
        batch = batch if batch is not None else self.recorder.drain()
        began = time.perf_counter()
        points = [
            (namespace, name, dims_json(dims), unit, minute, to_row(agg))
            for (minute, (namespace, name, dims, unit)), agg in batch.points.items()
            if agg.count > 0
        ]
        if points:
            self.store.add_points(points, merge_rows)
        if batch.usage:
            self.store.add_usage(
                (key, (usage.requests, usage.billed_ms, usage.duration_ms)) for key, usage in batch.usage.items()
            )
        self.write_seconds = time.perf_counter() - began
        now = time.time()
        if now - self._last_roll_up > 3600:
            self._last_roll_up = now
            self.store.roll_up(now, merge_rows)

    def find_series(self, namespace: str, name: str, dims: Dims, unit: str | None = None) -> list[int]:
        wanted = dims_json(dims)
        return [
            row[0] for row in self.store.series(namespace, name) if row[3] == wanted and (not unit or row[4] == unit)
        ]

    def unit_of(self, series: list[int]) -> str:
        units = {row[4] for row in self.store.series() if row[0] in series}
        return units.pop() if len(units) == 1 else "None"

    def periods(self, series: list[int], start: float, end: float, period: int) -> dict[int, Agg]:
        """The series' points in [start, end), added up per ``period`` (aligned on multiples of it)."""
        grouped: dict[int, Agg] = {}
        for _series, _resolution, ts, *row in self.store.points(series, int(start) // 60 * 60, int(end)):
            if ts < start - 59:
                continue
            at = ts // period * period
            agg = grouped.get(at)
            if agg is None:
                grouped[at] = from_row(tuple(row))
            else:
                agg.merge(from_row(tuple(row)))
        return grouped

    def list_metrics(self, namespace: str | None, name: str | None, since: int) -> list[tuple[str, str, Dims]]:
        return [
            (row[1], row[2], tuple((k, v) for k, v in json.loads(row[3])))
            for row in self.store.series(namespace, name, since)
        ]
