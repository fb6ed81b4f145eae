"""The botocore model drives routing, parsing and validation: check the cases clients rely on."""

from __future__ import annotations

import json

import pytest

from kindling.api.model import ServiceModel
from kindling.errors import ValidationError


@pytest.fixture(scope="module")
def model() -> ServiceModel:
    return ServiceModel()


@pytest.mark.parametrize(
    ("method", "path", "query", "operation"),
    [
        ("POST", "/2015-03-31/functions/f/invocations", {}, "Invoke"),
        (
            "GET",
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af",
            {},
            "GetFunction",
        ),
        ("GET", "/2019-09-30/functions/f/concurrency", {}, "GetFunctionConcurrency"),
        ("PUT", "/2017-10-31/functions/f/concurrency", {}, "PutFunctionConcurrency"),
        (
            "GET",
            "/2019-09-30/functions/f/provisioned-concurrency",
            {"List": ["ALL"]},
            "ListProvisionedConcurrencyConfigs",
        ),
        (
            "GET",
            "/2019-09-30/functions/f/provisioned-concurrency",
            {"Qualifier": ["1"]},
            "GetProvisionedConcurrencyConfig",
        ),
        ("POST", "/2014-11-13/functions/f/invoke-async/", {}, "InvokeAsync"),
        ("PUT", "/2019-09-25/functions/f/event-invoke-config", {}, "PutFunctionEventInvokeConfig"),
        ("POST", "/2019-09-25/functions/f/event-invoke-config", {}, "UpdateFunctionEventInvokeConfig"),
    ],
)
def test_routes(model, method, path, query, operation):
    found = model.match(method, path, query)
    assert found is not None and found[0].name == operation


def test_labels_are_url_decoded(model):
    _, labels = model.match(
        "GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af", {}
    )
    assert labels == {"FunctionName": "arn:aws:lambda:us-east-1:000000000000:function:f"}


def test_unknown_route(model):
    assert model.match("GET", "/2015-03-31/nothing-here", {}) is None


def test_parse_puts_members_where_the_model_says(model):
    operation, labels = model.match("POST", "/2015-03-31/functions/f/invocations", {})
    params = model.parse(
        operation,
        labels,
        {"Qualifier": ["live"]},
        {"x-amz-invocation-type": "Event", "x-amz-log-type": "Tail"},
        b'{"a": 1}',
    )
    assert params == {
        "FunctionName": "f",
        "Qualifier": "live",
        "InvocationType": "Event",
        "LogType": "Tail",
        "Payload": b'{"a": 1}',
    }


def test_parse_decodes_blobs_and_numbers(model):
    operation, labels = model.match("POST", "/2015-03-31/functions", {})
    body = json.dumps({"FunctionName": "f", "Code": {"ZipFile": "aGk="}, "MemorySize": 256, "Unknown": 1})
    params = model.parse(operation, labels, {}, {}, body.encode())
    assert params["Code"] == {"ZipFile": b"hi"}
    assert params["MemorySize"] == 256
    assert "Unknown" not in params


def _validate(model, operation_name: str, params: dict) -> str:
    with pytest.raises(ValidationError) as caught:
        model.validate(model.operations[operation_name], params)
    return caught.value.message


def test_validation_messages_follow_aws(model):
    message = _validate(
        model,
        "CreateFunction",
        {"FunctionName": "f", "Role": "arn:aws:iam::000000000000:role/r", "Code": {}, "MemorySize": 64},
    )
    assert message == (
        "1 validation error detected: Value '64' at 'memorySize' failed to satisfy constraint: "
        "Member must have value greater than or equal to 128"
    )


def test_several_problems_are_counted(model):
    params = {"FunctionName": "f", "Code": {}, "Timeout": 0, "TracingConfig": {"Mode": "cobol"}}
    message = _validate(model, "CreateFunction", params)
    assert message.startswith("3 validation errors detected: ")
    assert "Value null at 'role' failed to satisfy constraint: Member must not be null" in message
    assert "Member must satisfy enum value set" in message


def test_sensitive_values_are_not_echoed(model):
    message = _validate(
        model,
        "CreateFunction",
        {
            "FunctionName": "f",
            "Role": "arn:aws:iam::000000000000:role/r",
            "Code": {},
            "Environment": {"Variables": {"1x": "secret"}},
        },
    )
    assert "secret" not in message and "1x" not in message.split("at '")[0]
