"""CloudWatch metrics as Lambda records them, read back through boto3 and the AWS CLI from a real server."""

from __future__ import annotations

import json
import math
import re
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from support import Server, aws_cli, create_function, invoke_many

HANDLER = """
import json, time
def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("emf"):
        print(json.dumps({"_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [
            {"Namespace": "Shop", "Dimensions": [["Service"]], "Metrics": [{"Name": "Orders", "Unit": "Count"}]}]},
            "Service": "cart", "Orders": event["emf"]}))
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"ok": True}
"""


def window() -> dict[str, datetime]:
    now = datetime.now(UTC)
    return {"StartTime": now - timedelta(minutes=10), "EndTime": now + timedelta(minutes=1)}


def total(cw, metric: str, function: str, stat: str = "Sum") -> float:  # type: ignore[no-untyped-def]
    reply = cw.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName=metric,
        Dimensions=[{"Name": "FunctionName", "Value": function}],
        Period=60,
        Statistics=[stat],
        **window(),
    )
    values = [point[stat] for point in reply["Datapoints"]]
    return (max(values) if stat == "Maximum" else sum(values)) if values else 0.0


def nearest_rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


@pytest.fixture(scope="module")
def workload(lam, server: Server) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """N invocations, K of them errors, T throttled (reserved concurrency 1, three at once)."""
    create_function(lam, "counted", {"app.py": HANDLER})
    outcomes = [lam.invoke(FunctionName="counted", Payload=json.dumps({"fail": i % 3 == 0})) for i in range(9)]
    errors = sum(1 for outcome in outcomes if outcome.get("FunctionError"))
    create_function(lam, "narrow", {"app.py": HANDLER})
    lam.put_function_concurrency(FunctionName="narrow", ReservedConcurrentExecutions=1)
    replies = invoke_many(server.endpoint, "narrow", 3, b'{"sleep": 1}')
    statuses = [status for status, _, _ in replies]
    return {"N": 9, "K": errors, "narrow_ok": statuses.count(200), "T": statuses.count(429)}


def test_invocations_errors_and_throttles_are_counted_exactly(cw, workload: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    assert workload["K"] == 3 and workload["T"] >= 1
    assert total(cw, "Invocations", "counted") == workload["N"]
    assert total(cw, "Errors", "counted") == workload["K"]
    assert total(cw, "Throttles", "counted") == 0
    assert total(cw, "Throttles", "narrow") == workload["T"]
    assert total(cw, "Invocations", "narrow") == workload["narrow_ok"]


def test_duration_percentiles_agree_with_report_lines(server: Server, cw, workload: dict[str, int]) -> None:  # type: ignore[no-untyped-def]
    logs = server.client("logs")
    events = logs.filter_log_events(logGroupName="/aws/lambda/counted", filterPattern="REPORT")["events"]
    durations = [float(re.search(r"\tDuration: ([\d.]+) ms", e["message"]).group(1)) for e in events]
    assert len(durations) == workload["N"]
    reply = cw.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Duration",
        Dimensions=[{"Name": "FunctionName", "Value": "counted"}],
        Period=3600,
        ExtendedStatistics=["p50", "p99"],
        Statistics=["Maximum", "SampleCount"],
        StartTime=datetime.now(UTC) - timedelta(hours=2),
        EndTime=datetime.now(UTC) + timedelta(hours=1),
    )
    points = reply["Datapoints"]
    if len(points) > 1:  # the invocations straddled an hour: read them over a single longer period instead
        pytest.skip("invocations straddled an hour boundary")
    [point] = points
    assert point["SampleCount"] == workload["N"]
    assert point["Unit"] == "Milliseconds"
    for stat, p in (("p50", 50), ("p99", 99)):
        expected = nearest_rank(durations, p)
        assert abs(point["ExtendedStatistics"][stat] - expected) <= expected * 0.01 + 0.01, (stat, durations)
    assert abs(point["Maximum"] - max(durations)) <= 0.01


def test_concurrent_executions_reach_the_parallel_sleepers(lam, server: Server, cw) -> None:  # type: ignore[no-untyped-def]
    create_function(lam, "sleepers", {"app.py": HANDLER})
    replies = invoke_many(server.endpoint, "sleepers", 4, b'{"sleep": 1.5}')
    assert [status for status, _, _ in replies] == [200] * 4
    assert total(cw, "ConcurrentExecutions", "sleepers", "Maximum") == 4


def test_the_aws_cli_prints_the_statistics(server: Server, workload: dict[str, int]) -> None:
    now = datetime.now(UTC)
    printed = aws_cli(
        server.endpoint, "cloudwatch", "get-metric-statistics", "--namespace", "AWS/Lambda",
        "--metric-name", "Invocations", "--dimensions", "Name=FunctionName,Value=counted",
        "--statistics", "Sum", "--period", "3600",
        "--start-time", (now - timedelta(hours=2)).isoformat(), "--end-time", (now + timedelta(hours=1)).isoformat(),
    )  # fmt: skip
    reply = json.loads(printed.stdout)
    assert reply["Label"] == "Invocations"
    assert sum(point["Sum"] for point in reply["Datapoints"]) == workload["N"]


