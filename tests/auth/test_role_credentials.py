"""Execution roles under ``--auth iam``: CreateFunction wants a role Lambda may assume; each environment gets
the role's temporary credentials (``ASIA…``, a session token), with which the function acts as
``assumed-role/ROLE/FUNCTION`` and may do exactly what the role's policies allow; credentials are renewed
before they expire; the Parameters and Secrets extension's interface answers at ``localhost:PORT``."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from support import Server, free_port, make_zip

ACCOUNT = "000000000000"
ROLES = f"arn:aws:iam::{ACCOUNT}:role/"
EXTENSION = "arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension:11"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}  # fmt: skip

CALLER = """
import boto3, os
def handler(event, context):
    out = {"key": os.environ["AWS_ACCESS_KEY_ID"], "secret": os.environ["AWS_SECRET_ACCESS_KEY"],
           "token": os.environ["AWS_SESSION_TOKEN"], "arn": boto3.client("sts").get_caller_identity()["Arn"]}
    s3, lam = boto3.client("s3"), boto3.client("lambda")
    for bucket in event.get("buckets", []):
        try:
            out[bucket] = s3.get_object(Bucket=bucket, Key="k")["Body"].read().decode()
        except Exception as error:
            out[bucket] = error.response["Error"]["Code"]
    for name in event.get("functions", []):
        try:
            out[name] = lam.invoke(FunctionName=name)["Payload"].read().decode()
        except Exception as error:
            out[name] = error.response["Error"]["Code"]
    return out
