"""Function URLs: configuration through boto3, then plain HTTP by host and by path."""

from __future__ import annotations

import base64
import json

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from url_support import public_url, request, url_parts

from support import ROLE, make_zip

ECHO = """
import json, time

def handler(event, context):
    path = event.get("rawPath", "")
    if path == "/raise":
        raise RuntimeError("boom")
    if path == "/sleep":
        time.sleep(5)
    if path == "/malformed":
        return {"statusCode": "abc"}
    if path == "/plain":
        return {"hello": "world"}
    if path == "/string":
        return "hello"
    if path == "/binary":
        return {"statusCode": 200, "headers": {"content-type": "image/png"},
                "body": "iVBORw==", "isBase64Encoded": True}
    if path == "/cookies":
        return {"statusCode": 201, "headers": {"x-custom": "yes", "access-control-allow-origin": "https://mine"},
                "cookies": ["a=1; Max-Age=60", "b=2"], "body": "made"}
    return {"statusCode": 200, "headers": {"content-type": "application/json", "x-invoked": context.invoked_function_arn},
            "body": json.dumps(event)}
"""


@pytest.fixture(scope="module")
def echo(lam):  # type: ignore[no-untyped-def]
    name = "url-echo"
    lam.create_function(
        FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler", Timeout=2,
        Code={"ZipFile": make_zip({"app.py": ECHO})},
    )  # fmt: skip
    host, url_id = public_url(lam, name)
    yield name, host, url_id
    lam.delete_function(FunctionName=name)


def test_url_configuration_lifecycle(lam, deploy, server) -> None:  # type: ignore[no-untyped-def]
    name = deploy({"app.py": ECHO})
    created = lam.create_function_url_config(FunctionName=name, AuthType="AWS_IAM")
    host, url_id = url_parts(created["FunctionUrl"])
    assert created["FunctionUrl"] == f"http://{url_id}.lambda-url.us-east-1.localhost:{server.port}/"
    assert len(url_id) == 32 and url_id.isalnum() and url_id.islower()
    assert (created["AuthType"], created["InvokeMode"]) == ("AWS_IAM", "BUFFERED")
    assert created["FunctionArn"].endswith(f":function:{name}")
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.create_function_url_config(FunctionName=name, AuthType="NONE")
    cors = {"AllowOrigins": ["https://app.example"], "AllowMethods": ["GET"], "MaxAge": 60}
    updated = lam.update_function_url_config(
        FunctionName=name, AuthType="NONE", Cors=cors, InvokeMode="RESPONSE_STREAM"
    )
    assert (updated["AuthType"], updated["Cors"], updated["InvokeMode"]) == ("NONE", cors, "RESPONSE_STREAM")
    got = lam.get_function_url_config(FunctionName=name)
    assert got["FunctionUrl"] == created["FunctionUrl"] and got["LastModifiedTime"] >= got["CreationTime"]

    lam.publish_version(FunctionName=name)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    aliased = lam.create_function_url_config(FunctionName=name, Qualifier="live", AuthType="NONE")
    assert (
        aliased["FunctionArn"].endswith(f":function:{name}:live") and aliased["FunctionUrl"] != created["FunctionUrl"]
    )
    lam.add_permission(FunctionName=name, Qualifier="live", StatementId="public", Action="lambda:InvokeFunctionUrl",
                       Principal="*", FunctionUrlAuthType="NONE")  # fmt: skip
    through_alias = request(server, "GET", "/", host=url_parts(aliased["FunctionUrl"])[0])
    assert through_alias.header("x-invoked") == aliased["FunctionArn"]
    assert request(server, "GET", "/", host=host).status == 403  # the alias's permission is not $LATEST's
    with pytest.raises(lam.exceptions.ClientError):  # a version number is never a URL qualifier
        lam.create_function_url_config(FunctionName=name, Qualifier="1", AuthType="NONE")
    listed = lam.list_function_url_configs(FunctionName=name)["FunctionUrlConfigs"]
    assert [c["FunctionArn"].rsplit(":", 1)[-1] for c in listed] == [name, "live"]

    lam.delete_function_url_config(FunctionName=name)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_url_config(FunctionName=name)
    assert request(server, "GET", "/", host=host).status == 403
    again = lam.create_function_url_config(FunctionName=name, AuthType="NONE")
    assert again["FunctionUrl"] == created["FunctionUrl"]  # the id is derived, so the URL is the same


