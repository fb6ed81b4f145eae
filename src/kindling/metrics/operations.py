"""CloudWatch's metric operations: GetMetricStatistics, GetMetricData (with metric math), ListMetrics and
PutMetricData, on plain dicts (the wire protocol is ``cloudwatch.py``'s)."""

from __future__ import annotations

import time
from typing import Any

from ..errors import ServiceFault
from .cbor import Timestamp
from .math import Evaluator, Series
from .recorder import Dims, Recorder
from .series import BASIC, PERCENTILE, Metrics, statistic

MAX_DATAPOINTS = 1440
LIST_PAGE = 500
TWO_WEEKS = 14 * 86400


def bad(message: str, code: str = "InvalidParameterValue") -> ServiceFault:
    return ServiceFault(code, message)


def _time(params: dict[str, Any], key: str) -> float:
    value = params.get(key)
    if value is None:
        raise bad(f"The parameter {key} is required.", "MissingParameter")
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise bad(f"The parameter {key} must be a timestamp.") from None


def _dims(raw: Any) -> Dims:
    if not isinstance(raw or [], list):
        raise bad("Dimensions must be a list")
    dims = []
    for item in raw or []:
        if not isinstance(item, dict) or not item.get("Name") or item.get("Value") is None:
            raise bad("Each dimension needs a Name and a Value")
        dims.append((str(item["Name"]), str(item["Value"])))
    if len(dims) > 30:
        raise bad("A metric has at most 30 dimensions")
    return tuple(sorted(dims))


def _period(value: Any) -> int:
    if (
        not isinstance(value, int)
        or value < 1
        or (value >= 60 and value % 60)
        or (value < 60 and value not in (1, 5, 10, 30))
    ):
        raise bad("The parameter Period must be 1, 5, 10, 30 or a multiple of 60.")
    return value


