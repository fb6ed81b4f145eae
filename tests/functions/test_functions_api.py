"""The function-management API as boto3 sees it, including every error it can give."""

from __future__ import annotations

import base64
import hashlib
import urllib.request

import pytest
from botocore.exceptions import ClientError

from support import ROLE, make_zip

HELLO = {"app.py": "def handler(event, context):\n    return 'hi'\n"}


def error_of(call, *args, **kwargs) -> tuple[str, int, dict]:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response


def test_create_returns_lambdas_configuration(lam, deploy):
    code = make_zip(HELLO)
    name = "config-shape"
    created = lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="app.handler",
        Code={"ZipFile": code},
        Description="demo",
    )
    try:
        assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
        assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
        assert created["CodeSha256"] == base64.b64encode(hashlib.sha256(code).digest()).decode()
        assert created["CodeSize"] == len(code)
        assert (created["MemorySize"], created["Timeout"], created["Version"]) == (128, 3, "$LATEST")
        assert created["State"] == "Pending" and created["StateReasonCode"] == "Creating"
        assert created["Architectures"] == ["x86_64"]
        assert created["EphemeralStorage"] == {"Size": 512}
        assert created["PackageType"] == "Zip"
        assert created["Description"] == "demo"
        assert len(created["RevisionId"]) == 36
        assert created["LastModified"].endswith("+0000")
        lam.get_waiter("function_active_v2").wait(FunctionName=name)
        assert lam.get_function_configuration(FunctionName=name)["State"] == "Active"
    finally:
        lam.delete_function(FunctionName=name)


def test_get_function_code_location_downloads_the_exact_zip(lam, deploy):
    name = deploy(HELLO)
    function = lam.get_function(FunctionName=name)
    with urllib.request.urlopen(function["Code"]["Location"]) as reply:
        data = reply.read()
    assert base64.b64encode(hashlib.sha256(data).digest()).decode() == function["Configuration"]["CodeSha256"]
    assert function["Code"]["RepositoryType"] == "S3"


def test_function_name_forms(lam, deploy):
    name = deploy(HELLO)
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    for form in (name, arn, f"000000000000:function:{name}", f"{name}:$LATEST"):
        assert lam.get_function_configuration(FunctionName=form)["FunctionName"] == name
    code, status, response = error_of(
        lam.get_function, FunctionName=f"arn:aws:lambda:eu-west-1:000000000000:function:{name}"
    )
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert "not reachable in this region" in response["Error"]["Message"]


def test_list_functions_paginates(lam, deploy):
    names = {deploy(HELLO) for _ in range(5)}
    page = lam.list_functions(MaxItems=2)
    assert len(page["Functions"]) == 2 and "NextMarker" in page
    seen = {
        f["FunctionName"]
        for p in lam.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2})
        for f in p["Functions"]
    }
    assert names <= seen


def test_update_code_and_configuration(lam, deploy):
    name = deploy(HELLO)
    before = lam.get_function_configuration(FunctionName=name)
    updated = lam.update_function_configuration(
        FunctionName=name,
        MemorySize=256,
        Timeout=10,
        Description="changed",
        Handler="app.handler",
        Environment={"Variables": {"AB": "1"}},
        EphemeralStorage={"Size": 1024},
    )
    assert updated["LastUpdateStatus"] == "InProgress"
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    config = lam.get_function_configuration(FunctionName=name)
    assert (config["MemorySize"], config["Timeout"], config["Description"]) == (256, 10, "changed")
    assert config["Environment"] == {"Variables": {"AB": "1"}}
    assert config["EphemeralStorage"] == {"Size": 1024}
    assert config["LastUpdateStatus"] == "Successful"
    assert config["RevisionId"] != before["RevisionId"]
    new_code = make_zip({"app.py": "def handler(event, context):\n    return 'new code'\n"})
    lam.update_function_code(FunctionName=name, ZipFile=new_code)
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"new code"'
    code, status, _ = error_of(lam.update_function_code, FunctionName=name, ZipFile=new_code, RevisionId="stale")
    assert (code, status) == ("PreconditionFailedException", 412)


def test_configuration_change_reaches_running_environments(lam, deploy):
    name = deploy(
        {"app.py": "import os\ndef handler(event, context):\n    return os.environ.get('COLOUR')\n"},
        Environment={"Variables": {"COLOUR": "red"}},
    )
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"red"'
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"COLOUR": "blue"}})
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"blue"'


