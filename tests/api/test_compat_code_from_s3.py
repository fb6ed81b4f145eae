"""Code from S3: CreateFunction, UpdateFunctionCode and PublishLayerVersion read the zip from an S3 object
(the server's own S3 here), and a missing bucket or key is refused as AWS refuses it."""

from __future__ import annotations

import itertools
import json

import boto3
import pytest

from support import ROLE, deleting, make_zip, running

_names = itertools.count()
BUCKET = "kindling-code-from-s3"


def _handler(body: str) -> bytes:
    return make_zip({"app.py": f"def handler(event, context):\n    return {body}\n"})


@pytest.fixture(scope="module")
def s3(server):  # type: ignore[no-untyped-def]
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=server.root_keys[0],
        aws_secret_access_key=server.root_keys[1],
    )
    client.create_bucket(Bucket=BUCKET)
    return client


def _call(lam, name: str) -> object:  # type: ignore[no-untyped-def]
    reply = lam.invoke(FunctionName=name, Payload=b"{}")
    assert "FunctionError" not in reply, reply["Payload"].read()
    return json.loads(reply["Payload"].read())


def test_create_then_update_from_s3(lam, s3) -> None:  # type: ignore[no-untyped-def]
    name = f"s3code-{next(_names)}"
    s3.put_object(Bucket=BUCKET, Key="v1.zip", Body=_handler("{'version': 1}"))
    second = s3.put_object(Bucket=BUCKET, Key="v2.zip", Body=_handler("{'version': 2}"))
    with deleting(lam) as created:
        config = lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"S3Bucket": BUCKET, "S3Key": "v1.zip"},
        )
        created.append(name)
        assert config["CodeSize"] == len(_handler("{'version': 1}"))
        lam.get_waiter("function_active_v2").wait(FunctionName=name)
        assert _call(lam, name) == {"version": 1}

        request = {"S3Bucket": BUCKET, "S3Key": "v2.zip"}
        if second.get("VersionId"):
            request["S3ObjectVersion"] = second["VersionId"]
        lam.update_function_code(FunctionName=name, **request)
        lam.get_waiter("function_updated_v2").wait(FunctionName=name)
        assert _call(lam, name) == {"version": 2}


def test_layer_from_s3(lam, s3) -> None:  # type: ignore[no-untyped-def]
    name = f"s3layer-{next(_names)}"
    s3.put_object(Bucket=BUCKET, Key="layer.zip", Body=make_zip({"python/from_s3.py": "WHERE = 's3'\n"}))
    layer = lam.publish_layer_version(LayerName=name, Content={"S3Bucket": BUCKET, "S3Key": "layer.zip"})
    try:
        with deleting(lam) as created:
            lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=ROLE,
                Handler="app.handler",
                Code={"ZipFile": _handler("__import__('from_s3').WHERE")},
                Layers=[layer["LayerVersionArn"]],
            )
            created.append(name)
            lam.get_waiter("function_active_v2").wait(FunctionName=name)
            assert _call(lam, name) == "s3"
    finally:
        lam.delete_layer_version(LayerName=name, VersionNumber=layer["Version"])


@pytest.mark.parametrize(
    ("bucket", "code", "message"),
    [
        (BUCKET, "NoSuchKey", "The specified key does not exist."),
        ("kindling-no-such-bucket", "NoSuchBucket", "The specified bucket does not exist"),
    ],
)
def test_missing_object_is_refused(lam, s3, bucket: str, code: str, message: str) -> None:  # type: ignore[no-untyped-def]
    name = f"s3missing-{next(_names)}"
    location = {"S3Bucket": bucket, "S3Key": "absent.zip"}
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as raised:
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler", Code=location)
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Message"].startswith(
        f"Error occurred while GetObject. S3 Error Code: {code}. S3 Error Message: {message}"
    )
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=name)

    layer = f"s3missing-layer-{next(_names)}"
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.publish_layer_version(LayerName=layer, Content=location)
    assert lam.list_layer_versions(LayerName=layer)["LayerVersions"] == []


def test_code_from_s3_when_every_request_must_be_signed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Under --auth iam the server reads its own S3 with its root keys, not a placeholder the gate refuses."""
    with running(tmp_path / "data", "--auth", "iam") as strict:
        s3, lam = strict.client("s3"), strict.client("lambda")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="app.zip", Body=_handler("'signed'"))
        lam.create_function(
            FunctionName="from-s3",
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"S3Bucket": BUCKET, "S3Key": "app.zip"},
        )
        lam.get_waiter("function_active_v2").wait(FunctionName="from-s3")
        assert _call(lam, "from-s3") == "signed"
