"""Versions and aliases: immutable published versions, qualifiers everywhere, weighted aliases."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from support import make_zip

ARN = "arn:aws:lambda:us-east-1:000000000000:function:"


def code(text: str) -> dict[str, str]:
    return {
        "app.py": (
            "import os\n"
            "def handler(event, context):\n"
            f"    return {{'says': {text!r}, 'version': os.environ['AWS_LAMBDA_FUNCTION_VERSION'],\n"
            "            'arn': context.invoked_function_arn}\n"
        )
    }


def call(lam, name: str, **kwargs) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    reply = lam.invoke(FunctionName=name, **kwargs)
    return reply, json.loads(reply["Payload"].read())


def error(call_, **kwargs) -> tuple[str, int, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as caught:
        call_(**kwargs)
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def test_published_versions_are_immutable(lam, deploy):
    name = deploy(code("one"))
    first = lam.publish_version(FunctionName=name, Description="first")
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert (first["Version"], first["FunctionArn"], first["Description"]) == ("1", f"{ARN}{name}:1", "first")
    assert lam.publish_version(FunctionName=name)["Version"] == "1"  # nothing changed: the same version
    lam.update_function_code(FunctionName=name, ZipFile=make_zip(code("two")))
    lam.update_function_configuration(FunctionName=name, MemorySize=256)
    assert lam.publish_version(FunctionName=name)["Version"] == "2"
    lam.update_function_code(FunctionName=name, ZipFile=make_zip(code("three")))

    reply, body = call(lam, name, Qualifier="1")
    assert reply["ExecutedVersion"] == "1"
    assert body == {"says": "one", "version": "1", "arn": f"{ARN}{name}:1"}
    assert call(lam, f"{name}:2")[1]["says"] == "two"
    reply, body = call(lam, name)
    assert (reply["ExecutedVersion"], body["says"], body["version"]) == ("$LATEST", "three", "$LATEST")

    assert lam.get_function_configuration(FunctionName=name, Qualifier="1")["MemorySize"] == 128
    assert lam.get_function(FunctionName=f"{ARN}{name}:2")["Configuration"]["MemorySize"] == 256
    versions = [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]]
    assert versions == ["$LATEST", "1", "2"]


def test_publish_on_create_and_update(lam, deploy):
    name = deploy(code("a"), Publish=True)
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]] == ["$LATEST", "1"]
    updated = lam.update_function_code(FunctionName=name, ZipFile=make_zip(code("b")), Publish=True)
    assert updated["Version"] == "$LATEST"
    assert call(lam, name, Qualifier="2")[1]["says"] == "b"


def test_version_numbers_are_never_reused(lam, deploy):
    name = deploy(code("a"), Publish=True)
    lam.delete_function(FunctionName=name, Qualifier="1")
    assert error(lam.get_function, FunctionName=name, Qualifier="1")[:2] == ("ResourceNotFoundException", 404)
    lam.update_function_code(FunctionName=name, ZipFile=make_zip(code("b")))
    assert lam.publish_version(FunctionName=name)["Version"] == "2"
    assert error(lam.delete_function, FunctionName=name, Qualifier="$LATEST")[0] == "InvalidParameterValueException"


def test_publish_preconditions(lam, deploy):
    name = deploy(code("a"))
    assert error(lam.publish_version, FunctionName=name, CodeSha256="wrong")[0] == "InvalidParameterValueException"
    assert error(lam.publish_version, FunctionName=name, RevisionId="stale")[:2] == ("PreconditionFailedException", 412)
    current = lam.get_function_configuration(FunctionName=name)
    assert (
        lam.publish_version(FunctionName=name, CodeSha256=current["CodeSha256"], RevisionId=current["RevisionId"])[
            "Version"
        ]
        == "1"
    )


def test_aliases(lam, deploy):
    name = deploy(code("one"), Publish=True)
    created = lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1", Description="prod")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert (created["AliasArn"], created["FunctionVersion"]) == (f"{ARN}{name}:live", "1")
    reply, body = call(lam, name, Qualifier="live")
    assert reply["ExecutedVersion"] == "1"
    assert body["arn"] == f"{ARN}{name}:live"  # the context keeps the alias ARN
    assert lam.get_function_configuration(FunctionName=f"{name}:live")["Version"] == "1"

    lam.update_function_code(FunctionName=name, ZipFile=make_zip(code("two")), Publish=True)
    revision = lam.get_alias(FunctionName=name, Name="live")["RevisionId"]
    assert error(lam.update_alias, FunctionName=name, Name="live", FunctionVersion="2", RevisionId="x")[1] == 412
    moved = lam.update_alias(FunctionName=name, Name="live", FunctionVersion="2", RevisionId=revision)
    assert moved["FunctionVersion"] == "2" and moved["Description"] == "prod"
    assert call(lam, f"{name}:live")[1]["says"] == "two"
    lam.create_alias(FunctionName=name, Name="old", FunctionVersion="1")
    assert [a["Name"] for a in lam.list_aliases(FunctionName=name)["Aliases"]] == ["live", "old"]
    assert [a["Name"] for a in lam.list_aliases(FunctionName=name, FunctionVersion="1")["Aliases"]] == ["old"]

    code_, status, message = error(lam.delete_function, FunctionName=name, Qualifier="1")
    assert (code_, status) == ("ResourceConflictException", 409) and "old" in message
    lam.delete_alias(FunctionName=name, Name="old")
    lam.delete_alias(FunctionName=name, Name="old")  # already gone: still 204
    assert error(lam.get_alias, FunctionName=name, Name="old")[:2] == ("ResourceNotFoundException", 404)


def test_alias_errors(lam, raw_lam, deploy):
    name = deploy(code("one"), Publish=True)
    lam.create_alias(FunctionName=name, Name="a", FunctionVersion="1")
    assert error(lam.create_alias, FunctionName=name, Name="a", FunctionVersion="1")[:2] == (
        "ResourceConflictException",
        409,
    )
    assert error(raw_lam.create_alias, FunctionName=name, Name="123", FunctionVersion="1")[0] == "ValidationException"
    assert error(lam.create_alias, FunctionName=name, Name="b", FunctionVersion="9")[:2] == (
        "ResourceNotFoundException",
        404,
    )
    code_, _, message = error(
        lam.create_alias,
        FunctionName=name,
        Name="c",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"1": 0.5}},
    )
    assert code_ == "InvalidParameterValueException" and "already included in routing configuration" in message
    assert error(lam.get_alias, FunctionName=name, Name="nope")[2].startswith("Cannot find alias arn")
    assert error(lam.update_alias, FunctionName=name, Name="nope", FunctionVersion="1")[2].startswith("Alias not found")


def test_weighted_alias_splits_traffic(lam, deploy):
    name = deploy(code("one"), Publish=True)
    lam.update_function_code(FunctionName=name, ZipFile=make_zip(code("two")), Publish=True)
    alias = lam.create_alias(
        FunctionName=name, Name="canary", FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"2": 0.3}}
    )
    assert alias["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.3}}
    executed = [call(lam, name, Qualifier="canary")[0]["ExecutedVersion"] for _ in range(400)]
    share = executed.count("2") / len(executed)
    assert set(executed) == {"1", "2"}
    assert 0.2 < share < 0.4  # 0.3 expected; outside this band by chance about once in 10,000 runs


def test_each_version_has_its_own_environments(lam, deploy):
    name = deploy(
        {"app.py": "import os\nenv = os.urandom(4).hex()\ndef handler(e, c):\n    return env\n"}, Publish=True
    )
    latest = lam.invoke(FunctionName=name)["Payload"].read()
    published = lam.invoke(FunctionName=name, Qualifier="1")["Payload"].read()
    assert latest != published
    assert lam.invoke(FunctionName=name, Qualifier="1")["Payload"].read() == published
