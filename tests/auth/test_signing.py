"""Authentication on a server run with ``--auth iam``: only requests signed (SigV4) by a known key, within
five minutes of the server's clock, reach any API, with AWS's errors for each way a request falls short."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from auth_support import clock_at, presigned, send, send_signed, signed
from botocore.exceptions import ClientError

from support import Server, aws_cli, create_function, invoke_many

MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)
LIST = "/2015-03-31/functions/"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    instance = Server(tmp_path_factory.mktemp("auth") / "data", "--auth", "iam").start()
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def root(server: Server) -> tuple[str, str]:
    return server.root_keys


@pytest.fixture(scope="module")
def echo(server: Server) -> str:
    create_function(server.client(), "echo", {"app.py": "def handler(event, context):\n    return event\n"})
    return "echo"


def error_of(call) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def test_root_credentials_file_is_private_and_works(server: Server, root: tuple[str, str]) -> None:
    path = server.data_dir / "credentials"
    assert path.stat().st_mode & 0o777 == 0o600
    assert "[kindling]" in path.read_text()
    assert root[0].startswith("AKIA")
    assert "credentials" in Path(server.log_path).read_text()  # the path is printed
    assert server.client().list_functions()["Functions"] is not None


def test_unsigned_request_is_refused(server: Server) -> None:
    status, headers, body = send(server.endpoint + LIST, "GET")
    assert status == 403
    assert headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert body == {"message": "Missing Authentication Token"}


def test_health_needs_no_signature(server: Server) -> None:
    assert send(server.endpoint + "/health", "GET")[0] == 200


def test_unknown_key(server: Server) -> None:
    client = server.client(keys=("AKIAUNKNOWNKEY000000", "whatever"))
    assert error_of(client.list_functions) == (
        403, "UnrecognizedClientException", "The security token included in the request is invalid."
    )  # fmt: skip


def test_wrong_secret(server: Server, root: tuple[str, str]) -> None:
    client = server.client(keys=(root[0], "not-the-secret"))
    assert error_of(client.list_functions) == (403, "InvalidSignatureException", MISMATCH)


def test_tampered_body(server: Server, root: tuple[str, str], echo: str) -> None:
    request = signed(server.endpoint, "POST", f"/2015-03-31/functions/{echo}/invocations", b'{"n": 1}', root)
    assert send_signed(request)[2] == {"n": 1}
    status, headers, body = send(request.url, "POST", b'{"n": 2}', dict(request.headers.items()))
    assert (status, headers["x-amzn-errortype"], body["message"]) == (403, "InvalidSignatureException", MISMATCH)


def test_tampered_signed_header(server: Server, root: tuple[str, str]) -> None:
    request = signed(server.endpoint, "GET", LIST, keys=root, headers={"X-Amz-Invocation-Type": "Event"})
    assert send_signed(request)[0] == 200
    headers = {**dict(request.headers.items()), "X-Amz-Invocation-Type": "RequestResponse"}
    assert send(request.url, "GET", b"", headers)[1]["x-amzn-errortype"] == "InvalidSignatureException"


def test_tampered_date(server: Server, root: tuple[str, str]) -> None:
    request = signed(server.endpoint, "GET", LIST, keys=root)
    stamp = request.headers["X-Amz-Date"]
    later = (datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ") + datetime.timedelta(seconds=1)).strftime(
        "%Y%m%dT%H%M%SZ"
    )
    headers = {**dict(request.headers.items()), "X-Amz-Date": later}
    status, _reply_headers, body = send(request.url, "GET", b"", headers)
    assert (status, body["message"]) == (403, MISMATCH)


def test_replay_outside_the_skew_window(server: Server, root: tuple[str, str]) -> None:
    ten_minutes_ago = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(minutes=10)
    with clock_at(ten_minutes_ago):
        request = signed(server.endpoint, "GET", LIST, keys=root)
    status, headers, body = send_signed(request)
    assert (status, headers["x-amzn-errortype"]) == (403, "InvalidSignatureException")
    assert body["message"].startswith(f"Signature expired: {request.headers['X-Amz-Date']} is now earlier than ")
    assert body["message"].endswith(" - 5 min.)")


def test_within_the_skew_window(server: Server, root: tuple[str, str]) -> None:
    four_minutes_ago = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(minutes=4)
    with clock_at(four_minutes_ago):
        request = signed(server.endpoint, "GET", LIST, keys=root)
    assert send_signed(request)[0] == 200


def test_presigned_query(server: Server, root: tuple[str, str]) -> None:
    url = presigned(server.endpoint, "GET", LIST, root)
    assert send(url, "GET")[0] == 200
    forged = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert send(forged, "GET")[1].get("x-amzn-errortype") == "InvalidSignatureException"


def test_fast_lane_invoke_is_checked(server: Server, root: tuple[str, str], echo: str) -> None:
    assert server.client().invoke(FunctionName=echo, Payload=b'{"a": 1}')["Payload"].read() == b'{"a": 1}'
    [(status, headers, _)] = invoke_many(server.endpoint, echo, 1)
    assert (status, headers["x-amzn-errortype"]) == (403, "MissingAuthenticationTokenException")
    wrong = server.client(keys=(root[0], "nope"))
    assert error_of(lambda: wrong.invoke(FunctionName=echo, Payload=b"{}"))[1] == "InvalidSignatureException"


def test_other_apis_on_the_port_are_checked(server: Server, root: tuple[str, str]) -> None:
    logs = server.client("logs")
    assert "logGroups" in logs.describe_log_groups()
    status, _headers, body = send(server.endpoint + "/", "POST", b"{}", {
        "X-Amz-Target": "Logs_20140328.DescribeLogGroups", "Content-Type": "application/x-amz-json-1.1"})  # fmt: skip
    assert (status, body["__type"]) == (403, "MissingAuthenticationTokenException")
    status, _, _ = send(server.endpoint + "/kindling/environments", "GET")
    assert status == 403


def test_aws_cli_signs_with_the_right_keys(server: Server, root: tuple[str, str]) -> None:
    listed = aws_cli(server.endpoint, "lambda", "list-functions", keys=root)
    assert "Functions" in json.loads(listed.stdout)
    refused = aws_cli(server.endpoint, "lambda", "list-functions", keys=(root[0], "wrong"), check=False)
    assert refused.returncode != 0
    assert "InvalidSignatureException" in refused.stderr


def test_open_is_refused_as_default_off_loopback() -> None:
    from kindling.cli.server import auth_mode

    assert auth_mode(None, "127.0.0.1") == "open"
    assert auth_mode(None, "::1") == "open"
    assert auth_mode(None, "0.0.0.0") == "iam"
    assert auth_mode(None, "192.168.1.4") == "iam"
    assert auth_mode("open", "0.0.0.0") == "open"  # explicit: allowed, with a warning
