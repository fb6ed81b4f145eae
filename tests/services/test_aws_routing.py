"""Which service a request is for, from its headers alone (``services/routing.py``)."""

from __future__ import annotations

import pytest

from kindling.services.routing import changes_state, operation, service_of


def scope(headers: dict[str, str], query: str = "") -> dict:
    return {
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "query_string": query.encode(),
    }


def signed(service: str, **extra: str) -> dict:
    credential = (
        f"AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=ab"
    )
    return scope({"Authorization": credential, **extra})


@pytest.mark.parametrize(
    ("service", "expected"),
    [("s3", "s3"), ("sqs", "sqs"), ("ec2", "ec2"), ("sts", "sts"), ("kms", "kms"), ("lambda", None), ("logs", None)],
)
def test_the_credential_scope_names_the_service(service: str, expected: str | None) -> None:
    assert service_of(signed(service)) == expected


def test_dynamodb_streams_sign_as_dynamodb_and_are_told_apart_by_target() -> None:
    assert service_of(signed("dynamodb", **{"X-Amz-Target": "DynamoDB_20120810.PutItem"})) == "dynamodb"
    assert (
        service_of(signed("dynamodb", **{"X-Amz-Target": "DynamoDBStreams_20120810.GetRecords"})) == "dynamodbstreams"
    )


def test_presigned_urls_and_unsigned_requests() -> None:
    query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=ab"
    assert service_of(scope({}, query)) == "s3"
    lambda_query = query.replace("%2Fs3%2F", "%2Flambda%2F")
    assert service_of(scope({}, lambda_query)) is None
    assert service_of(scope({"X-Amz-Target": "AmazonSQS.SendMessage"})) == "sqs"
    assert service_of(scope({"Host": "photos.s3.amazonaws.com"})) == "s3"
    assert service_of(scope({"Host": "127.0.0.1:9000"})) is None  # a plain request stays the Lambda API's
    assert service_of(scope({"Authorization": "AWS AKID:signature"})) is None


def test_only_what_changes_state_is_journaled() -> None:
    assert operation("POST", "DynamoDB_20120810.PutItem", "", None) == "PutItem"
    assert operation("POST", "", "", b"Action=RunInstances&Version=2016-11-15") == "RunInstances"
    assert operation("POST", "", "", b"Version=1&Action=ListTopics") == "ListTopics"
    assert changes_state("dynamodb", "POST", "PutItem")
    assert not changes_state("dynamodb", "POST", "GetItem")
    assert not changes_state("sqs", "POST", "ReceiveMessage")  # journaled only when it took messages
    assert changes_state("s3", "PUT", "PUT") and not changes_state("s3", "GET", "GET")
