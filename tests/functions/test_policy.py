"""Resource policies, tags, recursion settings, and Lambda's stop of a recursive loop."""

from __future__ import annotations

import io
import json
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from support import ROLE, make_zip, running

HELLO = "def handler(event, context):\n    return 'hi'\n"


def test_permissions_and_policy_document(lam, deploy) -> None:  # type: ignore[no-untyped-def]
    name = deploy({"app.py": HELLO})
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_policy(FunctionName=name)
    added = lam.add_permission(
        FunctionName=name,
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::my-bucket",
        SourceAccount="123456789012",
    )
    arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert json.loads(added["Statement"]) == {
        "Sid": "s3",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": arn,
        "Condition": {
            "StringEquals": {"AWS:SourceAccount": "123456789012"},
            "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::my-bucket"},
        },
    }
    lam.add_permission(FunctionName=name, StatementId="acct", Action="lambda:GetFunction", Principal="111122223333")
    policy = lam.get_policy(FunctionName=name)
    document = json.loads(policy["Policy"])
    assert (document["Version"], document["Id"]) == ("2012-10-17", "default")
    assert [s["Sid"] for s in document["Statement"]] == ["s3", "acct"]
    assert document["Statement"][1]["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}

    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.add_permission(FunctionName=name, StatementId="s3", Action="lambda:InvokeFunction", Principal="*")
    with pytest.raises(ClientError) as invalid:
        lam.add_permission(
            FunctionName=name, StatementId="bad", Action="lambda:InvokeFunction", Principal="not-a-principal"
        )
    assert invalid.value.response["Error"]["Message"] == (
        "The provided principal was invalid. Please check the principal and try again."
    )
    with pytest.raises(lam.exceptions.PreconditionFailedException):
        lam.remove_permission(FunctionName=name, StatementId="s3", RevisionId="stale")
    lam.remove_permission(FunctionName=name, StatementId="s3", RevisionId=policy["RevisionId"])
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.remove_permission(FunctionName=name, StatementId="s3")
    assert [s["Sid"] for s in json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]] == ["acct"]

    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="prod", FunctionVersion="1")
    on_alias = lam.add_permission(
        FunctionName=name, Qualifier="prod", StatementId="a", Action="lambda:InvokeFunction", Principal="*"
    )
    assert json.loads(on_alias["Statement"])["Resource"] == f"{arn}:prod"
    assert len(json.loads(lam.get_policy(FunctionName=name, Qualifier="prod")["Policy"])["Statement"]) == 1
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.add_permission(FunctionName=name, Qualifier="$LATEST", StatementId="l", Action="lambda:*", Principal="*")


def test_tags(lam, deploy) -> None:  # type: ignore[no-untyped-def]
    name = deploy({"app.py": HELLO}, Tags={"team": "core"})
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "core"}
    lam.tag_resource(Resource=arn, Tags={"stage": "dev", "team": "platform"})
    assert lam.list_tags(Resource=arn)["Tags"] == {"team": "platform", "stage": "dev"}
    assert lam.get_function(FunctionName=name)["Tags"] == {"team": "platform", "stage": "dev"}
    lam.untag_resource(Resource=arn, TagKeys=["team", "absent"])
    assert lam.list_tags(Resource=arn)["Tags"] == {"stage": "dev"}

    with pytest.raises(ClientError) as too_many:
        lam.tag_resource(Resource=arn, Tags={f"k{i}": "v" for i in range(50)})
    assert too_many.value.response["Error"]["Message"] == "Number of tags exceeds resource tag limit."
    lam.publish_version(FunctionName=name)
    with pytest.raises(ClientError) as qualified:
        lam.tag_resource(Resource=f"{arn}:1", Tags={"a": "b"})
    assert qualified.value.response["Error"]["Message"] == (
        "Tags on function aliases and versions are not supported. Please specify a function ARN."
    )
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.list_tags(Resource=arn.replace(name, "absent-function"))


