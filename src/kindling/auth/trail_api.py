"""CloudTrail's ``LookupEvents`` on the port (the JSON protocol, ``X-Amz-Target: …CloudTrail_20131101.
LookupEvents``) over the audit trail, and Kindling's endpoint for managing users (``/kindling/iam/users``)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import AwsError, ServiceFault
from ..ids import request_id as new_request_id
from ..web import RawRequest, Reply, json_reply
from .audit import AuditTrail

TARGET = b"CloudTrail_20131101."
Authorize = Callable[[str, str], None]  # action, resource: raises AccessDenied
_USER = re.compile(r"^/kindling/iam/users(?:/([\w+=,.@-]{1,64}))?$")


class TrailApi:
    """The service the dispatcher asks first for CloudTrail's target prefix."""

    def __init__(self, trail: AuditTrail, authorize: Authorize) -> None:
        self.trail = trail
        self.authorize = authorize

    def claims(self, scope: dict) -> bool:
        return any(name == b"x-amz-target" and TARGET in value for name, value in scope["headers"])

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        request_id = new_request_id()
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        target = next(v for k, v in scope["headers"] if k == b"x-amz-target").decode("latin-1")
        try:
            status, body = 200, self.answer(target.rpartition(".")[2], b"".join(chunks))
        except AwsError as error:
            status, body = error.status, json.dumps({"__type": error.code, "message": error.message}).encode()
        headers = [
            (b"content-type", b"application/x-amz-json-1.1"),
            (b"x-amzn-requestid", request_id.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def answer(self, operation: str, body: bytes) -> bytes:
        if operation != "LookupEvents":
            raise ServiceFault("UnknownOperationException", f"Kindling does not implement CloudTrail's {operation}.")
        self.authorize("cloudtrail:LookupEvents", "*")
        try:
            params: dict[str, Any] = json.loads(body or b"{}")
        except ValueError:
            raise ServiceFault("SerializationException", "The request body is not valid JSON.") from None
        attributes = [
            (a.get("AttributeKey", ""), a.get("AttributeValue", "")) for a in params.get("LookupAttributes", [])
        ]
        if len(attributes) > 1:
            raise ServiceFault("InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.")
        limit = int(params.get("MaxResults") or 50)
        if not 1 <= limit <= 50:
            raise ServiceFault("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
        token = params.get("NextToken")
        try:
            before = int(token) if token else None
        except ValueError:
            raise ServiceFault("InvalidNextTokenException", "The NextToken is not valid.") from None
        events, cursor = self.trail.lookup(attributes, params.get("StartTime"), params.get("EndTime"), limit, before)
        answer: dict[str, Any] = {"Events": events}
        if cursor is not None:
            answer["NextToken"] = str(cursor)
        return json.dumps(answer).encode()


def users_mount(users: Any, authorize: Authorize) -> Callable[[RawRequest], Awaitable[Reply] | None]:
    """``PUT /kindling/iam/users/<name>`` (``{"Policies": {name: document}, "ManagedPolicyArns": [...]}``)
    creates a user with an access key or replaces its policies; ``DELETE`` removes it; ``GET
    /kindling/iam/users`` lists them. Each is authorized as the IAM action it stands for."""

    async def serve(request: RawRequest, name: str | None) -> Reply:
        if request.method == "GET" and name is None:
            authorize("iam:ListUsers", "*")
            return json_reply({"Users": users.users()})
        if name is None:
            raise ServiceFault("ValidationError", "A user name is required.")
        arn = f"arn:aws:iam::{users.account}:user/{name}"
        if request.method == "DELETE":
            authorize("iam:DeleteUser", arn)
            if not users.delete_user(name):
                raise ServiceFault("NoSuchEntity", f"The user with name {name} cannot be found.", 404)
            return Reply(204)
        if request.method != "PUT":
            raise ServiceFault("ValidationError", f"{request.method} is not supported here.")
        authorize("iam:CreateUser", arn)
        try:
            spec = json.loads(request.body or b"{}")
            inline, managed = dict(spec.get("Policies") or {}), list(spec.get("ManagedPolicyArns") or [])
            for document in inline.values():
                json.dumps(document["Statement"])
        except (ValueError, TypeError, KeyError, AttributeError):
            raise ServiceFault("MalformedPolicyDocument", "Expected {\"Policies\": {name: policy document}, "
                               "\"ManagedPolicyArns\": [arn]}.") from None  # fmt: skip
        try:
            return json_reply(users.put_user(name, inline, managed))
        except ValueError as error:
            raise ServiceFault("NoSuchEntity", str(error), 404) from None

    def mount(request: RawRequest) -> Awaitable[Reply] | None:
        found = _USER.match(request.path)
        return serve(request, found.group(1)) if found else None

    return mount
