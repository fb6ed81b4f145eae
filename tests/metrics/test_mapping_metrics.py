"""Event source mapping metrics: ``IteratorAge`` of a Kinesis mapping, and the event counts AWS publishes
under ``EventSourceMappingUUID`` when ``MetricsConfig`` asks for ``EventCount`` (SQS and the stream sources
are on the port, moto's)."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from support import Server, create_function

HANDLER = """
import json
def handler(event, context):
    failed = [r["messageId"] for r in event["Records"] if json.loads(r.get("body", "{}")).get("fail")]
    return {"batchItemFailures": [{"itemIdentifier": one} for one in failed]}
"""
COUNTS = (
    "PolledEventCount",
    "FilteredOutEventCount",
    "InvokedEventCount",
    "FailedInvokeEventCount",
    "DeletedEventCount",
)


def statistic(cw: Any, metric: str, dims: dict[str, str], stat: str = "Sum") -> float:
    now = datetime.now(UTC)
    points = cw.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()],
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1),
        Period=3600,
        Statistics=[stat],
    )["Datapoints"]
    return sum(point[stat] for point in points) if stat == "Sum" else max((p[stat] for p in points), default=0.0)


def wait_until(check: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_sqs_mapping_counts_events(server: Server, lam: Any, cw: Any) -> None:
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName="counted", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    create_function(lam, "counted-consumer", {"app.py": HANDLER})
    uuid = lam.create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="counted-consumer",
        BatchSize=10,
        MaximumBatchingWindowInSeconds=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"keep": [True]}})}]},
        MetricsConfig={"Metrics": ["EventCount"]},
    )["UUID"]
    create_function(lam, "silent-consumer", {"app.py": HANDLER})
    silent = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="silent-consumer", Enabled=False)
    bodies = [{"keep": True}] * 3 + [{"keep": True, "fail": True}] + [{"keep": False}] * 2
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    dims = {"EventSourceMappingUUID": uuid}
    wait_until(lambda: statistic(cw, "DeletedEventCount", dims) == 3, "the 3 processed messages' deletion")
    wait_until(lambda: statistic(cw, "FailedInvokeEventCount", dims) == 1, "the reported failure")
    found = {metric: statistic(cw, metric, dims) for metric in COUNTS}
    assert found == {
        "PolledEventCount": 6,
        "FilteredOutEventCount": 2,
        "InvokedEventCount": 4,
        "FailedInvokeEventCount": 1,
        "DeletedEventCount": 3,
    }
    listed = cw.list_metrics(Namespace="AWS/Lambda", Dimensions=[{"Name": "EventSourceMappingUUID", "Value": uuid}])
    assert {metric["MetricName"] for metric in listed["Metrics"]} == set(COUNTS)
    unasked = [{"Name": "EventSourceMappingUUID", "Value": silent["UUID"]}]  # no MetricsConfig: nothing
    assert cw.list_metrics(Namespace="AWS/Lambda", Dimensions=unasked)["Metrics"] == []


def test_kinesis_mapping_records_iterator_age(server: Server, lam: Any, cw: Any) -> None:
    kinesis = server.client("kinesis")
    kinesis.create_stream(StreamName="aged", ShardCount=1)
    arn = kinesis.describe_stream(StreamName="aged")["StreamDescription"]["StreamARN"]
    create_function(lam, "aged-consumer", {"app.py": "def handler(event, context):\n    return {}\n"})
    put = time.time()
    for index in range(3):
        kinesis.put_record(StreamName="aged", Data=json.dumps({"n": index}).encode(), PartitionKey="k")
    waited_at_least_ms = 0.0
    while waited_at_least_ms < 300:  # the records wait in the stream before the mapping exists
        time.sleep(0.05)
        waited_at_least_ms = (time.time() - put) * 1000
    uuid = lam.create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="aged-consumer",
        StartingPosition="TRIM_HORIZON",
        MetricsConfig={"Metrics": ["EventCount"]},
    )["UUID"]
    dims = {"EventSourceMappingUUID": uuid}
    wait_until(lambda: statistic(cw, "InvokedEventCount", dims) == 3, "the 3 records' invocation")
    assert statistic(cw, "PolledEventCount", dims) == 3
    age = statistic(cw, "IteratorAge", {"FunctionName": "aged-consumer"}, "Maximum")
    assert waited_at_least_ms <= age < 60_000
    assert statistic(cw, "IteratorAge", dims, "Maximum") == age
    with urllib.request.urlopen(server.endpoint + "/metrics", timeout=10) as reply:
        text = reply.read().decode()
    lag = {
        sample.labels["mapping"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "kindling_event_source_mapping_iterator_age_milliseconds"
    }
    assert 0 <= lag[uuid] <= age  # the last batch's (the only one here)


def test_stream_records_given_up_are_dropped_and_sent_on(server: Server, lam: Any, cw: Any) -> None:
    kinesis, sqs = server.client("kinesis"), server.client("sqs")
    kinesis.create_stream(StreamName="doomed", ShardCount=1)
    arn = kinesis.describe_stream(StreamName="doomed")["StreamDescription"]["StreamARN"]
    url = sqs.create_queue(QueueName="doomed-failures")["QueueUrl"]
    failures = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    create_function(lam, "doomed-consumer", {"app.py": "def handler(event, context):\n    raise ValueError('no')\n"})
    for index in range(2):
        kinesis.put_record(StreamName="doomed", Data=json.dumps({"n": index}).encode(), PartitionKey="k")
    uuid = lam.create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="doomed-consumer",
        StartingPosition="TRIM_HORIZON",
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": failures}},
        MetricsConfig={"Metrics": ["EventCount"]},
    )["UUID"]
    dims = {"EventSourceMappingUUID": uuid}
    wait_until(lambda: statistic(cw, "OnFailureDestinationDeliveredEventCount", dims) == 2, "the failure record")
    assert statistic(cw, "DroppedEventCount", dims) == 2
    assert statistic(cw, "FailedInvokeEventCount", dims) == statistic(cw, "InvokedEventCount", dims) == 2