def test_recursion_config(lam, deploy) -> None:  # type: ignore[no-untyped-def]
    name = deploy({"app.py": HELLO})
    assert lam.get_function_recursion_config(FunctionName=name)["RecursiveLoop"] == "Terminate"
    assert lam.put_function_recursion_config(FunctionName=name, RecursiveLoop="Allow")["RecursiveLoop"] == "Allow"
    assert lam.get_function_recursion_config(FunctionName=name)["RecursiveLoop"] == "Allow"
    with pytest.raises(ClientError):
        lam.put_function_recursion_config(FunctionName=name, RecursiveLoop="Sometimes")


def _invoke_with_trace(lam, name: str, trace: str) -> dict:  # type: ignore[no-untyped-def]
    def add_header(request, **_) -> None:  # type: ignore[no-untyped-def]
        request.headers["X-Amzn-Trace-Id"] = trace

    lam.meta.events.register_first("before-sign.lambda.Invoke", add_header)
    try:
        return lam.invoke(FunctionName=name)
    finally:
        lam.meta.events.unregister("before-sign.lambda.Invoke", add_header)


TRACE_READERS = {
    "python3.12": (
        {"app.py": "import os\ndef handler(e, c):\n    return os.environ['_X_AMZN_TRACE_ID']\n"},
        "app.handler",
    ),
    "nodejs20.x": (
        {"index.mjs": "export const handler = async () => process.env._X_AMZN_TRACE_ID;\n"},
        "index.handler",
    ),
}


@pytest.mark.parametrize("runtime", sorted(TRACE_READERS))
def test_every_runtime_runs_one_hop_further_along_the_lineage(lam, deploy, server, runtime) -> None:  # type: ignore[no-untyped-def]
    """The SDKs send _X_AMZN_TRACE_ID back on each call a handler makes: its hop count is what stops a
    loop, so every runtime must get it (the server counts, not the runtime)."""
    if runtime not in server.health()["runtimes"]:
        pytest.skip(f"{runtime} is not available on this machine")
    files, handler = TRACE_READERS[runtime]
    name = deploy(files, handler=handler, runtime=runtime)
    crc = f"{zlib.crc32(name.encode()):08x}"
    root = "Root=1-5e1b4151-5ac6c58f5b5daa2b6d1ac0d1"
    reply = _invoke_with_trace(lam, name, f"{root};Parent=53995c3f42cd8ad8;Lineage=a87bd80c:3")
    assert json.loads(reply["Payload"].read()) == f"{root};Parent=53995c3f42cd8ad8;Lineage={crc}:4"
    fresh = json.loads(lam.invoke(FunctionName=name)["Payload"].read())  # no caller's trace: a new root
    assert fresh.startswith("Root=1-") and fresh.endswith(f";Lineage={crc}:1")


def test_a_trace_header_past_16_hops_is_refused(lam, deploy) -> None:  # type: ignore[no-untyped-def]
    name = deploy({"app.py": HELLO})

    def invoke_with(trace: str) -> dict:
        return _invoke_with_trace(lam, name, trace)

    assert invoke_with("Root=1-5e1b4151-5ac6c58f5b5daa2b6d1ac0d1;Lineage=a87bd80c:15")["StatusCode"] == 200
    with pytest.raises(lam.exceptions.RecursiveInvocationException):
        invoke_with("Root=1-5e1b4151-5ac6c58f5b5daa2b6d1ac0d1;Lineage=a87bd80c:16")
    lam.put_function_recursion_config(FunctionName=name, RecursiveLoop="Allow")
    assert invoke_with("Root=1-5e1b4151-5ac6c58f5b5daa2b6d1ac0d1;Lineage=a87bd80c:40")["StatusCode"] == 200


# ------------------------------------------------------------------ a function that invokes itself
SELF_INVOKING = """
import json
import boto3
from botocore.config import Config

# AWS_ENDPOINT_URL_LAMBDA points the SDK at Kindling; AWS reserves the credential variables, so keys go here
lam = boto3.client("lambda", aws_access_key_id="test", aws_secret_access_key="test",
                   config=Config(retries={"max_attempts": 1}, read_timeout=300))

def handler(event, context):
    depth = event.get("depth", 0) + 1
    if depth >= 18:
        return {"reached": depth}
    try:
        reply = lam.invoke(FunctionName=context.function_name, Payload=json.dumps({"depth": depth}))
    except lam.exceptions.RecursiveInvocationException:
        return {"stopped_after": depth}
    return json.load(reply["Payload"])
"""
BUNDLED = ("boto3", "botocore", "jmespath", "dateutil", "six.py", "urllib3", "s3transfer")


