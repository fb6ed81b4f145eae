"""``kindling metrics NAME``, ``kindling top``, ``kindling alarms`` and ``kindling cost``: the metrics part seen
from a terminal, through the server's CloudWatch API, ``/metrics`` and ``/kindling/cost``."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import click
from rich.live import Live
from rich.table import Table

from .common import Clients, CliError, client_command, kindling_request, out

BARS = "▁▂▃▄▅▆▇█"
CHARTS = (  # (label, metric, statistic)
    ("invocations", "Invocations", "Sum"),
    ("errors", "Errors", "Sum"),
    ("throttles", "Throttles", "Sum"),
    ("duration p50 ms", "Duration", "p50"),
    ("duration p99 ms", "Duration", "p99"),
    ("concurrency max", "ConcurrentExecutions", "Maximum"),
)


def sparkline(values: list[float | None]) -> str:
    """One character per minute, scaled to the largest value; a space where there was no data."""
    top = max((v for v in values if v is not None), default=0.0)
    if top <= 0:
        return "".join(" " if v is None else BARS[0] for v in values)
    return "".join(" " if v is None else BARS[min(len(BARS) - 1, int(v / top * (len(BARS) - 1)))] for v in values)


def _query(qid: str, function: str, metric: str, stat: str, period: int) -> dict[str, Any]:
    dims = [{"Name": "FunctionName", "Value": function}]
    return {
        "Id": qid,
        "MetricStat": {"Metric": {"Namespace": "AWS/Lambda", "MetricName": metric, "Dimensions": dims},
                       "Period": period, "Stat": stat},
    }  # fmt: skip


@click.command("metrics")
@click.argument("name")
@click.option("--minutes", default=60, show_default=True, help="how far back")
@client_command
def metrics(clients: Clients, name: str, minutes: int) -> None:
    """NAME's main metrics, one character per minute, as terminal charts."""
    end = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    start = end - timedelta(minutes=minutes)
    queries = [_query(f"q{i}", name, metric, stat, 60) for i, (_, metric, stat) in enumerate(CHARTS)]
    reply = clients.cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end)
    results = {result["Id"]: result for result in reply["MetricDataResults"]}
    out.print(f"{name}: last {minutes} minutes, {start:%H:%M} to {end:%H:%M} UTC", markup=False)
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("METRIC", "CHART", "LAST", "MAX"):
        table.add_column(column)
    for i, (label, _, _) in enumerate(CHARTS):
        result = results[f"q{i}"]
        by_minute = {ts.timestamp(): value for ts, value in zip(result["Timestamps"], result["Values"], strict=True)}
        values = [by_minute.get((start + timedelta(minutes=m)).timestamp()) for m in range(minutes)]
        present = [v for v in values if v is not None]
        last = f"{present[-1]:g}" if present else "-"
        peak = f"{max(present):g}" if present else "-"
        table.add_row(label, sparkline(values), last, peak)
    out.print(table)


def _scrape(clients: Clients) -> dict[str, dict[str, float]]:
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(clients.endpoint + "/metrics", timeout=10) as reply:
        text = reply.read().decode()
    samples: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if "function" in sample.labels and "le" not in sample.labels:
                samples.setdefault(sample.name, {})[sample.labels["function"]] = sample.value
    return samples


def _top_table(
    clients: Clients, before: dict[str, dict[str, float]], now: dict[str, dict[str, float]], elapsed: float
) -> Table:
    functions = sorted(now.get("kindling_invocations_total", {}))
    percentiles: dict[str, dict[str, float]] = {}
    if functions:
        queries = [_query(f"f{i}{stat}", name, "Duration", stat, 60)
                   for i, name in enumerate(functions) for stat in ("p50", "p99")]  # fmt: skip
        end = datetime.now(UTC) + timedelta(minutes=1)
        reply = clients.cloudwatch.get_metric_data(
            MetricDataQueries=queries[:500], StartTime=end - timedelta(minutes=3), EndTime=end
        )
        for result in reply["MetricDataResults"]:
            if result["Values"]:
                percentiles.setdefault(result["Id"][:-3], {})[result["Id"][-3:]] = result["Values"][0]
    table = Table(
        box=None, header_style="bold", pad_edge=False, title=f"kindling top  {datetime.now(UTC):%H:%M:%S} UTC"
    )
    for column in ("FUNCTION", "INV/S", "ERRORS", "THROTTLES", "P50 MS", "P99 MS", "RUNNING", "COLD STARTS"):
        table.add_column(column, justify="left" if column == "FUNCTION" else "right")

    def rate(metric: str, name: str) -> float:
        return (now.get(metric, {}).get(name, 0) - before.get(metric, {}).get(name, 0)) / elapsed if elapsed else 0.0

    for i, name in enumerate(functions):
        shown = percentiles.get(f"f{i}", {})
        table.add_row(
            name, f"{rate('kindling_invocations_total', name):.1f}",
            f"{now.get('kindling_errors_total', {}).get(name, 0):g}",
            f"{now.get('kindling_throttles_total', {}).get(name, 0):g}",
            f"{shown['p50']:.1f}" if "p50" in shown else "-", f"{shown['p99']:.1f}" if "p99" in shown else "-",
            f"{now.get('kindling_concurrent_executions', {}).get(name, 0):g}",
            f"{now.get('kindling_function_cold_starts_total', {}).get(name, 0):g}",
        )  # fmt: skip
    return table


