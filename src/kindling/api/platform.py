"""Kindling's own endpoints as a service on the port (``api/dispatch.py``): ``/health`` and everything under
``/kindling/`` (route tables, schedules, the async counters, environments, code downloads), each a Mount.
Errors answer in the Lambda API's REST JSON shape, as every Kindling client expects."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..errors import UnknownOperation
from ..ids import request_id as new_request_id
from ..web import Mount, RawRequest, Reply, header, read_body
from .app import answer


class PlatformApi:
    def __init__(self, mounts: Sequence[Mount]) -> None:
        self.mounts = list(mounts)

    def claims(self, scope: dict) -> bool:
        path: str = scope["path"]
        return path.startswith("/kindling/") or path == "/health"

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        request_id = new_request_id()
        status, headers, body = await answer(self._handle(scope, receive), scope["method"], scope["path"], request_id)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _handle(self, scope: dict, receive: Callable) -> Reply:
        path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        body = await read_body(receive, header(scope, b"content-length").decode("latin-1"))
        request = RawRequest(scope["method"], path, scope.get("query_string", b"").decode("latin-1"), headers, body)
        for mount in self.mounts:
            reply = mount(request)
            if reply is not None:
                return await reply
        raise UnknownOperation(f"No Kindling endpoint matches {request.method} {path}")
