"""SQS event source mappings end to end: a real Kindling server polling queues of a real moto_server."""

from __future__ import annotations

import json
import time

from esm_support import events, recorder_function, wait_for


def _arn(sqs, url: str) -> str:  # type: ignore[no-untyped-def]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _enabled(lam, uuid: str) -> None:  # type: ignore[no-untyped-def]
    wait_for(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled", what="Enabled")


def _records(sqs, record_queue: str, seen: list) -> list:  # type: ignore[no-untyped-def]
    seen.extend(r for event in events(sqs, record_queue) for r in event["Records"])
    return seen


def _in_queue(sqs, url: str) -> int:  # type: ignore[no-untyped-def]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_reported_item_failures_come_back_then_reach_the_dead_letter_queue(lam, sqs) -> None:  # type: ignore[no-untyped-def]
    name, record_queue = recorder_function(lam, sqs, "sqs-fn")
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    queue = sqs.create_queue(
        QueueName=f"{name}-in",
        Attributes={
            "VisibilityTimeout": "2",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": _arn(sqs, dlq), "maxReceiveCount": "2"}),
        },
    )["QueueUrl"]
    created = lam.create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=_arn(sqs, queue),
        BatchSize=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    assert created["State"] == "Creating"
    _enabled(lam, created["UUID"])
    bodies = [f"fail-{i}" if i in (3, 11, 20) else f"ok-{i}" for i in range(25)]
    for start in range(0, 25, 10):
        sqs.send_message_batch(
            QueueUrl=queue,
            Entries=[
                {
                    "Id": str(i),
                    "MessageBody": body,
                    "MessageAttributes": {"n": {"DataType": "Number", "StringValue": str(i)}},
                }
                for i, body in enumerate(bodies[start : start + 10], start)
            ],
        )

    def dead() -> list[str]:
        reply = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0)
        found = sorted(m["Body"] for m in reply.get("Messages", []))
        return found if len(found) == 3 else []

    seen: list = []
    assert wait_for(dead, timeout=60, what="3 messages in the DLQ") == ["fail-11", "fail-20", "fail-3"]
    _records(sqs, record_queue, seen)
    counts = {body: sum(r["body"] == body for r in seen) for body in bodies}
    assert {b: c for b, c in counts.items() if b.startswith("ok")} == {b: 1 for b in bodies if b.startswith("ok")}
    assert {b: c for b, c in counts.items() if b.startswith("fail")} == {"fail-3": 2, "fail-11": 2, "fail-20": 2}
    assert _in_queue(sqs, queue) == 0
    record = seen[0]
    assert list(record) == [
        "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
        "md5OfMessageAttributes", "eventSource", "eventSourceARN", "awsRegion",
    ]  # fmt: skip
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == _arn(sqs, queue)
    assert record["awsRegion"] == "us-east-1"
    assert {"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(
        record["attributes"]
    )
    assert record["messageAttributes"]["n"] == {
        "stringValue": record["messageAttributes"]["n"]["stringValue"],
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Number",
    }


def test_filtered_out_messages_are_deleted_unseen(lam, sqs) -> None:  # type: ignore[no-untyped-def]
    name, record_queue = recorder_function(lam, sqs, "sqs-fn")
    queue = sqs.create_queue(QueueName=f"{name}-in")["QueueUrl"]
    created = lam.create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=_arn(sqs, queue),
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": {"kind": ["keep"]}})}]},
    )
    _enabled(lam, created["UUID"])
    for i in range(6):
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"kind": "keep" if i % 2 else "drop", "i": i}))
    sqs.send_message(QueueUrl=queue, MessageBody="not json")
    seen: list = []
    wait_for(lambda: len(_records(sqs, record_queue, seen)) >= 3, what="the kept messages")
    wait_for(lambda: _in_queue(sqs, queue) == 0, what="the others deleted")
    assert sorted(json.loads(r["body"])["i"] for r in seen) == [1, 3, 5]


def test_fifo_keeps_each_group_in_order(lam, sqs) -> None:  # type: ignore[no-untyped-def]
    name, record_queue = recorder_function(lam, sqs, "sqs-fn")
    queue = sqs.create_queue(
        QueueName=f"{name}-in.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    created = lam.create_event_source_mapping(FunctionName=name, EventSourceArn=_arn(sqs, queue), BatchSize=3)
    _enabled(lam, created["UUID"])
    for i in range(30):
        group = "ab"[i % 2]
        sqs.send_message(QueueUrl=queue, MessageBody=f"{group}-{i}", MessageGroupId=group)
    seen: list = []
    wait_for(lambda: len(_records(sqs, record_queue, seen)) >= 30, what="30 messages")
    for group in "ab":
        order = [int(r["body"].split("-")[1]) for r in seen if r["attributes"]["MessageGroupId"] == group]
        assert order == sorted(order) and len(order) == 15


def test_a_disabled_mapping_leaves_the_queue_alone_until_enabled(lam, sqs) -> None:  # type: ignore[no-untyped-def]
    name, record_queue = recorder_function(lam, sqs, "sqs-fn")
    queue = sqs.create_queue(QueueName=f"{name}-in")["QueueUrl"]
    created = lam.create_event_source_mapping(FunctionName=name, EventSourceArn=_arn(sqs, queue))
    _enabled(lam, created["UUID"])
    disabling = lam.update_event_source_mapping(UUID=created["UUID"], Enabled=False)
    assert disabling["State"] == "Disabling"
    wait_for(lambda: lam.get_event_source_mapping(UUID=created["UUID"])["State"] == "Disabled", what="Disabled")
    sqs.send_message(QueueUrl=queue, MessageBody="while disabled")
    deadline = time.monotonic() + 1.5  # an enabled mapping hands it over within milliseconds
    while time.monotonic() < deadline:
        assert events(sqs, record_queue) == []
    assert _in_queue(sqs, queue) == 1
    assert lam.update_event_source_mapping(UUID=created["UUID"], Enabled=True)["State"] == "Enabling"
    seen: list = []
    wait_for(lambda: _records(sqs, record_queue, seen), what="the message, once enabled")
    assert [r["body"] for r in seen] == ["while disabled"]
