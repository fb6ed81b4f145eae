"""A small REST API (CRUD on an in-memory store inside the function) behind a function URL and two
route tables (payload 2.0 and the REST API's 1.0), driven with plain HTTP; and the route table API."""

from __future__ import annotations

import json

import pytest
from url_support import Response, public_url, request

from support import ROLE, Server, make_zip

CRUD = """
import json, os

ITEMS = {}
COUNTER = [0]

def handler(event, context):
    if event.get("version") == "2.0":
        method, path = event["requestContext"]["http"]["method"], event["rawPath"]
    else:
        method, path = event["httpMethod"], event["path"]
    parts = [p for p in path.split("/") if p]
    body = json.loads(event["body"]) if event.get("body") else None
    status, result = 404, {"message": "no such route"}
    if parts == ["items"] and method == "GET":
        status, result = 200, sorted(ITEMS.values(), key=lambda i: i["id"])
    elif parts == ["items"] and method == "POST":
        COUNTER[0] += 1
        item = {"id": str(COUNTER[0]), **body}
        ITEMS[item["id"]] = item
        status, result = 201, item
    elif len(parts) == 2 and parts[0] == "items":
        item = ITEMS.get(parts[1])
        if item is None:
            status, result = 404, {"message": "not found"}
        elif method == "GET":
            status, result = 200, item
        elif method == "PUT":
            item.update(body)
            status, result = 200, item
        elif method == "DELETE":
            del ITEMS[parts[1]]
            status, result = 200, {"deleted": parts[1]}
    return {"statusCode": status, "headers": {"content-type": "application/json", "x-served-by": os.environ["AWS_LAMBDA_FUNCTION_NAME"]},
            "body": json.dumps({"result": result, "event": event})}
"""

WHOAMI = """
def handler(event, context):
    return {"statusCode": 200, "body": context.function_name}
"""

# the top-level keys of the documented REST API proxy event (API Gateway developer guide)
V1_KEYS = [
    "resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
    "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext", "body", "isBase64Encoded",
]  # fmt: skip
V1_CONTEXT_KEYS = [
    "accountId", "apiId", "resourceId", "resourcePath", "httpMethod", "extendedRequestId", "requestTime", "path",
    "protocol", "stage", "domainPrefix", "requestTimeEpoch", "requestId", "identity", "domainName",
]  # fmt: skip
V1_IDENTITY_KEYS = [
    "cognitoIdentityPoolId", "accountId", "cognitoIdentityId", "caller", "sourceIp", "principalOrgId", "accessKey",
    "cognitoAuthenticationType", "cognitoAuthenticationProvider", "userArn", "userAgent", "user",
]  # fmt: skip


def configure(server: Server, method: str, path: str = "", document: object = None) -> Response:
    body = b"" if document is None else json.dumps(document).encode()
    return request(server, method, "/kindling/apis" + path, body=body, headers=[("Content-Type", "application/json")])


@pytest.fixture(scope="module")
def shop(lam, server):  # type: ignore[no-untyped-def]
    for name, code in (("shop-crud", CRUD), ("shop-whoami", WHOAMI)):
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                            Code={"ZipFile": make_zip({"app.py": code})})  # fmt: skip
    url_host, _ = public_url(lam, "shop-crud")
    routes_v2 = [
        {"RouteKey": "GET /items", "Function": "shop-crud"},
        {"RouteKey": "POST /items", "Function": "shop-crud"},
        {"RouteKey": "ANY /items/{id}", "Function": "shop-crud"},
        {"RouteKey": "GET /whoami", "Function": "shop-whoami"},
    ]
    v2 = configure(server, "POST", document={"Name": "shop", "BasePath": "/shop", "Routes": routes_v2})
    assert v2.status == 201, v2.body
    v1 = configure(server, "POST", document={
        "Name": "legacy", "BasePath": "/legacy", "Stage": "prod", "PayloadFormatVersion": "1.0",
        "Routes": [{"RouteKey": "ANY /{proxy+}", "Function": "shop-crud"}],
    })  # fmt: skip
    assert v1.status == 201, v1.body
    yield url_host, v2.json(), v1.json()
    for api in (v2.json(), v1.json()):
        configure(server, "DELETE", "/" + api["ApiId"])
    for name in ("shop-crud", "shop-whoami"):
        lam.delete_function(FunctionName=name)


def crud_scenario(call) -> list[dict]:  # type: ignore[no-untyped-def]
    """Create, read, update, list, delete, read again; returns the events the function saw."""
    events = []

    def step(method: str, path: str, status: int, document: object = None) -> object:
        reply = call(method, path, json.dumps(document).encode() if document is not None else b"")
        assert reply.status == status, (method, path, reply.body)
        assert reply.header("x-served-by") == "shop-crud"
        answer = reply.json()
        events.append(answer["event"])
        return answer["result"]

    created = step("POST", "/items", 201, {"name": "kettle", "price": 30})
    item_id = created["id"]
    assert step("GET", f"/items/{item_id}", 200) == {"id": item_id, "name": "kettle", "price": 30}
    assert step("PUT", f"/items/{item_id}", 200, {"price": 25})["price"] == 25
    assert {"id": item_id, "name": "kettle", "price": 25} in step("GET", "/items?limit=10&limit=20", 200)
    assert step("DELETE", f"/items/{item_id}", 200) == {"deleted": item_id}
    step("GET", f"/items/{item_id}", 404)
    return events


