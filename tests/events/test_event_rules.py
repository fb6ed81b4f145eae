"""The pure rules of the queue: delays, configuration checks, record shapes."""

from __future__ import annotations

import json

import pytest

from kindling.errors import InvalidParameterValue
from kindling.events import config
from kindling.events.records import AttemptResult, dead_letter_attributes, invocation_record
from kindling.events.settings import QueueSettings

FN = "arn:aws:lambda:us-east-1:000000000000:function:"


def test_aws_delays_by_default_and_configurable_from_the_environment():
    aws = QueueSettings.from_env({})
    assert [aws.retry_delay(n) for n in (1, 2)] == [60, 120]
    assert [aws.backoff_delay(n) for n in (1, 2, 3, 9, 10, 30)] == [1, 2, 4, 256, 300, 300]
    fast = QueueSettings.from_env({"KINDLING_ASYNC_RETRY_BASE_S": "0.5", "KINDLING_ASYNC_BACKOFF_MAX_S": "3"})
    assert [fast.retry_delay(n) for n in (1, 2)] == [0.5, 1.0]
    assert fast.backoff_delay(5) == 3
    with pytest.raises(SystemExit, match="KINDLING_ASYNC_RETRY_BASE_S"):
        QueueSettings.from_env({"KINDLING_ASYNC_RETRY_BASE_S": "soon"})


def exists(name: str) -> bool:
    return name in ("source", "target")


def test_put_needs_a_setting_and_update_keeps_what_it_is_not_given():
    with pytest.raises(InvalidParameterValue, match="at least one of error handling or destination"):
        config.from_params("source", "$LATEST", {"FunctionName": "source"}, None, exists)
    first = config.from_params("source", "$LATEST", {"MaximumRetryAttempts": 0}, None, exists)
    assert (first.retries, first.event_age_s, first.max_event_age_s) == (0, 21_600, None)
    merged = config.from_params(
        "source",
        "$LATEST",
        {"DestinationConfig": {"OnFailure": {"Destination": FN + "target"}}},
        first,
        exists,
    )
    assert (merged.retries, merged.on_failure, merged.on_success) == (0, FN + "target", "")
    assert config.InvokeConfig.from_text(merged.to_text()) == merged


@pytest.mark.parametrize(
    ("success", "failure", "message"),
    [
        (FN + "source", "", "You can't specify the function as a destination for itself."),
        (FN + "gone", "", f"The destination ARN {FN}gone is invalid."),
        (
            "arn:aws:s3:::bucket",
            "",
            "DestinationConfig(onSuccess=OnSuccess(destination=arn:aws:s3:::bucket), onFailure=null)",
        ),
        ("", "not-an-arn", "DestinationConfig(onSuccess=null, onFailure=OnFailure(destination=not-an-arn))"),
        ("arn:aws:events:us-east-1:000000000000:event-bus/default", "", "events destination"),
    ],
)
def test_destinations_are_checked_as_aws_does(success, failure, message):
    with pytest.raises(InvalidParameterValue) as caught:
        config.check_destinations("source", success, failure, exists)
    assert message in caught.value.message


def test_reachable_destinations_pass():
    config.check_destinations("source", FN + "target:$LATEST", "arn:aws:sqs:us-east-1:000000000000:q", exists)
    config.check_destinations("source", "arn:aws:sns:us-east-1:000000000000:topic", "", exists)
    assert config.lambda_destination(FN + "target:prod") == "target"
    assert config.lambda_destination("arn:aws:sqs:us-east-1:000000000000:q") is None


def test_failure_record_has_lambdas_fields():
    error = json.dumps({"errorMessage": "bad", "errorType": "ValueError"}).encode()
    record = json.loads(
        invocation_record(
            request_id="r-1",
            function_arn=FN + "f:$LATEST",
            condition="RetriesExhausted",
            invoke_count=3,
            request_payload=b'{"a": 1}',
            outcome=AttemptResult(error, "$LATEST", "Unhandled"),
        )
    )
    assert list(record) == [
        "version",
        "timestamp",
        "requestContext",
        "requestPayload",
        "responseContext",
        "responsePayload",
    ]
    assert record["requestContext"] == {
        "requestId": "r-1",
        "functionArn": FN + "f:$LATEST",
        "condition": "RetriesExhausted",
        "approximateInvokeCount": 3,
    }
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"] == {"errorMessage": "bad", "errorType": "ValueError"}
    assert record["timestamp"].endswith("Z") and len(record["timestamp"]) == 24


def test_success_record_embeds_a_non_json_result_as_text_and_an_event_that_never_ran_has_no_response():
    success = json.loads(
        invocation_record(
            request_id="r",
            function_arn="a",
            condition="Success",
            invoke_count=1,
            request_payload=b"",
            outcome=AttemptResult(b"plain", "$LATEST"),
        )
    )
    assert success["requestPayload"] == {} and success["responsePayload"] == "plain"
    assert "functionError" not in success["responseContext"]
    never = json.loads(
        invocation_record(
            request_id="r",
            function_arn="a",
            condition="EventAgeExceeded",
            invoke_count=0,
            request_payload=b"{}",
            outcome=None,
        )
    )
    assert "responseContext" not in never and "responsePayload" not in never


def test_dead_letter_attributes():
    outcome = AttemptResult(b'{"errorMessage": "went wrong"}', "$LATEST", "Unhandled")
    assert dead_letter_attributes("r-2", outcome, "RetriesExhausted") == {
        "RequestID": {"DataType": "String", "StringValue": "r-2"},
        "ErrorCode": {"DataType": "Number", "StringValue": "200"},
        "ErrorMessage": {"DataType": "String", "StringValue": "went wrong"},
    }
    assert dead_letter_attributes("r-3", None, "EventAgeExceeded")["ErrorCode"]["StringValue"] == "429"