def _with_boto3(files: dict[str, str]) -> bytes:
    """A package with boto3 and its pure-Python dependencies copied from this virtualenv."""
    site = Path(next(p for p in sys.path if p.endswith("site-packages")))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        for package in BUNDLED:
            root = site / package
            paths = [root] if root.is_file() else sorted(root.rglob("*"))
            for path in paths:
                relative = path.relative_to(site)
                data_dir = relative.parts[:2] == ("botocore", "data") and len(relative.parts) > 3
                if path.is_dir() or "__pycache__" in relative.parts or (data_dir and relative.parts[2] != "lambda"):
                    continue
                archive.write(path, str(relative))
    return buffer.getvalue()


def test_a_function_invoking_itself_is_stopped_after_16_invocations(lam, server) -> None:  # type: ignore[no-untyped-def]
    lam.create_function(
        FunctionName="loop", Runtime="python3.12", Role=ROLE, Handler="app.handler", Timeout=300, MemorySize=1769,
        Environment={"Variables": {"AWS_ENDPOINT_URL_LAMBDA": server.endpoint}},
        Code={"ZipFile": _with_boto3({"app.py": SELF_INVOKING})},
    )  # fmt: skip
    try:
        stopped = lam.invoke(FunctionName="loop")
        assert "FunctionError" not in stopped, stopped["Payload"].read()
        assert json.load(stopped["Payload"]) == {"stopped_after": 16}
        lam.put_function_recursion_config(FunctionName="loop", RecursiveLoop="Allow")
        assert json.load(lam.invoke(FunctionName="loop")["Payload"]) == {"reached": 18}
    finally:
        lam.delete_function(FunctionName="loop")


def test_policies_urls_tags_and_route_tables_survive_a_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    with running(data) as server:
        lam = server.client()
        lam.create_function(FunctionName="keep", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": make_zip({"app.py": HELLO})}, Tags={"a": "1"})  # fmt: skip
        url = lam.create_function_url_config(FunctionName="keep", AuthType="NONE")["FunctionUrl"]
        lam.add_permission(FunctionName="keep", StatementId="p", Action="lambda:InvokeFunctionUrl", Principal="*",
                           FunctionUrlAuthType="NONE")  # fmt: skip
        lam.tag_resource(Resource="arn:aws:lambda:us-east-1:000000000000:function:keep", Tags={"b": "2"})
        lam.put_function_recursion_config(FunctionName="keep", RecursiveLoop="Allow")
        revision = lam.get_policy(FunctionName="keep")["RevisionId"]
    with running(data) as server:
        lam = server.client()
        assert lam.get_function_url_config(FunctionName="keep")["FunctionUrl"].split(":")[1] == url.split(":")[1]
        assert lam.get_policy(FunctionName="keep")["RevisionId"] == revision
        assert lam.list_tags(Resource="arn:aws:lambda:us-east-1:000000000000:function:keep")["Tags"] == {
            "a": "1",
            "b": "2",
        }
        assert lam.get_function_recursion_config(FunctionName="keep")["RecursiveLoop"] == "Allow"
        lam.delete_function(FunctionName="keep")
        lam.create_function(FunctionName="keep", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": make_zip({"app.py": HELLO})})  # fmt: skip
        with pytest.raises(lam.exceptions.ResourceNotFoundException):  # a new function starts with nothing
            lam.get_function_url_config(FunctionName="keep")
        with pytest.raises(lam.exceptions.ResourceNotFoundException):
            lam.get_policy(FunctionName="keep")
        assert lam.get_function_recursion_config(FunctionName="keep")["RecursiveLoop"] == "Terminate"
        assert lam.list_tags(Resource="arn:aws:lambda:us-east-1:000000000000:function:keep")["Tags"] == {}
