"""The HTTP front: the service on the port (``api/dispatch.py``) for function URLs, route tables and
InvokeWithResponseStream.

It takes what a buffered API cannot: function URLs and route tables need every header as sent and
may stream the body out. Function URLs are found by host (``<url-id>.lambda-url.<region>.localhost``)
or by path (``/lambda-url/<url-id>/...``), route tables by base path, InvokeWithResponseStream by
its path.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

from ...errors import AwsError
from ...functions.routes import HttpApi, RouteTables
from ...functions.urls import PATH_PREFIX, URL_HOST, UrlService
from ...limits import SYNC_PAYLOAD_MAX
from ...web import header, read_body
from .apis import ApiGateway, api_failure
from .events import HttpRequest
from .responses import HttpResponse, message, plain
from .serve import Answer, HttpGateway, Streamed

log = logging.getLogger("kindling.http")
Asgi = Callable[[dict, Callable, Callable], Awaitable[None]]
_STREAMING, _STREAMING_SUFFIX = "/2021-11-15/functions/", "/response-streaming-invocations"


class TooLarge(Exception):
    pass


class HttpFront:
    def __init__(self, urls: UrlService, tables: RouteTables, gateway: HttpGateway, streaming: Asgi) -> None:
        self.urls = urls
        self.tables = tables
        self.apis = ApiGateway(tables, gateway)
        self.gateway = gateway
        self.streaming = streaming

    def owns(self, path: str, host: bytes) -> bool:
        """Whether a request the Lambda API could take is this front's: a function URL by host, or a
        route table's path. The Invoke fast lane asks before it takes a request past the fronts."""
        if b".lambda-url." in host:
            return True
        tables = self.tables
        return bool(tables.prefixes) and path.startswith(tables.prefixes) and tables.api_for(path) is not None

    def claims(self, scope: dict) -> bool:
        """The dispatcher's question: a function URL (by host or path), a route table's path, or a
        streamed invocation."""
        path: str = scope["path"]
        if path.startswith(PATH_PREFIX) or (path.startswith(_STREAMING) and path.endswith(_STREAMING_SUFFIX)):
            return True
        return self.owns(path, header(scope, b"host"))

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        path: str = scope["path"]
        if path.startswith(PATH_PREFIX):
            identifier = path[len(PATH_PREFIX) :].partition("/")[0]
            return await self._url(identifier, len(PATH_PREFIX) + len(identifier), scope, receive, send)
        if path.startswith(_STREAMING) and path.endswith(_STREAMING_SUFFIX):
            return await self.streaming(scope, receive, send)
        host = header(scope, b"host")
        if b".lambda-url." in host:
            found = URL_HOST.match(host.decode("latin-1").lower())
            return await self._url(found.group(1) if found else "", 0, scope, receive, send)
        api = self.tables.api_for(path)
        assert api is not None  # claimed, so a table has this path
        await self._api(api, host.decode("latin-1").split(":")[0], scope, receive, send)

    async def _url(self, identifier: str, strip: int, scope: dict, receive: Callable, send: Callable) -> None:
        config = self.urls.by_id(identifier)
        if config is None:
            reply = message(403, None)
            reply.headers.append(("x-amzn-errortype", "AccessDeniedException"))
            return await _send(send, reply)

        async def serve(request: HttpRequest) -> Answer:
            return await self.gateway.url(config, request, self.urls.host(config))

        await self._exchange(scope, receive, send, strip, serve, plain)

    async def _api(self, api: HttpApi, domain: str, scope: dict, receive: Callable, send: Callable) -> None:
        async def serve(request: HttpRequest) -> Answer:
            return await self.apis.serve(api, request, domain)

        await self._exchange(scope, receive, send, 0, serve, api_failure)

    async def _exchange(
        self,
        scope: dict,
        receive: Callable,
        send: Callable,
        strip: int,
        serve: Callable[[HttpRequest], Awaitable[Answer]],
        error: Callable[[int, str], HttpResponse],
    ) -> None:
        try:
            request = await _request(scope, receive, strip)
        except TooLarge:
            return await _send(send, error(413, "Request Entity Too Large"))
        try:
            answer = await serve(request)
        except AwsError as failure:
            answer = error(failure.status, failure.message)
        except Exception:
            log.exception("unexpected error serving %s %s", scope["method"], scope["path"])
            answer = error(500, "Internal Server Error")
        await _send(send, answer, request.request_id)


async def _request(scope: dict, receive: Callable, strip: int) -> HttpRequest:
    """The request as AWS's front end passes it on: as sent, plus the ``x-forwarded-*`` headers it adds.
    More than 6 MB of body is refused before it is all read."""
    client = scope.get("client") or ("127.0.0.1", 0)
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
    present = {k for k, _ in headers}
    server = scope.get("server") or ("127.0.0.1", 80)
    for name, value in (
        ("x-forwarded-for", client[0]),
        ("x-forwarded-proto", "http"),
        ("x-forwarded-port", str(server[1])),
    ):
        if name not in present:
            headers.append((name, value))
    declared = next((v for k, v in headers if k == "content-length"), "")
    body = await read_body(receive, declared, SYNC_PAYLOAD_MAX, TooLarge)
    raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?", 1)[0]
    return HttpRequest(
        method=scope["method"],
        path=raw_path[strip:] or "/",
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        body=body,
        source_ip=client[0],
        protocol=f"HTTP/{scope.get('http_version', '1.1')}",
    )


async def _send(send: Callable, answer: Answer, request_id: str | None = None) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode()) for k, v in answer.headers if k.lower() != "content-length"]
    headers.append((b"x-amzn-requestid", (request_id or str(uuid.uuid4())).encode()))
    if isinstance(answer, Streamed):
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        if answer.first:
            await send({"type": "http.response.body", "body": answer.first, "more_body": True})
        async for chunk in answer.invocation.rest():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        result = await answer.invocation.result()
        if result.function_error or answer.invocation.too_large:
            log.info("streamed response ended early: %s", result.payload[:200])
        return
    body = b"" if answer.status in (204, 304) else answer.body
    if answer.status not in (204, 304):
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