"""

EXTENSION_CLIENT = """
import json, os, urllib.error, urllib.request
def get(path, token):
    port = os.environ.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2773")
    request = urllib.request.Request(f"http://localhost:{port}{path}",
                                     headers={"X-Aws-Parameters-Secrets-Token": token} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
def handler(event, context):
    return [get(path, os.environ["AWS_SESSION_TOKEN"] if event.get("token", True) else "") for path in event["paths"]]
"""


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str] = "*") -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def role(server: Server, name: str, permissions: str, trust: dict = TRUST) -> str:
    iam = server.client("iam")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=permissions)
    return ROLES + name


@pytest.fixture(scope="module")
def extension_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, extension_port: int) -> Iterator[Server]:
    os.environ["KINDLING_SECRETS_EXTENSION_PORT"] = str(extension_port)
    try:
        instance = Server(tmp_path_factory.mktemp("roles") / "data", "--auth", "iam").start()
    finally:
        del os.environ["KINDLING_SECRETS_EXTENSION_PORT"]
    s3 = instance.client("s3")
    for bucket in ("bucket-a", "bucket-b"):
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="k", Body=b"in " + bucket.encode())
    plain = role(instance, "plain", policy(allow("logs:*")))
    for name in ("fn-b", "fn-c"):
        create_function(instance.client(), name, {"app.py": "def handler(e, c):\n    return 'from " + name + "'\n"},
                        Role=plain)  # fmt: skip
    yield instance
    instance.stop()


def create_function(lam, name: str, files: dict[str, str], Role: str, **settings: object) -> None:  # type: ignore[no-untyped-def]
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=Role, Handler="app.handler", Timeout=30,
                        Code={"ZipFile": make_zip(files)}, **settings)  # a loaded machine: not the default 3 s  # fmt: skip


def invoke(server: Server, name: str, event: dict) -> dict:
    reply = server.client().invoke(FunctionName=name, Payload=json.dumps(event).encode())
    assert "FunctionError" not in reply, reply["Payload"].read()
    return json.loads(reply["Payload"].read())


def test_create_function_needs_a_role_lambda_may_assume(server: Server) -> None:
    not_lambdas = role(server, "ec2-only", policy(allow("s3:*")),
                       {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                        "Principal": {"Service": "ec2.amazonaws.com"}}]})  # fmt: skip
    for arn in (ROLES + "no-such-role", not_lambdas):
        with pytest.raises(ClientError) as caught:
            server.client().create_function(FunctionName="orphan", Runtime="python3.12", Role=arn,
                                            Handler="app.handler", Code={"ZipFile": make_zip({"app.py": ""})})  # fmt: skip
        error = caught.value.response["Error"]
        assert (error["Code"], error["Message"]) == (
            "InvalidParameterValueException",
            "The role defined for the function cannot be assumed by Lambda.",
        )
    with pytest.raises(ClientError):
        server.client().get_function(FunctionName="orphan")
    # the kindling CLI's default role may be named before it exists: it allows nothing
    create_function(server.client(), "defaulted", {"app.py": CALLER}, Role=ROLES + "kindling")
    out = invoke(server, "defaulted", {"buckets": ["bucket-a"]})
    assert out["arn"].endswith(":assumed-role/kindling/defaulted") and out["bucket-a"] == "AccessDenied"


def test_the_function_acts_as_its_role(server: Server) -> None:
    permissions = policy(allow("s3:GetObject", "arn:aws:s3:::bucket-a/*"),
                         allow("lambda:InvokeFunction", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:fn-b"))  # fmt: skip
    create_function(server.client(), "caller", {"app.py": CALLER}, Role=role(server, "reader-a", permissions))
    out = invoke(server, "caller", {"buckets": ["bucket-a", "bucket-b"], "functions": ["fn-b", "fn-c"]})
    assert out["key"].startswith("ASIA") and out["token"]
    assert out["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reader-a/caller"
    assert out["bucket-a"] == "in bucket-a" and out["bucket-b"] == "AccessDenied"
    assert out["fn-b"] == '"from fn-b"' and out["fn-c"] == "AccessDeniedException"
    # the same credentials from outside, without their token, are refused
    bare = boto3.client("sts", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id=out["key"], aws_secret_access_key=out["secret"])  # fmt: skip
    with pytest.raises(ClientError) as caught:
        bare.get_caller_identity()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # a change to the role's policy applies to the environment already running
    server.client("iam").put_role_policy(RoleName="reader-a", PolicyName="more",
                                         PolicyDocument=policy(allow("s3:GetObject", "arn:aws:s3:::bucket-b/*")))  # fmt: skip
    assert invoke(server, "caller", {"buckets": ["bucket-b"]})["bucket-b"] == "in bucket-b"


def test_the_parameters_and_secrets_extension(server: Server, extension_port: int) -> None:
    server.client("secretsmanager").create_secret(Name="db-pass", SecretString="v1")
    server.client("secretsmanager").create_secret(Name="other", SecretString="not yours")
    server.client("ssm").put_parameter(Name="/app/color", Value="blue", Type="String")
    secret_arn = server.client("secretsmanager").describe_secret(SecretId="db-pass")["ARN"]
    reader = role(server, "secret-reader", policy(allow("secretsmanager:GetSecretValue", secret_arn),
                                                  allow("ssm:GetParameter", "*")))  # fmt: skip
    for name, ttl in (("cached", "300"), ("uncached", "0")):
        create_function(server.client(), name, {"app.py": EXTENSION_CLIENT}, Role=reader, Layers=[EXTENSION],
                        Environment={"Variables": {"SECRETS_MANAGER_TTL": ttl}})  # fmt: skip
    paths = ["/secretsmanager/get?secretId=db-pass", "/systemsmanager/parameters/get?name=%2Fapp%2Fcolor",
             "/secretsmanager/get?secretId=other"]  # fmt: skip
    secret, parameter, other = invoke(server, "cached", {"paths": paths})
    assert secret[0] == 200 and secret[1]["SecretString"] == "v1" and secret[1]["Name"] == "db-pass"
    assert secret[1]["ARN"] == secret_arn and "AWSCURRENT" in secret[1]["VersionStages"]
    assert parameter[0] == 200 and parameter[1]["Parameter"]["Value"] == "blue"
    assert other[0] == 403 and "AccessDeniedException" in other[1] and "assumed-role/secret-reader/cached" in other[1]
    assert invoke(server, "cached", {"paths": paths[:1], "token": False})[0][0] == 401
    assert invoke(server, "uncached", {"paths": paths[:1]})[0][1]["SecretString"] == "v1"
    server.client("secretsmanager").put_secret_value(SecretId="db-pass", SecretString="v2")
    assert invoke(server, "cached", {"paths": paths[:1]})[0][1]["SecretString"] == "v1"  # from the cache
    assert invoke(server, "uncached", {"paths": paths[:1]})[0][1]["SecretString"] == "v2"
    configuration = server.client().get_function_configuration(FunctionName="cached")
    assert configuration["Environment"]["Variables"] == {"SECRETS_MANAGER_TTL": "300"}
    assert [layer["Arn"] for layer in configuration["Layers"]] == [EXTENSION]


def test_credentials_are_renewed_before_they_expire(tmp_path_factory: pytest.TempPathFactory) -> None:
    os.environ["KINDLING_ROLE_SESSION_S"] = "6"
    try:
        short = Server(tmp_path_factory.mktemp("short") / "data", "--auth", "iam", "--keep-alive", "4").start()
    finally:
        del os.environ["KINDLING_ROLE_SESSION_S"]
    try:
        create_function(short.client(), "caller", {"app.py": CALLER}, Role=role(short, "plain", policy(allow("s3:*"))))
        lam = short.client()
        lam.publish_version(FunctionName="caller")
        lam.put_provisioned_concurrency_config(FunctionName="caller", Qualifier="1", ProvisionedConcurrentExecutions=1)
        create_function(
            lam, "snap", {"app.py": CALLER}, Role=ROLES + "plain", SnapStart={"ApplyOn": "PublishedVersions"}
        )
        lam.get_waiter("function_active_v2").wait(FunctionName="snap")
        lam.publish_version(FunctionName="snap")
        lam.get_waiter("published_version_active").wait(FunctionName="snap", Qualifier="1",
                                                         WaiterConfig={"Delay": 1, "MaxAttempts": 60})  # fmt: skip
        deadline = time.monotonic() + 30
        while lam.get_provisioned_concurrency_config(FunctionName="caller", Qualifier="1")["Status"] != "READY":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        first = invoke(short, "caller", {})
        provisioned = invoke(short, "caller:1", {})
        for name, before in (("caller", first), ("caller:1", provisioned)):  # on demand, then provisioned
            while (now := invoke(short, name, {}))["key"] == before["key"]:
                assert time.monotonic() < deadline, f"the environment of {name} kept its credentials"
                time.sleep(0.2)
            assert now["key"].startswith("ASIA") and now["arn"] == first["arn"]
        ends = time.monotonic() + 7  # longer than credentials last: every call the functions make succeeds
        while time.monotonic() < ends:
            for name in ("caller", "caller:1", "snap:1"):
                assert invoke(short, name, {})["arn"].endswith(f"/plain/{name.split(':')[0]}")
            time.sleep(0.3)
        old = boto3.client("sts", endpoint_url=short.endpoint, region_name="us-east-1", aws_access_key_id=first["key"],
                           aws_secret_access_key=first["secret"], aws_session_token=first["token"])  # fmt: skip
        while True:  # the old credentials work until they expire, then never again
            try:
                old.get_caller_identity()
            except ClientError as error:
                assert error.response["Error"]["Code"] == "ExpiredTokenException"
                break
            assert time.monotonic() < deadline
            time.sleep(0.2)
    finally:
        short.stop()


def test_an_sqs_mapping_needs_a_role_that_may_read_the_queue(server: Server) -> None:
    queue = server.client("sqs").create_queue(QueueName="jobs")["QueueUrl"]
    arn = server.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    lam = server.client()
    with pytest.raises(ClientError) as caught:
        lam.create_event_source_mapping(FunctionName="fn-b", EventSourceArn=arn)  # fn-b's role may only log
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "InvalidParameterValueException", "The provided execution role does not have permissions to call "
        "ReceiveMessage on SQS")  # fmt: skip
    assert lam.list_event_source_mappings(FunctionName="fn-b")["EventSourceMappings"] == []
    reader = role(server, "queue-reader", policy(allow(["sqs:ReceiveMessage", "sqs:DeleteMessage",
                                                        "sqs:GetQueueAttributes"], arn)))  # fmt: skip
    create_function(lam, "worker", {"app.py": "def handler(e, c):\n    return 1\n"}, Role=reader)
    mapping = lam.create_event_source_mapping(FunctionName="worker", EventSourceArn=arn)
    assert mapping["EventSourceArn"] == arn
    lam.delete_event_source_mapping(UUID=mapping["UUID"])
