"""FunctionName as a name, a full ARN, a partial ARN (``ACCOUNT:function:NAME``) or a qualified ARN, wherever AWS
takes one."""

from __future__ import annotations

import contextlib

import pytest
from botocore.exceptions import ClientError

from support import ROLE, make_zip

HELLO = {"app.py": "def handler(event, context):\n    return 'hi'\n"}
ACCOUNT = "000000000000"


def forms(name: str) -> list[str]:
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"
    return [name, arn, f"{ACCOUNT}:function:{name}"]


def test_create_function_takes_a_full_or_partial_arn(lam):
    names = ["compat-arn-full", "compat-arn-partial"]
    given = [f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{names[0]}", f"{ACCOUNT}:function:{names[1]}"]
    try:
        for name, function_name in zip(names, given, strict=True):
            created = lam.create_function(
                FunctionName=function_name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                Code={"ZipFile": make_zip(HELLO)},
            )  # fmt: skip
            assert created["FunctionName"] == name
            assert created["FunctionArn"] == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"
        with pytest.raises(ClientError) as caught:
            lam.create_function(
                FunctionName=f"arn:aws:lambda:ap-southeast-1:{ACCOUNT}:function:elsewhere", Runtime="python3.12",
                Role=ROLE, Handler="app.handler", Code={"ZipFile": make_zip(HELLO)},
            )  # fmt: skip
        assert caught.value.response["Error"] == {
            "Code": "ResourceNotFoundException",
            "Message": "Functions from 'ap-southeast-1' are not reachable in this region ('us-east-1')",
        }
    finally:
        for name in names:
            with contextlib.suppress(ClientError):
                lam.delete_function(FunctionName=name)


def test_alias_operations_take_every_form_of_the_function(lam, deploy):
    name = deploy(HELLO, Publish=True)
    alias_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}:live"
    for index, function in enumerate([*forms(name), alias_arn, f"{name}:live"]):
        alias = f"a{index}"
        created = lam.create_alias(FunctionName=function, Name=alias, FunctionVersion="1")
        assert created["AliasArn"] == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}:{alias}"
        assert lam.get_alias(FunctionName=function, Name=alias)["FunctionVersion"] == "1"
        assert lam.update_alias(FunctionName=function, Name=alias, Description="d")["Description"] == "d"
        assert alias in [a["Name"] for a in lam.list_aliases(FunctionName=function)["Aliases"]]
        lam.delete_alias(FunctionName=function, Name=alias)
        with pytest.raises(lam.exceptions.ResourceNotFoundException):
            lam.get_alias(FunctionName=name, Name=alias)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    assert lam.get_alias(FunctionName=alias_arn, Name="live")["AliasArn"] == alias_arn


def test_per_function_operations_take_every_form(lam, deploy):
    name = deploy(HELLO, Publish=True)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    for function in forms(name):
        assert lam.get_function(FunctionName=function)["Configuration"]["FunctionName"] == name
        assert lam.get_function_configuration(FunctionName=f"{function}:live")["Version"] == "1"
        assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=function)["Versions"]] == [
            "$LATEST",
            "1",
        ]
        assert lam.put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=3)
        assert lam.get_function_concurrency(FunctionName=function)["ReservedConcurrentExecutions"] == 3
        lam.delete_function_concurrency(FunctionName=function)
        lam.update_function_configuration(FunctionName=function, Description=function)
        lam.add_permission(
            FunctionName=function, StatementId="s", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com"
        )
        assert '"Sid":"s"' in lam.get_policy(FunctionName=function)["Policy"].replace(" ", "")
        lam.remove_permission(FunctionName=function, StatementId="s")
        lam.put_function_event_invoke_config(FunctionName=function, MaximumRetryAttempts=1)
        assert lam.get_function_event_invoke_config(FunctionName=function)["MaximumRetryAttempts"] == 1
        lam.delete_function_event_invoke_config(FunctionName=function)
        url = lam.create_function_url_config(FunctionName=function, AuthType="NONE")["FunctionUrl"]
        assert lam.get_function_url_config(FunctionName=function)["FunctionUrl"] == url
        assert [
            c["FunctionUrl"] for c in lam.list_function_url_configs(FunctionName=function)["FunctionUrlConfigs"]
        ] == [url]
        lam.delete_function_url_config(FunctionName=function)
        assert lam.get_function_recursion_config(FunctionName=function)["RecursiveLoop"] == "Terminate"
        assert lam.get_runtime_management_config(FunctionName=function)["UpdateRuntimeOn"] == "Auto"
        assert lam.get_function_code_signing_config(FunctionName=function).get("CodeSigningConfigArn") is None
        assert lam.list_provisioned_concurrency_configs(FunctionName=function)["ProvisionedConcurrencyConfigs"] == []
        assert lam.list_function_event_invoke_configs(FunctionName=function)["FunctionEventInvokeConfigs"] == []
        assert lam.publish_version(FunctionName=function)["Version"] in ("1", "2", "3", "4")


def test_concurrency_of_a_version_or_alias_is_refused_as_aws_does(raw_lam, deploy):
    name = deploy(HELLO, Publish=True)
    with pytest.raises(ClientError) as caught:
        raw_lam.put_function_concurrency(FunctionName=f"{name}:1", ReservedConcurrentExecutions=1)
    assert caught.value.response["Error"] == {
        "Code": "InvalidParameterValueException",
        "Message": "This operation is permitted on Lambda functions only. Aliases and versions do not support this "
        "operation. Please specify either a function name or an unqualified function ARN.",
    }
