"""Event building and response reading against the examples in AWS's documentation."""

from __future__ import annotations

import base64
import json

import pytest

from kindling.functions.routes import parse_api
from kindling.triggers.http.cors import decorate, is_preflight, preflight
from kindling.triggers.http.events import HttpRequest, Route, event_v1, event_v2
from kindling.triggers.http.responses import HttpResponse, MalformedResponse, from_prelude, from_v1, from_v2

# "Lambda function URLs: request payload format" (AWS Lambda developer guide), IAM parts left out
AWS_URL_EVENT = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/my/path",
    "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
    "cookies": ["cookie1", "cookie2"],
    "headers": {"header1": "value1", "header2": "value1,value2"},
    "queryStringParameters": {"parameter1": "value1,value2", "parameter2": "value"},
    "requestContext": {
        "accountId": "anonymous",
        "apiId": "<urlid>",
        "domainName": "<urlid>.lambda-url.us-west-2.on.aws",
        "domainPrefix": "<urlid>",
        "http": {
            "method": "POST",
            "path": "/my/path",
            "protocol": "HTTP/1.1",
            "sourceIp": "123.123.123.123",
            "userAgent": "agent",
        },
        "requestId": "id",
        "routeKey": "$default",
        "stage": "$default",
        "time": "04/Mar/2020:19:03:58 +0000",  # the guide says 12/Mar, which its own timeEpoch contradicts
        "timeEpoch": 1583348638390,
    },
    "body": "Hello from client!",
    "isBase64Encoded": False,
}

# "Working with AWS Lambda proxy integrations for HTTP APIs", payload format 1.0 (API Gateway guide)
AWS_V1_EVENT = {
    "resource": "/my/path",
    "path": "/my/path",
    "httpMethod": "GET",
    "headers": {"header1": "value1", "header2": "value2"},
    "multiValueHeaders": {"header1": ["value1"], "header2": ["value1", "value2"]},
    "queryStringParameters": {"parameter1": "value2", "parameter2": "value"},
    "multiValueQueryStringParameters": {"parameter1": ["value1", "value2"], "parameter2": ["value"]},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "id",
        "domainName": "id.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "id",
        "extendedRequestId": "request-id",
        "httpMethod": "GET",
        "identity": {
            "accessKey": None,
            "accountId": None,
            "caller": None,
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "sourceIp": "IP",
            "user": None,
            "userAgent": "user-agent",
            "userArn": None,
        },
        "path": "/my/path",
        "protocol": "HTTP/1.1",
        "requestId": "id=",
        "requestTime": "04/Mar/2020:19:15:17 +0000",
        "requestTimeEpoch": 1583349317135,
        "resourceId": None,
        "resourcePath": "/my/path",
        "stage": "$default",
    },
    "pathParameters": None,
    "stageVariables": None,
    "body": "Hello from Lambda!",
    "isBase64Encoded": False,
}


def _request(method: str, body: bytes, headers: list[tuple[str, str]], epoch_ms: int, request_id: str) -> HttpRequest:
    return HttpRequest(
        method=method,
        path="/my/path",
        query="parameter1=value1&parameter1=value2&parameter2=value",
        headers=headers,
        body=body,
        source_ip="123.123.123.123",
        epoch_ms=epoch_ms,
        request_id=request_id,
    )


def test_url_event_is_the_documented_one() -> None:
    request = _request(
        "POST",
        b"Hello from client!",
        [
            ("header1", "value1"),
            ("header2", "value1"),
            ("cookie", "cookie1; cookie2"),
            ("header2", "value2"),
            ("user-agent", "agent"),
            ("content-type", "text/plain"),
        ],
        1583348638390,
        "id",
    )
    event = event_v2(request, Route(api_id="<urlid>", domain="<urlid>.lambda-url.us-west-2.on.aws"))
    expected = json.loads(json.dumps(AWS_URL_EVENT))
    expected["headers"].update({"user-agent": "agent", "content-type": "text/plain"})
    assert list(event) == list(expected)
    assert event == expected


def test_v2_leaves_out_what_is_empty_and_base64_encodes_binary() -> None:
    request = HttpRequest("PUT", "/", "", [("content-type", "application/octet-stream")], b"\x00\xff")
    event = event_v2(request, Route(api_id="a", domain="a.lambda-url.us-east-1.localhost"))
    assert "cookies" not in event and "queryStringParameters" not in event and "pathParameters" not in event
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\xff"
    empty = event_v2(HttpRequest("GET", "/", "", [], b""), Route(api_id="a", domain="a.b"))
    assert "body" not in empty and empty["isBase64Encoded"] is False


def test_v2_route_table_event_names_the_route() -> None:
    request = HttpRequest("GET", "/items/7", "", [], b"")
    route = Route(api_id="api", domain="127.0.0.1", route_key="GET /items/{id}", path_parameters={"id": "7"})
    event = event_v2(request, route)
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "GET /items/{id}"
    assert event["pathParameters"] == {"id": "7"}