def test_rest_api_behind_a_function_url(shop, server) -> None:  # type: ignore[no-untyped-def]
    host = shop[0]
    events = crud_scenario(
        lambda m, p, b: request(server, m, p, host=host, body=b, headers=[("Content-Type", "application/json")])
    )
    listing = events[3]
    assert (listing["routeKey"], listing["rawPath"], listing["rawQueryString"]) == (
        "$default",
        "/items",
        "limit=10&limit=20",
    )
    assert listing["queryStringParameters"] == {"limit": "10,20"} and "pathParameters" not in listing
    assert json.loads(events[0]["body"]) == {"name": "kettle", "price": 30}


def test_rest_api_behind_a_payload_2_0_route_table(shop, server) -> None:  # type: ignore[no-untyped-def]
    api = shop[1]
    assert api["Endpoint"] == f"{server.endpoint}/shop" and api["PayloadFormatVersion"] == "2.0"
    events = crud_scenario(
        lambda m, p, b: request(server, m, "/shop" + p, body=b, headers=[("Content-Type", "application/json")])
    )
    created, read = events[0], events[1]
    assert created["routeKey"] == created["requestContext"]["routeKey"] == "POST /items"
    assert read["routeKey"] == "ANY /items/{id}" and read["pathParameters"] == {"id": read["rawPath"].split("/")[-1]}
    assert read["rawPath"].startswith("/items/") and read["requestContext"]["apiId"] == api["ApiId"]
    assert read["requestContext"]["http"]["method"] == "GET" and read["version"] == "2.0"
    assert read["requestContext"]["accountId"] == "000000000000"
    whoami = request(server, "GET", "/shop/whoami")
    assert (whoami.status, whoami.body) == (200, b"shop-whoami")
    missing = request(server, "DELETE", "/shop/whoami")
    assert (missing.status, missing.json()) == (404, {"message": "Not Found"})


def test_rest_api_behind_a_payload_1_0_route_table(shop, server) -> None:  # type: ignore[no-untyped-def]
    events = crud_scenario(
        lambda m, p, b: request(server, m, "/legacy" + p, body=b,
                                headers=[("Content-Type", "application/json"), ("X-Twice", "a"), ("X-Twice", "b")])
    )  # fmt: skip
    listing, read = events[3], events[1]
    assert list(listing) == V1_KEYS
    assert list(listing["requestContext"]) == V1_CONTEXT_KEYS
    assert list(listing["requestContext"]["identity"]) == V1_IDENTITY_KEYS
    assert (listing["resource"], listing["path"], listing["httpMethod"]) == ("/{proxy+}", "/items", "GET")
    assert listing["queryStringParameters"] == {"limit": "20"}  # single-value maps keep the last value
    assert listing["multiValueQueryStringParameters"] == {"limit": ["10", "20"]}
    assert listing["headers"]["x-twice"] == "b" and listing["multiValueHeaders"]["x-twice"] == ["a", "b"]
    assert listing["pathParameters"] == {"proxy": "items"} and listing["stageVariables"] is None
    assert (listing["body"], listing["isBase64Encoded"]) == (None, False)
    context = listing["requestContext"]
    assert (context["stage"], context["path"], context["resourcePath"]) == ("prod", "/prod/items", "/{proxy+}")
    assert context["identity"]["sourceIp"] == "127.0.0.1" and context["httpMethod"] == "GET"
    assert read["pathParameters"] == {"proxy": read["path"].lstrip("/")}


def test_route_table_api(lam, deploy, server) -> None:  # type: ignore[no-untyped-def]
    name = deploy({"app.py": WHOAMI})
    bad = configure(
        server, "POST", document={"BasePath": "/2015-03-31", "Routes": [{"RouteKey": "$default", "Function": name}]}
    )
    assert bad.status == 400 and "BasePath" in bad.json()["message"]
    unknown = configure(
        server, "POST", document={"BasePath": "/x", "Routes": [{"RouteKey": "$default", "Function": "nope"}]}
    )
    assert unknown.status == 404
    assert (
        configure(
            server, "POST", document={"BasePath": "/x", "Routes": [{"RouteKey": "GET x", "Function": name}]}
        ).status
        == 400
    )

    created = configure(
        server, "POST", document={"BasePath": "/tools", "Routes": [{"RouteKey": "$default", "Function": name}]}
    )
    api_id = created.json()["ApiId"]
    assert request(server, "GET", "/tools/anything/at/all").body.decode() == name
    assert api_id in [a["ApiId"] for a in configure(server, "GET").json()["Items"]]
    replaced = configure(
        server, "PUT", f"/{api_id}", {"BasePath": "/tools2", "Routes": [{"RouteKey": "GET /a", "Function": name}]}
    )
    assert replaced.status == 200 and configure(server, "GET", f"/{api_id}").json()["BasePath"] == "/tools2"
    assert request(server, "GET", "/tools2/a").status == 200
    assert request(server, "GET", "/tools/anything").status == 404  # no longer served: the Lambda API answers
    assert configure(server, "DELETE", f"/{api_id}").status == 204
    assert configure(server, "GET", f"/{api_id}").status == 404
    assert request(server, "GET", "/tools2/a").status == 404
