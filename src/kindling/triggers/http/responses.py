"""A function's result read back as an HTTP response, the way function URLs and API Gateway read it.

Payload 2.0 accepts a bare JSON value as the body (status 200, JSON); payload 1.0 insists on a
``statusCode``. Anything else is the 502 AWS answers for a malformed function response.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name), None)


class MalformedResponse(Exception):
    """The function answered something API Gateway / function URLs cannot turn into HTTP."""


def plain(status: int, text: str, content_type: str = "text/plain; charset=utf-8") -> HttpResponse:
    return HttpResponse(status, [("content-type", content_type)], text.encode())


def message(status: int, text: str | None, key: str = "Message") -> HttpResponse:
    """The front door's own answers: ``{"Message": ...}`` (function URLs), ``{"message": ...}`` (API Gateway)."""
    return HttpResponse(status, [("content-type", "application/json")], json.dumps({key: text}).encode())


def _body(result: dict[str, Any]) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        body = json.dumps(body)
    if result.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedResponse("body is not valid base64") from None
    return body.encode()


def _status(result: dict[str, Any]) -> int:
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedResponse(f"invalid statusCode {status!r}")
    return status


def _headers(result: dict[str, Any]) -> list[tuple[str, str]]:
    headers = result.get("headers") or {}
    if not isinstance(headers, dict):
        raise MalformedResponse("headers must be an object")
    return [(str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in headers.items()]


def from_v2(payload: bytes) -> HttpResponse:
    """Payload format 2.0: ``statusCode``/``headers``/``cookies``/``body``, or a bare JSON value."""
    try:
        result = json.loads(payload) if payload else None
    except ValueError:
        raise MalformedResponse("the result is not JSON") from None
    if not isinstance(result, dict) or "statusCode" not in result:
        body = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(200, [("content-type", "application/json")], body.encode())
    return HttpResponse(_status(result), _head(result, "application/json"), _body(result))


def _head(result: dict[str, Any], default_type: str) -> list[tuple[str, str]]:
    """``headers`` plus one ``set-cookie`` per cookie, with a content type when none is given."""
    headers = _headers(result)
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list):
        raise MalformedResponse("cookies must be a list")
    headers.extend(("set-cookie", str(cookie)) for cookie in cookies)
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("content-type", default_type))
    return headers


def from_prelude(data: bytes) -> HttpResponse:
    """The head a streaming handler sends before its body: ``statusCode``, ``headers``, ``cookies``."""
    try:
        result = json.loads(data)
    except ValueError:
        raise MalformedResponse("the prelude is not JSON") from None
    if not isinstance(result, dict):
        raise MalformedResponse("the prelude is not an object")
    status = _status(result) if "statusCode" in result else 200
    return HttpResponse(status, _head(result, "application/octet-stream"))


def from_v1(payload: bytes) -> HttpResponse:
    """Payload format 1.0: a ``statusCode`` is required; ``multiValueHeaders`` add repeated headers."""
    try:
        result = json.loads(payload) if payload else None
    except ValueError:
        raise MalformedResponse("the result is not JSON") from None
    if not isinstance(result, dict) or "statusCode" not in result:
        raise MalformedResponse("statusCode is missing")
    unknown = set(result) - {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded", "cookies"}
    if unknown:
        raise MalformedResponse(f"unexpected keys {sorted(unknown)}")
    headers = _headers(result)
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(multi, dict):
        raise MalformedResponse("multiValueHeaders must be an object")
    for name, values in multi.items():
        headers = [(k, v) for k, v in headers if k.lower() != str(name).lower()]
        headers.extend((str(name), str(v)) for v in (values if isinstance(values, list) else [values]))
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("content-type", "application/json"))
    return HttpResponse(_status(result), headers, _body(result))
