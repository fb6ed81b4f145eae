"""The event source mapping operations through boto3 and the AWS CLI: shapes, states, ARNs, tags and errors."""

from __future__ import annotations

import json
import re

import pytest
from botocore.exceptions import ClientError
from esm_support import HANDLER, wait_for

from support import Server, aws_cli, create_function

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture(scope="module")
def raw_lam(esm_server: Server):  # type: ignore[no-untyped-def]
    return esm_server.client(validate=False)


@pytest.fixture(scope="module")
def function(lam, sqs) -> str:  # type: ignore[no-untyped-def]
    record_queue = sqs.create_queue(QueueName="api-record")["QueueUrl"]
    create_function(lam, "api-fn", {"app.py": HANDLER}, Environment={"Variables": {"RECORD_QUEUE": record_queue}})
    return "api-fn"


def _queue(sqs, name: str) -> str:  # type: ignore[no-untyped-def]
    url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"} if name.endswith(".fifo") else {})
    return sqs.get_queue_attributes(QueueUrl=url["QueueUrl"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _state(lam, uuid: str, state: str) -> dict:  # type: ignore[no-untyped-def]
    return wait_for(lambda: (m := lam.get_event_source_mapping(UUID=uuid))["State"] == state and m, what=state)  # type: ignore[return-value]


def _error(call, **params) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as raised:
        call(**params)
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def test_a_mapping_is_created_enabled_listed_updated_and_deleted(lam, sqs, function) -> None:  # type: ignore[no-untyped-def]
    source = _queue(sqs, "api-lifecycle")
    created = lam.create_event_source_mapping(FunctionName=function, EventSourceArn=source, Tags={"team": "a"})
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert created["State"] == "Creating" and re.fullmatch(UUID, created["UUID"])
    assert (
        created["EventSourceMappingArn"]
        == f"arn:aws:lambda:us-east-1:000000000000:event-source-mapping:{created['UUID']}"
    )
    assert created["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:api-fn"
    assert (created["BatchSize"], created["MaximumBatchingWindowInSeconds"], created["FunctionResponseTypes"]) == (
        10,
        0,
        [],
    )
    uuid = created["UUID"]
    _state(lam, uuid, "Enabled")
    assert [m["UUID"] for m in lam.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]] == [uuid]
    assert [m["UUID"] for m in lam.list_event_source_mappings(EventSourceArn=source)["EventSourceMappings"]] == [uuid]
    assert lam.list_event_source_mappings(EventSourceArn=source + "-other")["EventSourceMappings"] == []

    arn = created["EventSourceMappingArn"]
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "a"}
    lam.tag_resource(Resource=arn, Tags={"env": "test"})
    lam.untag_resource(Resource=arn, TagKeys=["team"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"env": "test"}
    function_arn = lam.get_function(FunctionName=function)["Configuration"]["FunctionArn"]
    assert "env" not in lam.list_tags(Resource=function_arn)["Tags"]  # the function's tags are its own

    updated = lam.update_event_source_mapping(
        UUID=uuid, BatchSize=50, MaximumBatchingWindowInSeconds=1, ScalingConfig={"MaximumConcurrency": 2}
    )
    assert updated["State"] == "Updating" and updated["BatchSize"] == 50
    settled = _state(lam, uuid, "Enabled")
    assert settled["ScalingConfig"] == {"MaximumConcurrency": 2} and settled["MaximumBatchingWindowInSeconds"] == 1
    assert lam.update_event_source_mapping(UUID=uuid, Enabled=False)["State"] == "Disabling"
    _state(lam, uuid, "Disabled")

    deleted = lam.delete_event_source_mapping(UUID=uuid)
    assert deleted["State"] == "Deleting" and deleted["ResponseMetadata"]["HTTPStatusCode"] == 202

    def gone() -> bool:
        try:
            lam.get_event_source_mapping(UUID=uuid)
        except ClientError as error:
            return error.response["Error"]["Code"] == "ResourceNotFoundException"
        return False

    wait_for(gone, what="the mapping deleted")
    assert _error(lam.delete_event_source_mapping, UUID=uuid)[0] == "ResourceNotFoundException"


def test_stream_mappings_show_their_stream_settings(lam, moto, function) -> None:  # type: ignore[no-untyped-def]
    kinesis = moto.client("kinesis")
    kinesis.create_stream(StreamName="api-stream", ShardCount=1)
    arn = kinesis.describe_stream(StreamName="api-stream")["StreamDescription"]["StreamARN"]
    created = lam.create_event_source_mapping(
        FunctionName=function, EventSourceArn=arn, StartingPosition="LATEST", ParallelizationFactor=2
    )
    expected = {
        "StartingPosition": "LATEST", "BatchSize": 100, "ParallelizationFactor": 2, "MaximumRecordAgeInSeconds": -1,
        "BisectBatchOnFunctionError": False, "MaximumRetryAttempts": -1, "TumblingWindowInSeconds": 0,
        "DestinationConfig": {"OnFailure": {}}, "LastProcessingResult": "No records processed",
    }  # fmt: skip
    assert {key: created[key] for key in expected} == expected
    _state(lam, created["UUID"], "Enabled")
    lam.delete_event_source_mapping(UUID=created["UUID"])


REFUSED = [
    ({"EventSourceArn": "arn:aws:kafka:us-east-1:000000000000:cluster/c/abc"}, "InvalidParameterValueException",
     "Unrecognized event source, must be kinesis, dynamodb stream or sqs. Unsupported source arn : arn:aws:kafka:us-east-1:000000000000:cluster/c/abc"),
    ({"EventSourceArn": "arn:aws:mq:us-east-1:000000000000:broker:b:b-1"}, "InvalidParameterValueException", "Unrecognized event source"),
    ({"EventSourceArn": "arn:aws:rds:us-east-1:000000000000:cluster:docdb"}, "InvalidParameterValueException", "Unrecognized event source"),
    ({"SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["h:9092"]}}, "Topics": ["orders"]},
     "InvalidParameterValueException", "Unrecognized event source."),
    ({"EventSourceArn": "arn:aws:kinesis:us-east-1:000000000000:stream/s"}, "InvalidParameterValueException",
     "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member must not be null."),
    ({"EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:api-q", "StartingPosition": "LATEST"},
     "InvalidParameterValueException", "StartingPosition is not valid for SQS event sources."),
    ({"EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:api-q", "BatchSize": 100}, "InvalidParameterValueException",
     "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"),
    ({"EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:api-q.fifo", "BatchSize": 11, "MaximumBatchingWindowInSeconds": 1},
     "InvalidParameterValueException", "Batch size for FIFO queues must be between 1 and 10."),
    ({"EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:api-q", "MaximumRetryAttempts": 3},
     "InvalidParameterValueException", "Unsupported MaximumRetryAttempts parameter for given event source mapping type."),
    ({"EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:api-q", "FilterCriteria": {"Filters": [{"Pattern": '{"body": "x"}'}]}},
     "InvalidParameterValueException", "Invalid filter pattern definition."),
    ({"EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:api-q", "BatchSize": 0}, "ValidationException",
     "1 validation error detected: Value '0' at 'batchSize' failed to satisfy constraint: Member must have value greater than or equal to 1"),
    ({"EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:api-q", "BatchSize": 10001}, "ValidationException",
     "1 validation error detected: Value '10001' at 'batchSize' failed to satisfy constraint: Member must have value less than or equal to 10000"),
]  # fmt: skip


@pytest.mark.parametrize(("params", "code", "message"), REFUSED)
def test_bad_mappings_are_refused_as_aws_refuses_them(raw_lam, function, params, code, message) -> None:  # type: ignore[no-untyped-def]
    got_code, got_message = _error(raw_lam.create_event_source_mapping, FunctionName=function, **params)
    assert (got_code, got_message[: len(message)]) == (code, message)
    listed = raw_lam.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
    assert params.get("EventSourceArn") not in [m["EventSourceArn"] for m in listed]  # nothing was made


def test_conflicts_and_missing_things(lam, sqs, function) -> None:  # type: ignore[no-untyped-def]
    source = _queue(sqs, "api-conflict")
    assert _error(lam.create_event_source_mapping, FunctionName="no-such-fn", EventSourceArn=source) == (
        "ResourceNotFoundException",
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:no-such-fn",
    )
    uuid = lam.create_event_source_mapping(FunctionName=function, EventSourceArn=source)["UUID"]
    code, message = _error(lam.create_event_source_mapping, FunctionName=function, EventSourceArn=source)
    assert code == "ResourceConflictException"
    assert message == (
        f"The event source arn ({source}) and function ({function}) provided mapping already exists. "
        f"Please update or delete the existing mapping with UUID {uuid}"
    )
    missing = "11111111-2222-3333-4444-555555555555"
    assert _error(lam.get_event_source_mapping, UUID=missing) == (
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
    )
    assert _error(lam.update_event_source_mapping, UUID=uuid, BisectBatchOnFunctionError=True)[0] == (
        "InvalidParameterValueException"
    )
    assert lam.get_event_source_mapping(UUID=uuid)["BatchSize"] == 10  # nothing changed
    lam.delete_event_source_mapping(UUID=uuid)


def test_the_aws_cli_manages_mappings(esm_server, sqs, function) -> None:  # type: ignore[no-untyped-def]
    source = _queue(sqs, "api-cli")
    created = json.loads(
        aws_cli(
            esm_server.endpoint,
            "lambda",
            "create-event-source-mapping",
            "--function-name",
            function,
            "--event-source-arn",
            source,
            "--batch-size",
            "5",
        ).stdout
    )
    assert created["State"] == "Creating" and created["BatchSize"] == 5
    listed = json.loads(
        aws_cli(esm_server.endpoint, "lambda", "list-event-source-mappings", "--event-source-arn", source).stdout
    )
    assert [m["UUID"] for m in listed["EventSourceMappings"]] == [created["UUID"]]
    got = json.loads(
        aws_cli(esm_server.endpoint, "lambda", "get-event-source-mapping", "--uuid", created["UUID"]).stdout
    )
    assert got["EventSourceArn"] == source
    refused = aws_cli(
        esm_server.endpoint,
        "lambda",
        "create-event-source-mapping",
        "--function-name",
        function,
        "--event-source-arn",
        "arn:aws:mq:us-east-1:000000000000:broker:b:b-1",
        check=False,
    )
    assert refused.returncode != 0 and "InvalidParameterValueException" in refused.stderr
    deleted = json.loads(
        aws_cli(esm_server.endpoint, "lambda", "delete-event-source-mapping", "--uuid", created["UUID"]).stdout
    )
    assert deleted["State"] == "Deleting"