@click.command("top")
@click.option("--once", is_flag=True, help="print one view and exit (for scripts)")
@client_command
def top(clients: Clients, once: bool) -> None:
    """A live view of every function, refreshed each second: invocations/s, errors, p50/p99, concurrency."""
    before, at = _scrape(clients), time.monotonic()
    if once:
        time.sleep(1)
        out.print(_top_table(clients, before, _scrape(clients), time.monotonic() - at))
        return
    with Live(_top_table(clients, before, before, 0.0), console=out, refresh_per_second=2) as live:
        while True:
            time.sleep(1)
            now, then = _scrape(clients), time.monotonic()
            live.update(_top_table(clients, before, now, then - at))
            before, at = now, then


@click.command("alarms")
@client_command
def alarms(clients: Clients) -> None:
    """The CloudWatch alarms and their state."""
    found = clients.cloudwatch.describe_alarms()["MetricAlarms"]
    if not found:
        out.print("no alarms yet: `aws cloudwatch put-metric-alarm ...` against this endpoint makes one")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("NAME", "STATE", "CONDITION", "SINCE", "REASON"):
        table.add_column(column)
    for alarm in found:
        dims = ",".join(f"{d['Name']}={d['Value']}" for d in alarm.get("Dimensions", []))
        stat = alarm.get("Statistic") or alarm.get("ExtendedStatistic")
        operator = alarm["ComparisonOperator"].removesuffix("Threshold")
        condition = f"{stat}({alarm['MetricName']}{'{' + dims + '}' if dims else ''}) {operator} {alarm['Threshold']:g}"
        since = alarm["StateUpdatedTimestamp"].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(alarm["AlarmName"], alarm["StateValue"], condition, since, alarm.get("StateReason", ""))
    out.print(table)


@click.command("cost")
@click.option("--month", help="YYYY-MM (default: this month)")
@click.option("--since", help="start: YYYY-MM-DD, an ISO 8601 time or epoch seconds")
@click.option("--until", help="end (exclusive), like --since")
@click.option("--function", "function", help="one function only")
@click.option("--json", "as_json", is_flag=True, help="the report as JSON (as GET /kindling/cost gives it)")
@client_command
def cost(clients: Clients, month: str | None, since: str | None, until: str | None, function: str | None,
         as_json: bool) -> None:  # fmt: skip
    """What the functions would cost on AWS Lambda (on-demand prices, free tier applied once a month),
    and what they used here (CPU-seconds, memory GB-s)."""
    if month and (since or until):
        raise CliError("give either --month or --since/--until", "e.g. --month 2026-05, or --since 2026-05-01")
    query = {key: value for key, value in (("month", month), ("since", since), ("until", until),
                                           ("function", function)) if value}  # fmt: skip
    report = kindling_request(clients, "GET", "/kindling/cost" + ("?" + urlencode(query) if query else ""))
    if as_json:
        out.print(json.dumps(report, indent=2), markup=False)
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("FUNCTION", "REQUESTS", "GB-S", "COST USD", "CPU-S HERE", "MEM GB-S HERE"):
        table.add_column(column, justify="left" if column == "FUNCTION" else "right")
    for entry in report["functions"]:
        table.add_row(
            entry["name"], f"{entry['requests']:,}", f"{entry['gb_seconds']:,.3f}", f"${entry['cost_usd']:.6f}",
            f"{entry['here']['cpu_seconds']:.3f}", f"{entry['here']['memory_gb_seconds']:.3f}",
        )  # fmt: skip
    total = report["total"]
    table.add_row("total", f"{total['requests']:,}", f"{total['gb_seconds']:,.3f}",
                  f"${total['cost_before_free_tier_usd']:.6f}", "", "")  # fmt: skip
    out.print(f"{report['since']} to {report['until']} ({report['region']}, prices of {report['prices']['retrieved']})")
    out.print(table)
    out.print(
        f"on AWS Lambda: ${total['cost_usd']:.2f} after the free tier (${total['free_tier_applied']:.6f} of it used)",
        markup=False,
    )