def test_an_emf_log_line_becomes_a_custom_metric(lam, cw) -> None:  # type: ignore[no-untyped-def]
    create_function(lam, "emitter", {"app.py": HANDLER})
    for orders in (3, 4):
        lam.invoke(FunctionName="emitter", Payload=json.dumps({"emf": orders}))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the log line reaches the server a moment after the answer
        reply = cw.get_metric_statistics(
            Namespace="Shop", MetricName="Orders", Dimensions=[{"Name": "Service", "Value": "cart"}],
            Period=60, Statistics=["Sum", "SampleCount"], **window(),
        )  # fmt: skip
        if sum(point["SampleCount"] for point in reply["Datapoints"]) == 2:
            break
        time.sleep(0.1)
    assert sum(point["Sum"] for point in reply["Datapoints"]) == 7
    listed = cw.list_metrics(Namespace="Shop")["Metrics"]
    assert listed == [
        {"Namespace": "Shop", "MetricName": "Orders", "Dimensions": [{"Name": "Service", "Value": "cart"}]}
    ]


def test_put_metric_data_and_metric_math(cw) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    cw.put_metric_data(
        Namespace="App",
        MetricData=[
            {"MetricName": "Hits", "Value": 10, "Unit": "Count", "Timestamp": now},
            {"MetricName": "Misses", "Values": [1, 2], "Counts": [1, 2], "Unit": "Count", "Timestamp": now},
        ],
    )
    stat = {"Period": 60, "Stat": "Sum"}
    reply = cw.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "hits",
                "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "Hits"}, **stat},
                "ReturnData": False,
            },
            {
                "Id": "misses",
                "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "Misses"}, **stat},
                "ReturnData": False,
            },
            {"Id": "ratio", "Expression": "100 * hits / (hits + misses)"},
            {"Id": "all", "Expression": "SUM([hits, misses])"},
            {"Id": "filled", "Expression": "FILL(hits, 0)"},
            {
                "Id": "pct",
                "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "Misses"}, "Period": 60, "Stat": "p50"},
            },
        ],
        **window(),
    )
    results = {result["Id"]: result for result in reply["MetricDataResults"]}
    assert set(results) == {"ratio", "all", "filled", "pct"}
    assert results["ratio"]["Values"] == [pytest.approx(100 * 10 / 15)]
    assert results["all"]["Values"] == [15.0]
    assert len(results["filled"]["Values"]) >= 10 and 10.0 in results["filled"]["Values"]
    assert results["pct"]["Values"] == [pytest.approx(2.0, rel=0.01)]


def test_bad_input_gets_cloudwatch_errors(cw) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(cw.exceptions.InvalidParameterValueException):
        cw.put_metric_data(Namespace="AWS/Lambda", MetricData=[{"MetricName": "X", "Value": 1}])
    with pytest.raises(cw.exceptions.InvalidParameterCombinationException):
        cw.get_metric_statistics(Namespace="A", MetricName="B", Period=60, **window())
    with pytest.raises(cw.exceptions.InvalidParameterCombinationException):
        cw.get_metric_statistics(
            Namespace="A", MetricName="B", Period=60, Statistics=["Sum"],
            StartTime=datetime.now(UTC) - timedelta(days=5), EndTime=datetime.now(UTC),
        )  # fmt: skip
    assert cw.list_metrics(Namespace="A")["Metrics"] == []


def test_async_events_are_counted(lam, cw) -> None:  # type: ignore[no-untyped-def]
    create_function(lam, "queued", {"app.py": HANDLER})
    for _ in range(3):
        assert lam.invoke(FunctionName="queued", InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and total(cw, "Invocations", "queued") < 3:
        time.sleep(0.2)
    assert total(cw, "AsyncEventsReceived", "queued") == 3
    assert total(cw, "AsyncEventAge", "queued", "SampleCount") == 3
    assert total(cw, "Invocations", "queued") == 3


def test_a_rejected_put_records_nothing(server: Server, cw) -> None:  # type: ignore[no-untyped-def]
    """Over the JSON protocol (boto3 would not send a string as a number): a bad item rejects the whole put."""
    body = {
        "Namespace": "Strict",
        "MetricData": [{"MetricName": "Good", "Value": 1}, {"MetricName": "Bad", "Value": "abc"}],
    }
    request = urllib.request.Request(
        server.endpoint + "/",
        data=json.dumps(body).encode(),
        headers={
            "X-Amz-Target": "GraniteServiceVersion20100801.PutMetricData",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    assert json.loads(refused.value.read())["__type"] == "InvalidParameterValue"
    assert cw.list_metrics(Namespace="Strict")["Metrics"] == []


def test_a_stopped_recursive_loop_is_counted(lam, server: Server, cw) -> None:  # type: ignore[no-untyped-def]
    create_function(lam, "looping", {"app.py": HANDLER})
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0;Lineage=0badf00d:16"
    request = urllib.request.Request(
        server.endpoint + "/2015-03-31/functions/looping/invocations", data=b"{}", headers={"X-Amzn-Trace-Id": trace}
    )
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=30)
    assert total(cw, "RecursiveInvocationsDropped", "looping") == 1
    assert total(cw, "Invocations", "looping") == 0
