"""Signing by hand for the auth tests: a request signed with botocore, then sent (or tampered with) as is."""

from __future__ import annotations

import datetime
import http.client
import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def signed(endpoint: str, method: str, path: str, body: bytes = b"", keys: tuple[str, str] = ("", ""),
           service: str = "lambda", headers: dict[str, str] | None = None) -> AWSRequest:  # fmt: skip
    request = AWSRequest(method=method, url=endpoint + path, data=body, headers=headers or {})
    SigV4Auth(Credentials(*keys), service, "us-east-1").add_auth(request)
    return request


def presigned(endpoint: str, method: str, path: str, keys: tuple[str, str], expires: int = 60) -> str:
    request = AWSRequest(method=method, url=endpoint + path)
    SigV4QueryAuth(Credentials(*keys), "lambda", "us-east-1", expires=expires).add_auth(request)
    return request.url


@contextmanager
def clock_at(moment: datetime.datetime) -> Iterator[None]:
    """botocore signs as if it were ``moment`` (a client whose clock is off, or a captured request replayed)."""
    with mock.patch("botocore.auth.get_current_datetime", return_value=moment):
        yield


def send(
    url: str, method: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], dict]:
    """One HTTP request exactly as given; the status, headers (lower-case) and JSON body of the answer."""
    parts = urlsplit(url)
    if parts.scheme == "https":  # the TLS tests' self-signed certificate: trust is tested with boto3 there
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(parts.netloc, timeout=60, context=context)
    else:
        connection = http.client.HTTPConnection(parts.netloc, timeout=60)
    try:
        target = parts.path + ("?" + parts.query if parts.query else "")
        connection.request(method, target, body=body or None, headers=headers or {})
        reply = connection.getresponse()
        data = reply.read()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, json.loads(data) if data.strip() else {}
    finally:
        connection.close()


def send_signed(request: AWSRequest) -> tuple[int, dict[str, str], dict]:
    return send(request.url, request.method, request.body or b"", dict(request.headers.items()))


def put_user(endpoint: str, root: tuple[str, str], name: str, policies: dict | None = None,
             managed: list[str] | None = None) -> tuple[str, str]:  # fmt: skip
    """Creates an IAM user through Kindling's endpoint, as root; its new key pair."""
    body = json.dumps({"Policies": policies or {}, "ManagedPolicyArns": managed or []}).encode()
    status, _, answer = send_signed(signed(endpoint, "PUT", f"/kindling/iam/users/{name}", body, root))
    assert status == 200, answer
    return answer["AccessKey"]["AccessKeyId"], answer["AccessKey"]["SecretAccessKey"]
