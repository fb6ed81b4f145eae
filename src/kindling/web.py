"""The HTTP request and reply types every front on the port shares (Lambda API, Logs, triggers, services).

A leaf: it imports nothing of Kindling but the error hierarchy, so the API and the triggers can both
use it without importing each other.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import RequestEntityTooLarge
from .limits import API_BODY_MAX


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    content_type: bytes = b"application/json"


def json_reply(data: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data).encode())


@dataclass(frozen=True)
class RawRequest:
    """A request before it is known to be a Lambda operation, for the other APIs on the same port."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


def header(scope: dict, name: bytes) -> bytes:
    """One header of an ASGI request (``name`` lower-case), or b"" when absent."""
    for key, value in scope["headers"]:
        if key == name:
            return value
    return b""


Mount = Callable[[RawRequest], Awaitable[Reply] | None]  # None: not mine, try the next one


def _api_too_large() -> Exception:
    return RequestEntityTooLarge(f"Request must be smaller than {API_BODY_MAX} bytes for this operation")


async def read_body(
    receive: Callable,
    declared: str | None,
    limit: int = API_BODY_MAX,
    too_large: Callable[[], Exception] = _api_too_large,
) -> bytes:
    """The whole ASGI request body, refused as soon as it is known to be over ``limit``."""
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large()
    chunks = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large()
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def send_reply(send: Callable, reply: Reply, request_id: str) -> None:
    """An ASGI answer of one buffered reply, with the headers every AWS API sends."""
    headers = [(b"content-type", reply.content_type), (b"x-amzn-requestid", request_id.encode()), *reply.headers]
    body = b"" if reply.status in (204, 304) else reply.body
    if reply.status not in (204, 304):
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
