"""Operations that answered 501: runtime management and scaling configurations, and whole resource policies."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

HELLO = {"app.py": "def handler(event, context):\n    return 'hi'\n"}
RUNTIME_VERSION = "arn:aws:lambda:us-east-1::runtime:0123456789abcdef"


def refused(call, **params) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_runtime_management_config(lam, deploy):
    name = deploy(HELLO, Publish=True)
    arn = lam.get_function_configuration(FunctionName=name)["FunctionArn"]
    got = lam.get_runtime_management_config(FunctionName=name)
    assert (got["UpdateRuntimeOn"], got["FunctionArn"]) == ("Auto", arn)
    put = lam.put_runtime_management_config(
        FunctionName=name, Qualifier="1", UpdateRuntimeOn="Manual", RuntimeVersionArn=RUNTIME_VERSION
    )
    assert (put["UpdateRuntimeOn"], put["FunctionArn"], put["RuntimeVersionArn"]) == (
        "Manual",
        f"{arn}:1",
        RUNTIME_VERSION,
    )
    pinned = lam.get_runtime_management_config(FunctionName=name, Qualifier="1")
    assert (pinned["UpdateRuntimeOn"], pinned["RuntimeVersionArn"]) == ("Manual", RUNTIME_VERSION)
    assert lam.get_runtime_management_config(FunctionName=name)["UpdateRuntimeOn"] == "Auto"  # $LATEST untouched
    code, _ = refused(lam.put_runtime_management_config, FunctionName=name, UpdateRuntimeOn="Manual")
    assert code == "InvalidParameterValueException"
    code, _ = refused(lam.get_runtime_management_config, FunctionName="compat-nobody")
    assert code == "ResourceNotFoundException"


def test_function_scaling_config(lam, deploy):
    name = deploy(HELLO, Publish=True)
    arn = lam.get_function_configuration(FunctionName=name)["FunctionArn"]
    assert lam.get_function_scaling_config(FunctionName=name, Qualifier="1")["FunctionArn"] == f"{arn}:1"
    config = {"MinExecutionEnvironments": 1, "MaxExecutionEnvironments": 5}
    put = lam.put_function_scaling_config(FunctionName=name, Qualifier="1", FunctionScalingConfig=config)
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 202 and put["FunctionState"] == "Active"
    got = lam.get_function_scaling_config(FunctionName=name, Qualifier="$LATEST.PUBLISHED")
    assert got["RequestedFunctionScalingConfig"] == config == got["AppliedFunctionScalingConfig"]
    backwards = {"MinExecutionEnvironments": 5, "MaxExecutionEnvironments": 1}
    code, _ = refused(
        lam.put_function_scaling_config, FunctionName=name, Qualifier="1", FunctionScalingConfig=backwards
    )
    assert code == "InvalidParameterValueException"
    assert refused(lam.get_function_scaling_config, FunctionName=name, Qualifier="7") == (
        "ResourceNotFoundException",
        f"Function not found: {arn}:7",
    )


def test_resource_policy_operations(lam, deploy):
    name = deploy(HELLO, Publish=True)
    arn = lam.get_function_configuration(FunctionName=name)["FunctionArn"]
    statement = {
        "Sid": "s3",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": arn,
    }
    put = lam.put_resource_policy(
        ResourceArn=arn, Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    )
    assert json.loads(put["Policy"])["Statement"] == [statement]
    got = lam.get_resource_policy(ResourceArn=arn)
    assert got["RevisionId"] == put["RevisionId"]
    assert json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"] == [statement]  # one policy, two APIs
    lam.remove_permission(FunctionName=name, StatementId="s3")
    assert refused(lam.get_resource_policy, ResourceArn=arn) == (
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
    )
    lam.add_permission(FunctionName=name, StatementId="p", Action="lambda:InvokeFunction", Principal="*")
    stale = "00000000-0000-0000-0000-000000000000"
    assert refused(lam.delete_resource_policy, ResourceArn=arn, RevisionId=stale)[0] == "PreconditionFailedException"
    lam.delete_resource_policy(ResourceArn=arn)
    assert refused(lam.get_policy, FunctionName=name)[0] == "ResourceNotFoundException"
    assert refused(lam.put_resource_policy, ResourceArn=f"{arn}:1", Policy="{not json")[0] == (
        "InvalidParameterValueException"
    )