def test_event_is_payload_2_0_by_host_and_by_path(echo, server) -> None:  # type: ignore[no-untyped-def]
    _, host, url_id = echo
    headers = [("Content-Type", "application/json"), ("Cookie", "s=1; t=2"), ("X-Multi", "a"), ("X-Multi", "b"),
               ("User-Agent", "kindling-test")]  # fmt: skip
    body = b'{"x": 1}'
    by_host = request(server, "POST", "/items/7?a=1&a=2&b=%20x", host=host, body=body, headers=headers)
    by_path = request(server, "POST", f"/lambda-url/{url_id}/items/7?a=1&a=2&b=%20x", body=body, headers=headers)
    for reply in (by_host, by_path):
        assert reply.status == 200
        event = reply.json()
        assert list(event) == [
            "version", "routeKey", "rawPath", "rawQueryString", "cookies", "headers",
            "queryStringParameters", "requestContext", "body", "isBase64Encoded",
        ]  # fmt: skip
        assert (event["version"], event["routeKey"], event["rawPath"]) == ("2.0", "$default", "/items/7")
        assert event["rawQueryString"] == "a=1&a=2&b=%20x"
        assert event["queryStringParameters"] == {"a": "1,2", "b": " x"}
        assert event["cookies"] == ["s=1", "t=2"] and "cookie" not in event["headers"]
        assert event["headers"]["x-multi"] == "a,b" and event["headers"]["content-type"] == "application/json"
        assert event["headers"]["x-forwarded-for"] == "127.0.0.1" and event["headers"]["x-forwarded-proto"] == "http"
        assert (event["body"], event["isBase64Encoded"]) == ('{"x": 1}', False)
        context = event["requestContext"]
        assert sorted(context) == sorted(
            [
                "accountId",
                "apiId",
                "domainName",
                "domainPrefix",
                "http",
                "requestId",
                "routeKey",
                "stage",
                "time",
                "timeEpoch",
            ]
        )
        assert (context["accountId"], context["apiId"], context["domainPrefix"]) == ("anonymous", url_id, url_id)
        assert context["domainName"] == f"{url_id}.lambda-url.us-east-1.localhost"
        assert context["http"] == {
            "method": "POST", "path": "/items/7", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "kindling-test",
        }  # fmt: skip
        assert (context["stage"], context["routeKey"]) == ("$default", "$default")
        assert reply.header("x-amzn-requestid") == context["requestId"]


def test_binary_request_bodies_arrive_base64(echo, server) -> None:  # type: ignore[no-untyped-def]
    _, host, _ = echo
    event = request(server, "PUT", "/", host=host, body=b"\x00\xffdata",
                    headers=[("Content-Type", "application/octet-stream")]).json()  # fmt: skip
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\x00\xffdata"
    bare = request(server, "GET", "/", host=host).json()
    assert "body" not in bare and "queryStringParameters" not in bare and "cookies" not in bare


def test_responses_are_read_as_aws_reads_them(echo, server) -> None:  # type: ignore[no-untyped-def]
    _, host, _ = echo
    made = request(server, "GET", "/cookies", host=host)
    assert (made.status, made.body, made.header("x-custom")) == (201, b"made", "yes")
    assert made.all("set-cookie") == ["a=1; Max-Age=60", "b=2"]
    plain = request(server, "GET", "/plain", host=host)
    assert (plain.status, plain.header("content-type"), json.loads(plain.body)) == (
        200,
        "application/json",
        {"hello": "world"},
    )
    assert request(server, "GET", "/string", host=host).body == b"hello"
    binary = request(server, "GET", "/binary", host=host)
    assert (binary.body, binary.header("content-type")) == (b"\x89PNG", "image/png")