def test_delete_function(lam, deploy):
    name = deploy(HELLO)
    assert lam.delete_function(FunctionName=name)["ResponseMetadata"]["HTTPStatusCode"] == 204
    code, status, response = error_of(lam.get_function, FunctionName=name)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert response["Error"]["Message"] == f"Function not found: arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert error_of(lam.invoke, FunctionName=name)[:2] == ("ResourceNotFoundException", 404)


def test_account_settings_count_functions(lam, deploy):
    before = lam.get_account_settings()["AccountUsage"]["FunctionCount"]
    deploy(HELLO)
    settings = lam.get_account_settings()
    assert settings["AccountUsage"]["FunctionCount"] == before + 1
    assert settings["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert settings["AccountLimit"]["CodeSizeZipped"] == 52428800


def create(lam, **overrides):  # type: ignore[no-untyped-def]
    params = {
        "FunctionName": "never-created",
        "Runtime": "python3.12",
        "Role": ROLE,
        "Handler": "app.handler",
        "Code": {"ZipFile": make_zip(HELLO)},
        **overrides,
    }
    return error_of(lam.create_function, **params)


@pytest.mark.parametrize(
    ("overrides", "code", "fragment"),
    [
        ({"MemorySize": 64}, "ValidationException", "Member must have value greater than or equal to 128"),
        ({"MemorySize": 20000}, "ValidationException", "Member must have value less than or equal to 10240"),
        ({"Timeout": 901}, "ValidationException", "Member must have value less than or equal to 900"),
        ({"Timeout": 0}, "ValidationException", "Member must have value greater than or equal to 1"),
        ({"Role": "not-a-role"}, "ValidationException", "at 'role' failed to satisfy constraint"),
        ({"Runtime": "cobol"}, "InvalidParameterValueException", "Member must satisfy enum value set"),
        ({"Runtime": "python3.7"}, "InvalidParameterValueException", "python3.7 is no longer supported"),
        ({"Runtime": "dotnet8"}, "InvalidParameterValueException", "dotnet8 is not available on this Kindling server"),
        (
            {"FunctionName": "x" * 65},
            "InvalidParameterValueException",
            "Member must have length less than or equal to 64",
        ),
        (
            {"FunctionName": "bad name!"},
            "ValidationException",
            "at 'functionName' failed to satisfy constraint",
        ),
        (
            {"Environment": {"Variables": {"AWS_REGION": "x"}}},
            "InvalidParameterValueException",
            "Reserved keys used",
        ),
        (
            {"Environment": {"Variables": {"BIG": "x" * 5000}}},
            "InvalidParameterValueException",
            "exceeded the 4KB limit",
        ),
        ({"Environment": {"Variables": {"1bad": "x"}}}, "ValidationException", "environment.variables"),
        ({"EphemeralStorage": {"Size": 100}}, "ValidationException", "ephemeralStorage.size"),
        (
            {"Code": {"S3Bucket": "my-bucket", "S3Key": "code.zip"}},
            "InvalidParameterValueException",
            "S3 Error Code: NoSuchBucket",
        ),
        ({"PackageType": "Image", "Code": {"ImageUri": "x"}}, "InvalidParameterValueException", "Image"),
    ],
)
def test_invalid_create_requests_are_refused(lam, raw_lam, overrides, code, fragment):
    got, status, response = create(raw_lam, **overrides)
    assert got == code
    assert status == 400
    assert fragment in response["Error"]["Message"]
    assert "never-created" not in {f["FunctionName"] for f in lam.list_functions()["Functions"]}


def test_duplicate_create_is_a_conflict(lam, deploy):
    name = deploy(HELLO)
    assert create(lam, FunctionName=name)[:2] == ("ResourceConflictException", 409)


def test_unknown_functions_and_qualifiers(lam, deploy):
    assert error_of(lam.get_function_configuration, FunctionName="nope")[:2] == (
        "ResourceNotFoundException",
        404,
    )
    name = deploy(HELLO)
    assert error_of(lam.get_function, FunctionName=name, Qualifier="7")[:2] == (
        "ResourceNotFoundException",
        404,
    )
    code, status, _ = error_of(lam.get_function, FunctionName=f"{name}:1", Qualifier="2")
    assert (code, status) == ("InvalidParameterValueException", 400)


def test_error_responses_carry_the_aws_headers(server):
    import json

    request = urllib.request.Request(server.endpoint + "/2015-03-31/functions/nope/configuration")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    reply = caught.value
    assert reply.code == 404
    assert reply.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert reply.headers["x-amzn-RequestId"]
    assert json.loads(reply.read()) == {
        "Type": "User",
        "Message": "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope",
    }
