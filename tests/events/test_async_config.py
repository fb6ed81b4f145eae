"""The *FunctionEventInvokeConfig operations and the async payload limit, as boto3 sees them."""

from __future__ import annotations

import datetime

import pytest
from botocore.exceptions import ClientError

SQS = "arn:aws:sqs:us-east-1:000000000000:somewhere"
HELLO = {"app.py": "def handler(event, context):\n    return event\n"}


def error_of(call, **kwargs) -> tuple[str, str, int]:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_put_get_update_list_delete(lam, deploy):
    name = deploy(HELLO)
    other = deploy(HELLO)
    arn = lam.get_function_configuration(FunctionName=name)["FunctionArn"]
    other_arn = lam.get_function_configuration(FunctionName=other)["FunctionArn"]
    put = lam.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=1, DestinationConfig={"OnSuccess": {"Destination": SQS}}
    )
    assert put["FunctionArn"] == f"{arn}:$LATEST"
    assert put["MaximumRetryAttempts"] == 1 and "MaximumEventAgeInSeconds" not in put
    assert put["DestinationConfig"] == {"OnSuccess": {"Destination": SQS}, "OnFailure": {}}
    assert isinstance(put["LastModified"], datetime.datetime)
    got = lam.get_function_event_invoke_config(FunctionName=name)
    assert {k: v for k, v in got.items() if k != "ResponseMetadata"} == {
        k: v for k, v in put.items() if k != "ResponseMetadata"
    }
    updated = lam.update_function_event_invoke_config(
        FunctionName=arn, MaximumEventAgeInSeconds=120, DestinationConfig={"OnFailure": {"Destination": other_arn}}
    )
    assert updated["MaximumRetryAttempts"] == 1 and updated["MaximumEventAgeInSeconds"] == 120
    assert updated["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {"Destination": other_arn}}
    replaced = lam.put_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=60)
    assert "MaximumRetryAttempts" not in replaced and replaced["DestinationConfig"] == {
        "OnSuccess": {},
        "OnFailure": {},
    }
    listed = lam.list_function_event_invoke_configs(FunctionName=name)["FunctionEventInvokeConfigs"]
    assert [c["FunctionArn"] for c in listed] == [f"{arn}:$LATEST"]
    assert lam.delete_function_event_invoke_config(FunctionName=name)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert lam.list_function_event_invoke_configs(FunctionName=name)["FunctionEventInvokeConfigs"] == []
    code, message, status = error_of(lam.get_function_event_invoke_config, FunctionName=name)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert message == f"The function {arn}:$LATEST doesn't have an EventInvokeConfig"


def test_validation_matches_aws(lam, raw_lam, deploy):
    name = deploy(HELLO)
    code, message, status = error_of(lam.put_function_event_invoke_config, FunctionName=name)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert message == "You must specify at least one of error handling or destination setting."
    arn = lam.get_function_configuration(FunctionName=name)["FunctionArn"]
    _, message, _ = error_of(
        lam.put_function_event_invoke_config, FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": arn}}
    )
    assert message == "You can't specify the function as a destination for itself."
    missing = "arn:aws:lambda:us-east-1:000000000000:function:does-not-exist"
    _, message, _ = error_of(
        lam.put_function_event_invoke_config,
        FunctionName=name,
        DestinationConfig={"OnFailure": {"Destination": missing}},
    )
    assert message == f"The destination ARN {missing} is invalid."
    s3 = "arn:aws:s3:::bucket"
    _, message, _ = error_of(
        lam.put_function_event_invoke_config, FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": s3}}
    )
    assert (
        message
        == f"The provided destination config DestinationConfig(onSuccess=OnSuccess(destination={s3}), onFailure=null) is invalid."
    )
    code, message, _ = error_of(raw_lam.put_function_event_invoke_config, FunctionName=name, MaximumRetryAttempts=3)
    assert code == "ValidationException" and "maximumRetryAttempts" in message and "less than or equal to 2" in message
    code, message, _ = error_of(
        raw_lam.put_function_event_invoke_config, FunctionName=name, MaximumEventAgeInSeconds=59
    )
    assert code == "ValidationException" and "greater than or equal to 60" in message
    code, message, status = error_of(lam.put_function_event_invoke_config, FunctionName="nope", MaximumRetryAttempts=1)
    assert (code, message, status) == ("ResourceNotFoundException", "The function doesn't exist.", 404)
    code, _, _ = error_of(lam.update_function_event_invoke_config, FunctionName=name, MaximumRetryAttempts=1)
    assert code == "ResourceNotFoundException"  # nothing to update yet
    code, _, _ = error_of(lam.delete_function_event_invoke_config, FunctionName=name)
    assert code == "ResourceNotFoundException"


def test_an_event_over_one_megabyte_is_refused(lam, deploy):
    name = deploy(HELLO)
    body = b'"' + b"x" * 1_048_576 + b'"'
    code, message, status = error_of(lam.invoke, FunctionName=name, InvocationType="Event", Payload=body)
    assert (status, code) == (413, "RequestTooLargeException")
    assert "1048576 bytes" in message
    exactly = b'"' + b"x" * (1_048_576 - 2) + b'"'
    assert lam.invoke(FunctionName=name, InvocationType="Event", Payload=exactly)["StatusCode"] == 202


def test_configs_per_qualifier(lam, deploy):
    name = deploy(HELLO)
    arn = lam.get_function_configuration(FunctionName=name)["FunctionArn"]
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    on_version = lam.put_function_event_invoke_config(FunctionName=name, Qualifier=version, MaximumRetryAttempts=1)
    assert on_version["FunctionArn"] == f"{arn}:{version}"
    assert lam.get_function_event_invoke_config(FunctionName=f"{name}:{version}")["MaximumRetryAttempts"] == 1
    listed = lam.list_function_event_invoke_configs(FunctionName=name)["FunctionEventInvokeConfigs"]
    assert sorted(c["FunctionArn"] for c in listed) == sorted([f"{arn}:$LATEST", f"{arn}:{version}"])
    page = lam.list_function_event_invoke_configs(FunctionName=name, MaxItems=1)
    assert len(page["FunctionEventInvokeConfigs"]) == 1 and "NextMarker" in page
    rest = lam.list_function_event_invoke_configs(FunctionName=name, Marker=page["NextMarker"])
    assert len(rest["FunctionEventInvokeConfigs"]) == 1 and "NextMarker" not in rest
    code, _, _ = error_of(lam.get_function_event_invoke_config, FunctionName=name, Qualifier="42")
    assert code == "ResourceNotFoundException"


def test_a_deleted_function_takes_its_config_with_it(lam, deploy):
    name = deploy(HELLO)
    lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0)
    lam.delete_function(FunctionName=name)
    deploy(HELLO, name=name)
    with pytest.raises(ClientError) as caught:
        lam.get_function_event_invoke_config(FunctionName=name)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
