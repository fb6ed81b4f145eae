"""Kinesis and DynamoDB Streams event source mappings end to end, against a real moto_server."""

from __future__ import annotations

import base64

import pytest
from esm_support import Moto, events, recorder_function, service_flags, wait_for

from support import Server


@pytest.fixture(scope="module")
def kinesis(moto: Moto):  # type: ignore[no-untyped-def]
    return moto.client("kinesis")


def _stream(kinesis, name: str, shards: int = 1) -> str:  # type: ignore[no-untyped-def]
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    return kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamARN"]


def _enabled(lam, uuid: str) -> None:  # type: ignore[no-untyped-def]
    wait_for(lambda: lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled", what="Enabled")


def _collect(sqs, record_queue: str, seen: list, count: int) -> list:  # type: ignore[no-untyped-def]
    def enough() -> bool:
        seen.extend(r for event in events(sqs, record_queue) for r in event["Records"])
        return len(seen) >= count

    wait_for(enough, timeout=60, what=f"{count} records")
    return seen


def _data(record: dict) -> str:
    return base64.b64decode(record["kinesis"]["data"]).decode()


def test_kinesis_records_arrive_in_order_per_shard(lam, sqs, kinesis) -> None:  # type: ignore[no-untyped-def]
    name, record_queue = recorder_function(lam, sqs, "stream-fn")
    arn = _stream(kinesis, f"{name}-stream", shards=2)
    high = str(2**127 + 1)  # the second shard's half of the hash key range
    for i in range(20):
        kinesis.put_record(StreamName=f"{name}-stream", Data=f"r{i}".encode(), PartitionKey=f"k{i}",
                           ExplicitHashKey="0" if i % 2 else high)  # fmt: skip
    created = lam.create_event_source_mapping(
        FunctionName=name, EventSourceArn=arn, StartingPosition="TRIM_HORIZON", BatchSize=4
    )
    assert created["State"] == "Creating" and created["MaximumRetryAttempts"] == -1
    seen = _collect(sqs, record_queue, [], 20)
    shards = {record["eventID"].split(":")[0] for record in seen}
    assert len(shards) == 2
    for shard in shards:
        in_shard = [r for r in seen if r["eventID"].startswith(shard + ":")]
        numbers = [int(_data(r)[1:]) for r in in_shard]
        assert numbers == sorted(numbers) and len(numbers) == 10
    record = seen[0]
    assert list(record) == [
        "kinesis", "eventSource", "eventVersion", "eventID", "eventName", "invokeIdentityArn", "awsRegion",
        "eventSourceARN",
    ]  # fmt: skip
    assert list(record["kinesis"]) == [
        "kinesisSchemaVersion", "partitionKey", "sequenceNumber", "data", "approximateArrivalTimestamp",
    ]  # fmt: skip
    assert record["eventSource"] == "aws:kinesis" and record["eventName"] == "aws:kinesis:record"
    assert record["eventSourceARN"] == arn and record["invokeIdentityArn"] == "arn:aws:iam::000000000000:role/test"
    assert isinstance(record["kinesis"]["approximateArrivalTimestamp"], float)
    assert lam.get_event_source_mapping(UUID=created["UUID"])["LastProcessingResult"] == "OK"


def test_dynamodb_changes_arrive_as_insert_modify_remove(lam, sqs, moto) -> None:  # type: ignore[no-untyped-def]
    name, record_queue = recorder_function(lam, sqs, "stream-fn")
    dynamodb = moto.client("dynamodb")
    table = dynamodb.create_table(
        TableName=f"{name}-table",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    created = lam.create_event_source_mapping(
        FunctionName=name, EventSourceArn=table["LatestStreamArn"], StartingPosition="LATEST"
    )
    _enabled(lam, created["UUID"])
    key = {"id": {"S": "a"}}
    dynamodb.put_item(TableName=f"{name}-table", Item={**key, "n": {"N": "1"}})
    dynamodb.update_item(TableName=f"{name}-table", Key=key, UpdateExpression="SET n = :n",
                         ExpressionAttributeValues={":n": {"N": "2"}})  # fmt: skip
    dynamodb.delete_item(TableName=f"{name}-table", Key=key)
    seen = _collect(sqs, record_queue, [], 3)
    assert [r["eventName"] for r in seen] == ["INSERT", "MODIFY", "REMOVE"]
    insert, modify, remove = (r["dynamodb"] for r in seen)
    assert insert["NewImage"] == {**key, "n": {"N": "1"}} and "OldImage" not in insert
    assert modify["OldImage"]["n"] == {"N": "1"} and modify["NewImage"]["n"] == {"N": "2"}
    assert remove["OldImage"]["n"] == {"N": "2"} and "NewImage" not in remove
    assert all(r["dynamodb"]["Keys"] == key and r["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES" for r in seen)
    assert {r["eventSource"] for r in seen} == {"aws:dynamodb"}
    assert {r["eventSourceARN"] for r in seen} == {table["LatestStreamArn"]}
    sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in seen]
    assert sequences == sorted(sequences)
    assert isinstance(insert["ApproximateCreationDateTime"], float)


def test_item_failures_retry_from_the_first_failed_record_then_go_to_the_on_failure_queue(  # type: ignore[no-untyped-def]
    lam, sqs, kinesis
) -> None:
    name, record_queue = recorder_function(lam, sqs, "stream-fn")
    arn = _stream(kinesis, f"{name}-stream")
    failures = sqs.create_queue(QueueName=f"{name}-failures")["QueueUrl"]
    failures_arn = sqs.get_queue_attributes(QueueUrl=failures, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for data in ("ok-0", "ok-1", "fail-2", "ok-3"):
        kinesis.put_record(StreamName=f"{name}-stream", Data=data.encode(), PartitionKey="p")
    lam.create_event_source_mapping(
        FunctionName=name,
        EventSourceArn=arn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        MaximumRetryAttempts=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        DestinationConfig={"OnFailure": {"Destination": failures_arn}},
    )
    reports = wait_for(lambda: events(sqs, failures), what="the on-failure record")
    info = reports[0]["KinesisBatchInfo"]  # type: ignore[index]
    assert reports[0]["requestContext"]["condition"] == "RetryAttemptsExhausted"  # type: ignore[index]
    assert info["batchSize"] == 2 and info["streamArn"] == arn
    batches = [[_data(r) for r in event["Records"]] for event in events(sqs, record_queue)]
    assert batches == [["ok-0", "ok-1", "fail-2", "ok-3"], ["fail-2", "ok-3"]]  # the retry starts at the failure


def test_a_tumbling_window_carries_its_state_to_a_final_invoke(lam, sqs, kinesis) -> None:  # type: ignore[no-untyped-def]
    name, record_queue = recorder_function(lam, sqs, "stream-fn")
    arn = _stream(kinesis, f"{name}-stream")
    created = lam.create_event_source_mapping(
        FunctionName=name, EventSourceArn=arn, StartingPosition="LATEST", BatchSize=1, TumblingWindowInSeconds=1
    )
    _enabled(lam, created["UUID"])
    for i in range(3):
        kinesis.put_record(StreamName=f"{name}-stream", Data=f"r{i}".encode(), PartitionKey="p")
    seen: list = []

    def finals() -> int:
        seen.extend(events(sqs, record_queue))
        return sum(event["state"].get("count", 0) for event in seen if event["isFinalInvokeForWindow"])

    wait_for(lambda: finals() == 3, what="final invokes counting 3 records")
    for event in seen:
        assert set(event) == {"Records", "window", "state", "shardId", "eventSourceARN", "isFinalInvokeForWindow",
                              "isWindowTerminatedEarly"}  # fmt: skip
        assert event["eventSourceARN"] == arn and event["shardId"] == "shardId-000000000000"
    for window in {event["window"]["start"] for event in seen}:
        in_window = [event for event in seen if event["window"]["start"] == window]
        final = in_window[-1]
        assert final["isFinalInvokeForWindow"] and final["Records"] == []
        assert final["state"].get("count", 0) == sum(len(event["Records"]) for event in in_window)
    assert sorted(_data(r) for event in seen for r in event["Records"]) == ["r0", "r1", "r2"]


def test_positions_survive_a_restart(tmp_path, moto, sqs, kinesis) -> None:  # type: ignore[no-untyped-def]
    data_dir = tmp_path / "data"
    first = Server(data_dir, *service_flags(moto)).start()
    try:
        lam = first.client()
        name, record_queue = recorder_function(lam, sqs, "stream-fn")
        arn = _stream(kinesis, f"{name}-stream")
        lam.create_event_source_mapping(FunctionName=name, EventSourceArn=arn, StartingPosition="TRIM_HORIZON")
        for i in range(5):
            kinesis.put_record(StreamName=f"{name}-stream", Data=f"r{i}".encode(), PartitionKey="p")
        seen = _collect(sqs, record_queue, [], 5)
    finally:
        first.stop()
    for i in range(5, 10):
        kinesis.put_record(StreamName=f"{name}-stream", Data=f"r{i}".encode(), PartitionKey="p")
    second = Server(data_dir, *service_flags(moto), port=first.port).start()
    try:
        _collect(sqs, record_queue, seen, 10)
        assert [_data(r) for r in seen] == [f"r{i}" for i in range(10)]  # none twice, none skipped
        mapping = second.client().list_event_source_mappings(FunctionName=name)["EventSourceMappings"][0]
        assert mapping["State"] == "Enabled"
    finally:
        second.stop()