class MetricOperations:
    def __init__(self, metrics: Metrics, recorder: Recorder) -> None:
        self.metrics = metrics
        self.recorder = recorder

    def get_metric_statistics(self, params: dict[str, Any]) -> dict[str, Any]:
        namespace, name = params.get("Namespace"), params.get("MetricName")
        if not namespace or not name:
            raise bad("The parameters Namespace and MetricName are required.", "MissingParameter")
        start, end = _time(params, "StartTime"), _time(params, "EndTime")
        period = _period(params.get("Period"))
        stats = params.get("Statistics") or []
        extended = params.get("ExtendedStatistics") or []
        if not stats and not extended:
            raise bad("Must specify either Statistics or ExtendedStatistics", "InvalidParameterCombination")
        for stat in stats:
            if stat not in BASIC:
                raise bad(f"The statistic {stat} is not valid.")
        for stat in extended:
            if not PERCENTILE.match(stat):
                raise bad(f"The extended statistic {stat} is not valid.")
        if end <= start:
            raise bad("The parameter StartTime must be less than the parameter EndTime.")
        if (end - start) / period > MAX_DATAPOINTS:
            count = int((end - start) / period)
            raise bad(f"You have requested up to {count} datapoints, which exceeds the limit of {MAX_DATAPOINTS}.",
                      "InvalidParameterCombination")  # fmt: skip
        unit = params.get("Unit")
        series = self.metrics.find_series(namespace, name, _dims(params.get("Dimensions")), unit)
        periods = self.metrics.periods(series, start, end, period) if series else {}
        shown_unit = unit or (self.metrics.unit_of(series) if series else "None")
        datapoints = []
        for ts, agg in sorted(periods.items()):
            point: dict[str, Any] = {"Timestamp": Timestamp(ts), "Unit": shown_unit}
            for stat in stats:
                point[stat] = statistic(agg, stat)
            if extended:
                point["ExtendedStatistics"] = {
                    stat: value for stat in extended if (value := statistic(agg, stat)) is not None
                }
            datapoints.append(point)
        return {"Label": name, "Datapoints": datapoints}

    def get_metric_data(self, params: dict[str, Any]) -> dict[str, Any]:
        queries = params.get("MetricDataQueries") or []
        if not queries or len(queries) > 500:
            raise bad("MetricDataQueries must have between 1 and 500 queries.")
        start, end = _time(params, "StartTime"), _time(params, "EndTime")
        if end <= start:
            raise bad("The parameter StartTime must be less than the parameter EndTime.")
        results: dict[str, Series] = {}
        labels: dict[str, str] = {}
        grid_period = 0
        for query in queries:
            qid = query.get("Id") or ""
            if not qid[:1].islower():
                raise bad(
                    f"Invalid metric data query id '{qid}': it must start with a lowercase letter.", "ValidationError"
                )
            stat = query.get("MetricStat")
            if stat is None:
                continue
            metric = stat.get("Metric") or {}
            period = _period(stat.get("Period"))
            grid_period = grid_period or period
            if not (stat.get("Stat") in BASIC or PERCENTILE.match(stat.get("Stat") or "")):
                raise bad(f"The statistic {stat.get('Stat')} is not valid.")
            series = self.metrics.find_series(
                metric.get("Namespace") or "", metric.get("MetricName") or "", _dims(metric.get("Dimensions")),
                stat.get("Unit"),
            )  # fmt: skip
            periods = self.metrics.periods(series, start, end, period) if series else {}
            values = {ts: statistic(agg, stat["Stat"]) for ts, agg in periods.items()}
            results[qid] = {ts: value for ts, value in values.items() if value is not None}
            labels[qid] = query.get("Label") or metric.get("MetricName") or qid
        grid_period = grid_period or int(queries[0].get("Period") or 60)
        grid = list(range(int(start) // grid_period * grid_period, int(end), grid_period))
        evaluator = Evaluator(results, [ts for ts in grid if ts >= start - grid_period + 1])
        for query in queries:
            expression = query.get("Expression")
            if expression and query.get("MetricStat"):
                raise bad("A query has either a MetricStat or an Expression.", "ValidationError")
            if expression:
                results[query["Id"]] = evaluator.evaluate(expression)
                labels[query["Id"]] = query.get("Label") or query["Id"]
        descending = params.get("ScanBy", "TimestampDescending") == "TimestampDescending"
        out = []
        for query in queries:
            if query.get("ReturnData", True) is False:
                continue
            points = sorted(results.get(query["Id"], {}).items(), reverse=descending)
            out.append(
                {
                    "Id": query["Id"],
                    "Label": labels.get(query["Id"], query["Id"]),
                    "Timestamps": [Timestamp(ts) for ts, _ in points],
                    "Values": [value for _, value in points],
                    "StatusCode": "Complete",
                }
            )
        return {"MetricDataResults": out, "Messages": []}

    def list_metrics(self, params: dict[str, Any]) -> dict[str, Any]:
        filters = params.get("Dimensions") or []
        since = time.time() - (3 * 3600 if params.get("RecentlyActive") == "PT3H" else TWO_WEEKS)
        found = []
        for namespace, name, dims in self.metrics.list_metrics(
            params.get("Namespace"), params.get("MetricName"), int(since)
        ):
            present = dict(dims)
            if all(f.get("Name") in present and f.get("Value") in (None, present[f["Name"]]) for f in filters):
                found.append(
                    {
                        "Namespace": namespace,
                        "MetricName": name,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
                    }
                )
        token = params.get("NextToken")
        offset = int(token) if token and str(token).isdigit() else 0
        if token and not str(token).isdigit():
            raise bad("The NextToken is not valid.", "InvalidNextToken")
        reply: dict[str, Any] = {"Metrics": found[offset : offset + LIST_PAGE]}
        if offset + LIST_PAGE < len(found):
            reply["NextToken"] = str(offset + LIST_PAGE)
        return reply

    def put_metric_data(self, params: dict[str, Any]) -> dict[str, Any]:
        namespace = params.get("Namespace") or ""
        if not namespace:
            raise bad("The parameter Namespace is required.", "MissingParameter")
        if namespace.startswith("AWS/"):
            raise bad(f"The value {namespace} for parameter Namespace is invalid.")
        data = params.get("MetricData") or []
        if not data or len(data) > 1000:
            raise bad("The parameter MetricData must have between 1 and 1000 items.")
        now = time.time()
        checked = []
        for item in data:
            name = item.get("MetricName")
            if not name:
                raise bad("The parameter MetricData.member.MetricName is required.", "MissingParameter")
            given = [key for key in ("Value", "StatisticValues", "Values") if item.get(key) is not None]
            if len(given) > 1:
                raise bad("Only one of Value, StatisticValues and Values may be given.", "InvalidParameterCombination")
            when = float(item.get("Timestamp") or now)
            if when < now - TWO_WEEKS or when > now + 7200:
                raise bad("The timestamp must be within the last two weeks and no more than two hours ahead.")
            values, counts = item.get("Values") or [], item.get("Counts") or [1.0] * len(item.get("Values") or [])
            if len(counts) != len(values):
                raise bad("Values and Counts must have the same length.", "InvalidParameterCombination")
            statistics = item.get("StatisticValues")
            try:
                samples: list[tuple[float | None, tuple[float, float, float, float] | None, float]]
                if statistics:
                    keys = ("Sum", "SampleCount", "Minimum", "Maximum")
                    sum_, count_, low, high = (float(statistics[key]) for key in keys)
                    samples = [(None, (sum_, count_, low, high), 1.0)]
                elif values:
                    samples = [(float(v), None, float(c)) for v, c in zip(values, counts, strict=True)]
                else:
                    samples = [(float(item.get("Value") or 0.0), None, 1.0)]
            except (TypeError, ValueError, KeyError):
                raise bad(f"The values of metric {name} must be numbers (StatisticValues: all four).") from None
            checked.append((name, _dims(item.get("Dimensions")), item.get("Unit") or "None", when, samples))
        for name, dims, unit, when, samples in checked:  # nothing is recorded from a rejected request
            for value, stats, count in samples:
                self.recorder.put(namespace, name, dims, unit, when, value, stats=stats, count=count)
        return {}
