"""``--tls-cert``/``--tls-key``: the same port speaks HTTPS, signed requests over it see
``aws:SecureTransport`` true, and plain HTTP is not answered."""

from __future__ import annotations

import datetime
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from auth_support import put_user
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from support import Server, create_function, free_port, make_zip, running


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = self_signed(folder)
    os.environ["KINDLING_SECRETS_EXTENSION_PORT"] = str(free_port())  # the Parameters and Secrets extension's
    try:
        instance = Server(folder / "data", "--auth", "iam", "--tls-cert", str(cert), "--tls-key", str(key)).start()
    finally:
        del os.environ["KINDLING_SECRETS_EXTENSION_PORT"]
    yield instance
    instance.stop()


def test_https_serves_the_api_and_the_fast_lane(server: Server) -> None:
    assert server.endpoint.startswith("https://")
    lam = server.client()
    create_function(lam, "hello", {"app.py": "def handler(event, context):\n    return event\n"})
    assert json.loads(lam.invoke(FunctionName="hello", Payload=b'{"tls": true}')["Payload"].read()) == {"tls": True}


def test_plain_http_is_not_answered(server: Server) -> None:
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(f"http://127.0.0.1:{server.port}/health", timeout=5).read()


def test_secure_transport_condition(server: Server) -> None:
    document = {"Statement": [
        {"Effect": "Allow", "Action": "lambda:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]}  # fmt: skip
    tls_only = server.client(keys=put_user(server.endpoint, server.root_keys, "tlsonly", {"p": document}))
    assert "Functions" in tls_only.list_functions()
    create_function(server.client(), "echo2", {"app.py": "def handler(event, context):\n    return 1\n"})
    assert tls_only.invoke(FunctionName="echo2")["StatusCode"] == 200


def test_bad_certificate_is_refused_by_clients(server: Server) -> None:
    untrusting = Server.__new__(Server)
    untrusting.__dict__.update(server.__dict__, tls_ca=None)
    with pytest.raises((ClientError, Exception)) as caught:
        untrusting.client().list_functions()
    assert "SSL" in str(caught.value) or "certificate" in str(caught.value)


SDK_CALLS = """
import os
import boto3
from botocore.exceptions import ClientError

def handler(event, context):
    try:
        buckets = len(boto3.client("s3").list_buckets()["Buckets"])
    except ClientError as error:  # a role without s3:ListAllMyBuckets: still an answer, over HTTPS
        buckets = error.response["Error"]["Code"]
    with open(os.environ["AWS_CA_BUNDLE"]) as handle:
        bundle = handle.read()
    try:
        open(event["key"]).read()
        key = "readable"
    except OSError as error:
        key = type(error).__name__
    return {
        "endpoint": os.environ["AWS_ENDPOINT_URL"],
        "node": os.environ["NODE_EXTRA_CA_CERTS"],
        "arn": boto3.client("sts").get_caller_identity()["Arn"],
        "buckets": buckets,
        "bundle": bundle,
        "key": key,
    }
"""


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Functions without network: the in-sandbox forwarder passes TLS through to the server at 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls-offline")
    cert, key = self_signed(folder)
    instance = Server(folder / "data", "--no-network", "--tls-cert", str(cert), "--tls-key", str(key)).start()
    yield instance
    instance.stop()


def sdk_calls(server: Server, name: str) -> dict:
    """A python3.12 function's boto3 calls, unchanged, on a server that serves HTTPS with ``self_signed``."""
    lam = server.client()
    create_function(lam, name, {"app.py": SDK_CALLS})
    key = str(Path(server.tls_ca or "").with_name("key.pem"))
    result = json.loads(lam.invoke(FunctionName=name, Payload=json.dumps({"key": key}))["Payload"].read())
    assert result["endpoint"] == f"https://127.0.0.1:{server.port}", result
    assert result["buckets"] == 0 or result["buckets"] == "AccessDenied", result
    assert result["bundle"] == Path(server.tls_ca or "").read_text() and "PRIVATE KEY" not in result["bundle"]
    return result


def test_functions_sdk_calls_trust_the_servers_certificate(server: Server) -> None:
    result = sdk_calls(server, "sdk-over-tls")
    assert result["arn"].endswith("/sdk-over-tls") and result["node"] == "/etc/kindling/ca.pem"
    assert result["key"] in ("FileNotFoundError", "PermissionError")  # the key stays on the host


def test_sdk_calls_over_tls_in_the_process_sandbox(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    with running(tmp_path / "data", "--sandbox", "process", "--tls-cert", str(cert), "--tls-key", str(key)) as plain:
        assert sdk_calls(plain, "process-sdk")["node"].endswith("/ca.pem")  # a copy: nothing is hidden there


def test_sdk_calls_over_tls_without_network(offline: Server) -> None:
    result = sdk_calls(offline, "offline-sdk")
    assert result["arn"].startswith("arn:aws:") and result["key"] in ("FileNotFoundError", "PermissionError")


NODE_STS = """
const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
exports.handler = async () => {
  const out = await new STSClient({}).send(new GetCallerIdentityCommand({}));
  return { arn: out.Arn, endpoint: process.env.AWS_ENDPOINT_URL, boto3: process.env.AWS_CA_BUNDLE };
};
"""


def test_node_sdk_v3_over_tls(server: Server) -> None:
    lam = server.client()
    variables = {"Variables": {"AWS_CA_BUNDLE": "/var/task/mine.pem"}}  # a function's own variables win
    create_function(lam, "node-tls", {"index.js": NODE_STS}, "index.handler", "nodejs20.x", Environment=variables)
    result = json.loads(lam.invoke(FunctionName="node-tls")["Payload"].read())
    assert result["endpoint"] == f"https://127.0.0.1:{server.port}", result
    assert result["arn"].endswith("/node-tls"), result
    assert result["boto3"] == "/var/task/mine.pem"


EXTENSION = "arn:aws:lambda:us-east-1:177933569100:layer:AWS-Parameters-and-Secrets-Lambda-Extension:11"
EXTENSION_CLIENT = """
import json, os, urllib.request
def handler(event, context):
    port = os.environ["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"]
    request = urllib.request.Request(f"http://localhost:{port}/secretsmanager/get?secretId=tls-secret",
                                     headers={"X-Aws-Parameters-Secrets-Token": os.environ["AWS_SESSION_TOKEN"]})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())["SecretString"]
"""


def test_the_secrets_extension_over_tls(server: Server) -> None:
    """The function speaks plain HTTP to the extension's local port, which speaks TLS to the server's."""
    server.client("secretsmanager").create_secret(Name="tls-secret", SecretString="over tls")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole"}]}  # fmt: skip
    reads = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}],
    }
    iam = server.client("iam")
    arn = iam.create_role(RoleName="tls-reader", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="tls-reader", PolicyName="p", PolicyDocument=json.dumps(reads))
    server.client().create_function(
        FunctionName="tls-secrets",
        Runtime="python3.12",
        Role=arn,
        Handler="app.handler",
        Code={"ZipFile": make_zip({"app.py": EXTENSION_CLIENT})},
        Layers=[EXTENSION],
    )
    reply = server.client().invoke(FunctionName="tls-secrets")
    assert json.loads(reply["Payload"].read()) == "over tls"