def test_failures_have_aws_status_codes(echo, server) -> None:  # type: ignore[no-untyped-def]
    _, host, _ = echo
    assert request(server, "GET", "/raise", host=host).status == 502
    assert request(server, "GET", "/malformed", host=host).status == 502
    assert request(server, "GET", "/sleep", host=host).status == 504
    assert request(server, "POST", "/", host=host, body=b"x" * (6 * 1024 * 1024 + 1)).status == 413
    assert request(server, "GET", "/plain", host=host).status == 200  # and the function still serves


def test_auth_types(lam, deploy, server) -> None:  # type: ignore[no-untyped-def]
    name = deploy({"app.py": ECHO})
    host, url_id = url_parts(lam.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"])
    refused = request(server, "GET", "/plain", host=host)
    assert refused.status == 403 and refused.json()["Message"].startswith("Forbidden.")
    lam.add_permission(FunctionName=name, StatementId="public", Action="lambda:InvokeFunctionUrl", Principal="*",
                       FunctionUrlAuthType="NONE")  # fmt: skip
    assert request(server, "GET", "/plain", host=host).status == 200
    lam.remove_permission(FunctionName=name, StatementId="public")
    assert request(server, "GET", "/plain", host=host).status == 403

    lam.update_function_url_config(FunctionName=name, AuthType="AWS_IAM")
    assert request(server, "GET", "/plain", host=host).status == 403
    signed = botocore.awsrequest.AWSRequest("GET", f"http://{host}/plain")
    botocore.auth.SigV4Auth(botocore.credentials.Credentials("test", "test"), "lambda", "us-east-1").add_auth(signed)
    assert request(server, "GET", "/plain", host=host, headers=list(signed.headers.items())).status == 200

    unknown = request(server, "GET", "/", host="0" * 32 + ".lambda-url.us-east-1.localhost")
    assert (unknown.status, unknown.header("x-amzn-errortype"), unknown.json()) == (
        403,
        "AccessDeniedException",
        {"Message": None},
    )
    lam.delete_function(FunctionName=name)
    assert request(server, "GET", f"/lambda-url/{url_id}/plain").status == 403


def test_cors_preflight_and_response_headers(lam, deploy, server) -> None:  # type: ignore[no-untyped-def]
    name = deploy({"app.py": ECHO})
    cors = {"AllowOrigins": ["https://app.example"], "AllowMethods": ["GET", "POST"], "AllowHeaders": ["X-Token"],
            "ExposeHeaders": ["X-Custom"], "MaxAge": 300, "AllowCredentials": True}  # fmt: skip
    host, _ = public_url(lam, name, Cors=cors)
    ask = [("Origin", "https://app.example"), ("Access-Control-Request-Method", "POST")]
    preflight = request(server, "OPTIONS", "/raise", host=host, headers=ask)  # /raise: the function is not called
    assert preflight.status == 200
    assert preflight.header("access-control-allow-origin") == "https://app.example"
    assert preflight.header("access-control-allow-methods") == "GET,POST"
    assert preflight.header("access-control-allow-headers") == "x-token"
    assert (preflight.header("access-control-max-age"), preflight.header("access-control-allow-credentials")) == (
        "300",
        "true",
    )
    made = request(server, "GET", "/cookies", host=host, headers=[("Origin", "https://app.example")])
    assert made.header("access-control-allow-origin") == "https://app.example"  # the function's own is replaced
    assert made.header("access-control-expose-headers") == "x-custom"
    stranger = request(server, "GET", "/cookies", host=host, headers=[("Origin", "https://evil.example")])
    assert stranger.header("access-control-allow-origin") is None
