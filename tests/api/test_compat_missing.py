"""What AWS answers when the thing asked about is not there: policies, layer versions, layer content."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from support import make_zip

HELLO = {"app.py": "def handler(event, context):\n    return 'hi'\n"}
LAYER = make_zip({"python/shared.py": "X = 1\n"})
NOT_THERE = "The resource you requested does not exist."


def refused(call, **params) -> tuple[str, str, int]:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def layer(lam):  # type: ignore[no-untyped-def]
    published = lam.publish_layer_version(
        LayerName="compat-missing", Content={"ZipFile": LAYER}, CompatibleRuntimes=["python3.12"]
    )
    yield published
    lam.delete_layer_version(LayerName="compat-missing", VersionNumber=published["Version"])


def test_remove_permission_without_any_policy(lam, deploy):
    name = deploy(HELLO)
    assert refused(lam.remove_permission, FunctionName=name, StatementId="s") == (
        "ResourceNotFoundException",
        "No policy is associated with the given resource.",
        404,
    )
    assert refused(lam.remove_permission, FunctionName="compat-nobody", StatementId="s") == (
        "ResourceNotFoundException",
        "No policy found for: arn:aws:lambda:us-east-1:000000000000:function:compat-nobody",
        404,
    )


def test_remove_layer_version_permission_without_any_policy(lam, layer):
    version = layer["Version"]
    remove = lam.remove_layer_version_permission
    assert refused(remove, LayerName="compat-missing", VersionNumber=version, StatementId="s") == (
        "ResourceNotFoundException",
        "No policy is associated with the given resource.",
        404,
    )
    assert refused(remove, LayerName="compat-missing", VersionNumber=version + 1, StatementId="s") == (
        "ResourceNotFoundException",
        f"Layer version {layer['LayerArn']}:{version + 1} does not exist.",
        404,
    )


def test_layer_versions_that_are_not_there(lam, raw_lam, layer):
    version = layer["Version"]
    assert refused(lam.get_layer_version, LayerName="compat-missing", VersionNumber=version + 1) == (
        "ResourceNotFoundException",
        NOT_THERE,
        404,
    )
    assert refused(lam.get_layer_version_by_arn, Arn=f"{layer['LayerArn']}:{version + 1}")[1] == NOT_THERE
    for number in (0, -1):
        assert refused(raw_lam.get_layer_version, LayerName="compat-missing", VersionNumber=number) == (
            "InvalidParameterValueException",
            "Layer Version Cannot be less than 1",
            400,
        )
    assert lam.list_layer_versions(LayerName="compat-nolayer")["LayerVersions"] == []
    lam.delete_layer_version(LayerName="compat-nolayer", VersionNumber=1)  # deleting nothing succeeds


def test_publish_layer_version_without_content(raw_lam):
    for content in ({}, {"ZipFile": b""}):
        assert refused(raw_lam.publish_layer_version, LayerName="compat-empty", Content=content) == (
            "InvalidParameterValueException",
            "Uploaded file must be a non-empty zip",
            400,
        )


def test_list_layers_shapes_and_filters(lam, layer):
    newer = lam.publish_layer_version(
        LayerName="compat-missing", Content={"ZipFile": LAYER}, CompatibleArchitectures=["arm64"], LicenseInfo="MIT"
    )
    try:
        listed = {item["LayerName"]: item for item in lam.list_layers()["Layers"]}
        latest = listed["compat-missing"]["LatestMatchingVersion"]
        assert listed["compat-missing"]["LayerArn"] == layer["LayerArn"]
        assert latest["LayerVersionArn"] == newer["LayerVersionArn"] and latest["LicenseInfo"] == "MIT"
        assert latest["CompatibleArchitectures"] == ["arm64"] and latest["CompatibleRuntimes"] == []
        by_runtime = {i["LayerName"]: i for i in lam.list_layers(CompatibleRuntime="python3.12")["Layers"]}
        assert by_runtime["compat-missing"]["LatestMatchingVersion"]["Version"] == layer["Version"]
        by_arch = lam.list_layer_versions(LayerName="compat-missing", CompatibleArchitecture="arm64")["LayerVersions"]
        assert [v["Version"] for v in by_arch] == [newer["Version"]]
        every = lam.list_layer_versions(LayerName="compat-missing")["LayerVersions"]
        assert [v["Version"] for v in every] == [newer["Version"], layer["Version"]]  # newest first
        assert "compat-missing" not in {
            i["LayerName"] for i in lam.list_layers(CompatibleRuntime="nodejs22.x")["Layers"]
        }
    finally:
        lam.delete_layer_version(LayerName="compat-missing", VersionNumber=newer["Version"])


def test_permissions_of_an_alias_that_is_not_there(lam, deploy):
    name = deploy(HELLO, Publish=True)
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    params = {"Action": "lambda:InvokeFunction", "Principal": "s3.amazonaws.com", "StatementId": "s"}
    assert refused(lam.add_permission, FunctionName=name, Qualifier="alias-doesnotexist", **params) == (
        "ResourceNotFoundException",
        f"Cannot find alias arn: {arn}:alias-doesnotexist",
        404,
    )
    assert refused(lam.add_permission, FunctionName=name, Qualifier="42", **params) == (
        "ResourceNotFoundException",
        f"Function not found: {arn}:42",
        404,
    )
    assert refused(lam.remove_permission, FunctionName=name, Qualifier="alias-doesnotexist", StatementId="s") == (
        "ResourceNotFoundException",
        f"Cannot find alias arn: {arn}:alias-doesnotexist",
        404,
    )


def test_invoke_and_delete_of_what_is_not_there(raw_lam, lam, deploy):
    arn = "arn:aws:lambda:us-east-1:000000000000:function:compat-nobody"
    assert refused(raw_lam.invoke, FunctionName="compat-nobody") == (
        "ResourceNotFoundException",
        f"Function not found: {arn}:$LATEST",
        404,
    )
    assert refused(raw_lam.invoke, FunctionName="compat-nobody:7")[1] == f"Function not found: {arn}:7"
    name = deploy(HELLO, Publish=True)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    for function in (f"{name}:live", "compat-nobody:" + "a" * 65):
        assert refused(raw_lam.delete_function, FunctionName=function) == (
            "InvalidParameterValueException",
            "Deletion of aliases is not currently supported.",
            400,
        )
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "1"


def test_provisioned_concurrency_of_what_is_not_there(raw_lam, deploy):
    name = deploy(HELLO, Publish=True)
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    nobody = "arn:aws:lambda:us-east-1:000000000000:function:compat-nobody"
    get = raw_lam.get_provisioned_concurrency_config
    assert refused(get, FunctionName="compat-nobody", Qualifier="noalias") == (
        "ResourceNotFoundException",
        f"Cannot find alias arn: {nobody}:noalias",
        404,
    )
    assert refused(get, FunctionName=name, Qualifier="10")[1] == f"Function not found: {arn}:10"
    for call in (get, raw_lam.delete_provisioned_concurrency_config):
        assert refused(call, FunctionName=name, Qualifier="$LATEST") == (
            "InvalidParameterValueException",
            "The function resource provided must be an alias or a published version.",
            400,
        )
    put = raw_lam.put_provisioned_concurrency_config
    assert refused(put, FunctionName=name, Qualifier="doesnotexist", ProvisionedConcurrentExecutions=1)[1] == (
        f"Cannot find alias arn: {arn}:doesnotexist"
    )
