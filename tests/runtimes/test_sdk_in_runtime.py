"""The AWS SDK inside functions: the runtimes provide boto3 and the AWS SDK for JavaScript v3, and every
environment points them at this server (AWS_ENDPOINT_URL, credentials), with no endpoint in the code."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import Server, create_function, free_port

PYTHONS = ("python3.11", "python3.12", "python3.13")

# AWS's getting-started example, unchanged: the client is made at import, outside the handler
EC2_EXAMPLE = """
import boto3
ec2 = boto3.client('ec2', region_name='us-east-1')
def lambda_handler(event, context):
    ec2.start_instances(InstanceIds=['i-0123456789abcdef0'])
"""

LAMBDA_CALLER = """
import boto3, botocore, os
lam = boto3.client("lambda")
logs = boto3.client("logs")
def handler(event, context):
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    reply = lam.invoke(FunctionName=event["other"], Payload=b'{"n": 2}')
    groups = [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]]
    return {"names": names, "other": reply["Payload"].read().decode(), "groups": groups,
            "boto3": boto3.__file__, "botocore": botocore.__file__, "version": boto3.__version__}
"""

DOUBLER = "def handler(event, context):\n    return {'doubled': event['n'] * 2}\n"

ENV_PRINTER = """
import os
def handler(event, context):
    keys = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
            "AWS_DEFAULT_REGION")
    return {key: os.environ.get(key) for key in keys}
"""

NODE_CJS = """
const { LambdaClient, ListFunctionsCommand } = require("@aws-sdk/client-lambda");
const { S3Client } = require("@aws-sdk/client-s3");
const { DynamoDBDocumentClient } = require("@aws-sdk/lib-dynamodb");
const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");
const client = new LambdaClient({});
exports.handler = async () => {
  new S3Client({});
  DynamoDBDocumentClient.from(new DynamoDBClient({}));
  const out = await client.send(new ListFunctionsCommand({}));
  return { names: out.Functions.map((f) => f.FunctionName), sdk: require.resolve("@aws-sdk/client-lambda") };
};
"""

NODE_ESM = """
import { LambdaClient, GetFunctionCommand } from "@aws-sdk/client-lambda";
const client = new LambdaClient({});
export const handler = async (event) => {
  const out = await client.send(new GetFunctionCommand({ FunctionName: event.name }));
  return { runtime: out.Configuration.Runtime };
};
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    instance = Server(tmp_path_factory.mktemp("sdk") / "data").start()
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def lam(server: Server):  # type: ignore[no-untyped-def]
    return server.client()


def call(lam, name: str, event: dict | None = None) -> tuple[dict, str | None, str]:  # type: ignore[no-untyped-def]
    reply = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}).encode(), LogType="Tail")
    log = base64.b64decode(reply.get("LogResult", "")).decode()
    return json.loads(reply["Payload"].read() or b"null"), reply.get("FunctionError"), log


def test_the_getting_started_example_imports_boto3(lam) -> None:  # type: ignore[no-untyped-def]
    create_function(  # the server's first EC2 call builds moto's EC2 backend: seconds on a loaded machine
        lam, "ec2-example", {"lambda_function.py": EC2_EXAMPLE}, handler="lambda_function.lambda_handler", Timeout=60
    )
    body, error, log = call(lam, "ec2-example")
    assert "ImportModuleError" not in log and "No module named" not in log
    # the import and the client at module level work, and the call reached this server through the SDK: it
    # succeeds where the server serves EC2, else botocore cannot read the Lambda API's answer to an EC2 request
    assert error is None or body["errorType"] in ("ClientError", "ResponseParserError"), body


@pytest.mark.parametrize("runtime", PYTHONS)
def test_boto3_calls_kindling_with_no_endpoint_in_the_code(lam, runtime: str) -> None:  # type: ignore[no-untyped-def]
    suffix = runtime.replace(".", "")
    other = create_function(lam, f"doubler-{suffix}", {"app.py": DOUBLER})
    caller = create_function(lam, f"caller-{suffix}", {"app.py": LAMBDA_CALLER}, runtime=runtime, Timeout=30)
    body, error, log = call(lam, caller, {"other": other})
    assert error is None, (body, log)
    assert {caller, other} <= set(body["names"])
    assert json.loads(body["other"]) == {"doubled": 4}
    assert f"/aws/lambda/{caller}" in body["groups"]  # CloudWatch Logs, on the same endpoint
    assert body["boto3"] == "/var/runtime/boto3/__init__.py" and body["botocore"].startswith("/var/runtime/")


def test_a_function_that_bundles_boto3_gets_its_own(lam) -> None:  # type: ignore[no-untyped-def]
    files = {
        "boto3/__init__.py": "MARKER = 'bundled'\n",
        "app.py": "import boto3, botocore\ndef handler(e, c):\n    return [boto3.MARKER, boto3.__file__, botocore.__file__]\n",
    }
    body, error, _ = call(lam, create_function(lam, "bundles-boto3", files))
    assert error is None, body
    assert body == ["bundled", "/var/task/boto3/__init__.py", "/var/runtime/botocore/__init__.py"]


