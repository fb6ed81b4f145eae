"""The ASGI application: request in, operation found in the model, handler run, AWS reply out.

Everything a handler raises as a ``LambdaError`` becomes an AWS error response here; anything
else is logged and answered with a ``ServiceException`` so clients never see a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs

from ..errors import (
    AwsError,
    NotImplementedOperation,
    ServiceError,
    UnknownOperation,
    UserError,
)
from ..ids import request_id as new_request_id
from ..web import Mount, RawRequest, Reply, read_body
from .errors import error_response
from .model import Operation, ServiceModel
from .unimplemented import not_implemented

log = logging.getLogger("kindling.api")


@dataclass
class Request:
    operation: Operation
    params: dict[str, Any]
    headers: dict[str, str]
    request_id: str = ""  # the reply's x-amzn-RequestId, which an invocation takes as its own


Handler = Callable[[Request], Awaitable[Reply]]


class Guard(Protocol):
    """Authorization and audit around each operation (``auth/lambda_access.py``); the caller was
    authenticated at the front of the port."""

    def authorize(self, operation: str, params: dict[str, Any]) -> None: ...

    def record(
        self, operation: str, uri_pattern: str, params: dict[str, Any], request_id: str, error: AwsError | None
    ) -> None: ...


class LambdaApi:
    def __init__(
        self, model: ServiceModel, handlers: dict[str, Handler], mounts: list[Mount], guard: Guard | None = None
    ) -> None:
        self.model = model
        self.handlers = handlers
        self.mounts = mounts
        self.guard = guard

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return
        request_id = new_request_id()
        work = self._handle(scope, receive, request_id)
        status, headers, body = await answer(work, scope["method"], scope["path"], request_id)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _handle(self, scope: dict, receive: Callable, request_id: str) -> Reply:
        method = scope["method"]
        raw_path = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.decode("latin-1").split("?", 1)[0]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        body = await read_body(receive, headers.get("content-length"))
        query_string = scope.get("query_string", b"").decode("latin-1")
        return await self.dispatch(method, path, query_string, headers, body, request_id)

    async def dispatch(
        self, method: str, path: str, query_string: str, headers: dict[str, str], body: bytes, request_id: str
    ) -> Reply:
        """A request read off the wire (``path`` still percent-encoded, header names lower-case) to the
        handler of its operation. The Invoke fast lane enters here too, with the same mounts and checks."""
        if self.mounts:
            raw = RawRequest(method, path, query_string, headers, body)
            for mount in self.mounts:
                special = mount(raw)
                if special is not None:
                    return await special
        query = parse_qs(query_string, keep_blank_values=True)
        found = self.model.match(method, path, query)
        if found is None:
            raise UnknownOperation(f"No Lambda operation matches {method} {path}")
        operation, labels = found
        handler = self.handlers.get(operation.name)
        if handler is None:
            raise NotImplementedOperation(not_implemented(operation.name))
        params = self.model.parse(operation, labels, query, headers, body)
        self.model.validate(operation, params)
        guard = self.guard
        if guard is None:
            return await handler(Request(operation, params, headers, request_id))
        try:
            guard.authorize(operation.name, params)
            reply = await handler(Request(operation, params, headers, request_id))
        except AwsError as error:
            guard.record(operation.name, operation.pattern.pattern, params, request_id, error)
            raise
        guard.record(operation.name, operation.pattern.pattern, params, request_id, None)
        return reply


async def answer(
    work: Awaitable[Reply], method: str, path: str, request_id: str
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers and body of AWS's answer to one operation: the handler's reply, or its error in AWS's
    shape. Shared by the ASGI app and the Invoke fast lane, so both answer alike."""
    try:
        reply = await work
    except AwsError as error:
        status, headers, body = error_response(error)
        reply = Reply(status, body, headers)
        if not isinstance(error, UserError):
            log.error("%s: %s", error.code, error.message)
    except Exception:
        log.exception("unexpected error in %s %s", method, path)
        status, headers, body = error_response(ServiceError("An internal error occurred."))
        reply = Reply(status, body, headers)
    headers = [
        (b"content-type", reply.content_type),
        (b"x-amzn-requestid", request_id.encode()),
        *reply.headers,
    ]
    if reply.status in (204, 304):
        return reply.status, headers, b""
    headers.append((b"content-length", str(len(reply.body)).encode()))
    return reply.status, headers, reply.body
