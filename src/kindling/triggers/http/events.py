"""HTTP requests as the events AWS builds from them: payload format 2.0 (function URLs, HTTP APIs)
and 1.0 (the REST API proxy integration), key for key.

Pure functions of an ``HttpRequest``, so the shapes are unit-tested without a server.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from ...ids import request_id as new_request_id

_TEXT_SUBTYPES = ("json", "xml", "javascript", "x-www-form-urlencoded", "yaml", "graphql", "csv")


@dataclass(frozen=True)
class HttpRequest:
    """What arrived on the wire: header names lower-case, in order, repeats kept."""

    method: str
    path: str  # as sent, without the query string (and without a /lambda-url/<id> prefix)
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"
    epoch_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    request_id: str = field(default_factory=new_request_id)

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k == name]
        return ",".join(values) if values else None


@dataclass(frozen=True)
class Route:
    """Where a request landed: the route key and what its ``{params}`` matched."""

    api_id: str
    domain: str
    route_key: str = "$default"  # "GET /items/{id}" for a route table
    resource: str = "/{proxy+}"  # the route's path template (payload 1.0)
    stage: str = "$default"
    path_parameters: dict[str, str] = field(default_factory=dict)
    account_id: str = "anonymous"
    resource_id: str | None = None


def is_text(content_type: str | None) -> bool:
    if not content_type:
        return False
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind.startswith("text/") or any(word in kind for word in _TEXT_SUBTYPES)


def encode_body(request: HttpRequest) -> tuple[str | None, bool]:
    """The body as the event carries it: text when it is text, base64 otherwise."""
    if not request.body:
        return None, False
    content_type = request.header("content-type")
    if content_type is None or is_text(content_type):  # no type: text when it decodes as text
        try:
            return request.body.decode(), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode(), True


def query_pairs(query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in query.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((unquote_plus(key), unquote_plus(value)))
    return pairs


def _aws_time(epoch_ms: int, fmt: str = "%d/%b/%Y:%H:%M:%S +0000") -> str:
    return time.strftime(fmt, time.gmtime(epoch_ms / 1000))


def event_v2(request: HttpRequest, route: Route) -> dict[str, Any]:
    """Payload format 2.0: repeated headers and query keys comma-joined, cookies pulled out."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        if name == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
        else:
            headers[name] = f"{headers[name]},{value}" if name in headers else value
    query: dict[str, str] = {}
    for key, value in query_pairs(request.query):
        query[key] = f"{query[key]},{value}" if key in query else value
    domain_prefix = route.domain.split(".", 1)[0]
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.path,
        "rawQueryString": request.query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = query
    if route.path_parameters:
        event["pathParameters"] = dict(route.path_parameters)
    event["requestContext"] = {
        "accountId": route.account_id,
        "apiId": route.api_id,
        "domainName": route.domain,
        "domainPrefix": domain_prefix,
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request.request_id,
        "routeKey": route.route_key,
        "stage": route.stage,
        "time": _aws_time(request.epoch_ms),
        "timeEpoch": request.epoch_ms,
    }
    body, binary = encode_body(request)
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = binary
    return event


def _single_and_multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value  # the last value wins, as API Gateway does
        multi.setdefault(key, []).append(value)
    return single, multi


def event_v1(request: HttpRequest, route: Route) -> dict[str, Any]:
    """Payload format 1.0, the REST API proxy event: single- and multi-value maps, null when absent."""
    headers, multi_headers = _single_and_multi(request.headers)
    query, multi_query = _single_and_multi(query_pairs(request.query))
    body, binary = encode_body(request)
    stage_path = request.path if route.stage == "$default" else f"/{route.stage}{request.path}"
    return {
        "resource": route.resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(route.path_parameters) or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": route.account_id,
            "apiId": route.api_id,
            "resourceId": route.resource_id,
            "resourcePath": route.resource,
            "httpMethod": request.method,
            "extendedRequestId": request.request_id,
            "requestTime": _aws_time(request.epoch_ms),
            "path": stage_path,
            "protocol": request.protocol,
            "stage": route.stage,
            "domainPrefix": route.domain.split(".", 1)[0],
            "requestTimeEpoch": request.epoch_ms,
            "requestId": request.request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": request.source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": (headers or {}).get("user-agent"),
                "user": None,
            },
            "domainName": route.domain,
        },
        "body": body,
        "isBase64Encoded": binary,
    }