def test_a_layer_that_brings_boto3_wins_over_the_runtime(lam) -> None:  # type: ignore[no-untyped-def]
    from support import make_zip

    layer = lam.publish_layer_version(
        LayerName="own-sdk", Content={"ZipFile": make_zip({"python/boto3/__init__.py": "MARKER = 'layer'\n"})}
    )["LayerVersionArn"]
    app = {"app.py": "import boto3\ndef handler(e, c):\n    return [boto3.MARKER, boto3.__file__]\n"}
    body, error, _ = call(lam, create_function(lam, "layer-boto3", app, Layers=[layer]))
    assert error is None, body
    assert body == ["layer", "/opt/python/boto3/__init__.py"]


def test_every_environment_gets_the_endpoint_and_credentials(lam, server: Server) -> None:  # type: ignore[no-untyped-def]
    body, error, _ = call(lam, create_function(lam, "env-printer", {"app.py": ENV_PRINTER}))
    assert error is None, body
    assert body["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{server.port}"
    assert body["AWS_ACCESS_KEY_ID"] and body["AWS_SECRET_ACCESS_KEY"] and body["AWS_SESSION_TOKEN"]
    assert body["AWS_REGION"] == body["AWS_DEFAULT_REGION"] == "us-east-1"


def test_a_function_may_point_the_sdk_elsewhere(lam) -> None:  # type: ignore[no-untyped-def]
    name = create_function(
        lam, "env-elsewhere", {"app.py": ENV_PRINTER}, Environment={"Variables": {"AWS_ENDPOINT_URL": "http://x:1"}}
    )
    body, error, _ = call(lam, name)
    assert error is None and body["AWS_ENDPOINT_URL"] == "http://x:1", body


def test_node_uses_the_sdk_for_javascript_v3(lam, server: Server) -> None:  # type: ignore[no-untyped-def]
    assert "nodejs20.x" in server.health()["runtimes"]
    cjs = create_function(lam, "node-cjs", {"index.js": NODE_CJS}, handler="index.handler", runtime="nodejs20.x")
    body, error, log = call(lam, cjs)
    assert error is None, (body, log)
    assert cjs in body["names"] and body["sdk"].startswith("/var/runtime/node_modules/@aws-sdk/client-lambda/")
    esm = create_function(lam, "node-esm", {"index.mjs": NODE_ESM}, handler="index.handler", runtime="nodejs20.x")
    body, error, log = call(lam, esm, {"name": cjs})
    assert error is None, (body, log)
    assert body == {"runtime": "nodejs20.x"}


def test_the_sdk_directories_are_read_only(lam) -> None:  # type: ignore[no-untyped-def]
    code = "import os\ndef handler(e, c):\n    return os.access('/var/runtime/boto3/__init__.py', os.W_OK)\n"
    body, error, _ = call(lam, create_function(lam, "sdk-ro", {"app.py": code}))
    assert error is None and body is False


def test_installed_by_make_install() -> None:
    root = Path(__file__).resolve().parents[2] / "src" / "kindling" / "runtimes"
    assert (root / "python" / "sdk" / "boto3" / "__init__.py").is_file()
    assert (root / "nodejs" / "node_modules" / "@aws-sdk" / "client-lambda" / "package.json").is_file()


S3_AND_DYNAMODB = """
import boto3
s3 = boto3.client("s3")
table = boto3.resource("dynamodb").Table("items")
def handler(event, context):
    s3.create_bucket(Bucket="sdk-bucket")
    s3.put_object(Bucket="sdk-bucket", Key="a/b.txt", Body=b"hello")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket="sdk-bucket")  # a model loaded on demand
    keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
    ddb = boto3.client("dynamodb")
    ddb.create_table(TableName="items", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    ddb.get_waiter("table_exists").wait(TableName="items")
    table.put_item(Item={"id": "1", "n": 5})
    return {"keys": keys, "body": s3.get_object(Bucket="sdk-bucket", Key="a/b.txt")["Body"].read().decode(),
            "item": {k: str(v) for k, v in table.get_item(Key={"id": "1"})["Item"].items()}}
"""


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A standalone moto server: services this server does not answer yet."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-p", str(port)], stdout=log, stderr=log
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield endpoint
    process.terminate()
    process.wait(timeout=10)
    log.close()


def test_the_runtime_sdk_reads_and_writes_s3_and_dynamodb(lam, moto: str) -> None:  # type: ignore[no-untyped-def]
    env = {"Variables": {"AWS_ENDPOINT_URL": moto}}
    name = create_function(lam, "s3-ddb", {"app.py": S3_AND_DYNAMODB}, Timeout=30, Environment=env)
    body, error, log = call(lam, name)
    assert error is None, (body, log)
    assert body == {"keys": ["a/b.txt"], "body": "hello", "item": {"id": "1", "n": "5"}}