def test_v1_event_is_the_documented_one() -> None:
    request = _request(
        "GET",
        b"Hello from Lambda!",
        [("header1", "value1"), ("header2", "value1"), ("header2", "value2"), ("user-agent", "user-agent")],
        1583349317135,
        "id=",
    )
    request = HttpRequest(**{**request.__dict__, "source_ip": "IP"})
    route = Route(
        api_id="id",
        domain="id.execute-api.us-east-1.amazonaws.com",
        route_key="GET /my/path",
        resource="/my/path",
        account_id="123456789012",
    )
    event = event_v1(request, route)
    expected = json.loads(json.dumps(AWS_V1_EVENT))
    expected["headers"]["user-agent"] = "user-agent"
    expected["headers"]["header2"] = "value2"  # the last value wins in the single-value map
    expected["multiValueHeaders"]["user-agent"] = ["user-agent"]
    expected["requestContext"]["extendedRequestId"] = "id="
    assert sorted(event) == sorted(expected)
    assert sorted(event["requestContext"]) == sorted(expected["requestContext"])
    for key in expected:
        if key != "requestContext":
            assert event[key] == expected[key], key
    assert event["requestContext"] == expected["requestContext"]


def test_v2_response_with_status_headers_cookies_and_base64_body() -> None:
    payload = {
        "statusCode": 201,
        "headers": {"x-custom": "1"},
        "cookies": ["a=b; Max-Age=60", "c=d"],
        "body": base64.b64encode(b"\x01\x02").decode(),
        "isBase64Encoded": True,
    }
    response = from_v2(json.dumps(payload).encode())
    assert response.status == 201
    assert response.body == b"\x01\x02"
    assert ("set-cookie", "a=b; Max-Age=60") in response.headers and ("set-cookie", "c=d") in response.headers
    assert response.header("x-custom") == "1"


@pytest.mark.parametrize(
    ("result", "body"),
    [({"hello": "world"}, b'{"hello": "world"}'), ("hello", b"hello"), ([1, 2], b"[1, 2]"), (None, b"null")],
)
def test_v2_result_without_status_code_is_the_json_body(result: object, body: bytes) -> None:
    response = from_v2(json.dumps(result).encode())
    assert (response.status, response.body, response.header("content-type")) == (200, body, "application/json")


@pytest.mark.parametrize("payload", [b"not json", b'{"statusCode": "abc"}', b'{"statusCode": 99}'])
def test_malformed_v2_results_are_refused(payload: bytes) -> None:
    with pytest.raises(MalformedResponse):
        from_v2(payload)


def test_v1_needs_a_status_code_and_merges_multi_value_headers() -> None:
    with pytest.raises(MalformedResponse):
        from_v1(b'{"hello": "world"}')
    response = from_v1(
        json.dumps(
            {"statusCode": 200, "headers": {"a": "1", "b": "2"}, "multiValueHeaders": {"a": ["x", "y"]}, "body": "ok"}
        ).encode()
    )
    assert [v for k, v in response.headers if k == "a"] == ["x", "y"]
    assert response.header("b") == "2" and response.body == b"ok"


def test_streaming_prelude() -> None:
    head = from_prelude(b'{"statusCode": 202, "headers": {"x-a": "1"}, "cookies": ["s=1"]}')
    assert head.status == 202 and head.header("content-type") == "application/octet-stream"
    assert head.header("set-cookie") == "s=1"


def test_cors_preflight_and_decoration() -> None:
    cors = {"AllowOrigins": ["https://app.example"], "AllowMethods": ["GET", "POST"], "MaxAge": 300}
    asks = HttpRequest(
        "OPTIONS", "/", "", [("origin", "https://app.example"), ("access-control-request-method", "POST")], b""
    )
    assert is_preflight(cors, asks)
    answer = preflight(cors, asks)
    assert answer.header("access-control-allow-origin") == "https://app.example"
    assert answer.header("access-control-allow-methods") == "GET,POST"
    assert answer.header("access-control-max-age") == "300"
    stranger = HttpRequest("GET", "/", "", [("origin", "https://evil.example")], b"")
    response = HttpResponse(200, decorate(cors, stranger, [("access-control-allow-origin", "*")]))
    assert response.header("access-control-allow-origin") is None


def test_route_matching_prefers_the_most_specific_route() -> None:
    api = parse_api(
        "x",
        {
            "BasePath": "/shop",
            "Routes": [
                {"RouteKey": "ANY /{proxy+}", "Function": "f"},
                {"RouteKey": "GET /items/{id}", "Function": "f"},
                {"RouteKey": "GET /items/special", "Function": "f"},
                {"RouteKey": "$default", "Function": "f"},
            ],
        },
        [],
        None,
    )
    found = api.find("GET", "/items/7")
    assert found is not None and found[0].key == "GET /items/{id}" and found[1] == {"id": "7"}
    found = api.find("GET", "/items/special")
    assert found is not None and found[0].key == "GET /items/special"
    found = api.find("DELETE", "/items/7/parts")
    assert found is not None and found[0].key == "ANY /{proxy+}" and found[1] == {"proxy": "items/7/parts"}
    found = api.find("GET", "/")
    assert found is not None and found[0].key == "$default"
