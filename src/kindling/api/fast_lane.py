"""The Invoke fast lane: uvicorn's HTTP protocol with a shortcut for the one request that must be quick.

A synchronous Invoke spends more time in the ASGI plumbing (a request/response cycle, message dicts, the
HTTP fronts, body reassembly) than in Kindling itself. Here a plain ``POST /2015-03-31/functions/<name>/
invocations`` with a declared body is read straight off the parser and handed to ``LambdaApi.dispatch``
— the same mounts, model parsing, validation, handler and error shapes as the ASGI path — and the answer
is written back in one piece. Anything else (other routes, function URLs by host, route tables, chunked
or ``Expect: 100-continue`` bodies, upgrades) goes through uvicorn's ASGI path untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .app import LambdaApi, answer

INVOKE_PREFIX = b"/2015-03-31/functions/"
INVOKE_SUFFIX = b"/invocations"
MAX_FAST_BODY = 6_291_456 + 65_536  # a synchronous payload's limit; bigger bodies take the ASGI path's refusal
_STATUS_LINES = {status.value: f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode() for status in HTTPStatus}


class _Busy:
    """Stands in for uvicorn's current cycle while a fast request is answered, so a pipelined request
    behind it waits in uvicorn's own queue."""

    response_complete = False
    keep_alive = True


class FastLane:
    """Decides which requests skip ASGI and answers them through the Lambda API's own dispatch."""

    def __init__(self, api: LambdaApi, declines: Callable[[str, bytes], bool]) -> None:
        self.api = api
        self.declines = declines  # (path, host): True when a front (URL by host, route table) owns it

    def wants(self, method: bytes, url: bytes, headers: list[tuple[bytes, bytes]]) -> bool:
        if method != b"POST":
            return False
        path = url.partition(b"?")[0]
        if not (path.startswith(INVOKE_PREFIX) and path.endswith(INVOKE_SUFFIX)):
            return False
        declared = host = b""
        for name, value in headers:
            if name == b"content-length":
                declared = value
            elif name == b"host":
                host = value
            elif name in (b"expect", b"transfer-encoding"):
                return False
        if not declared.isdigit() or int(declared) > MAX_FAST_BODY:
            return False
        return not self.declines(path.decode("latin-1"), host)

    async def respond(self, url: bytes, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, list, bytes]:
        path, _, query = url.decode("latin-1").partition("?")
        folded = {name.decode("latin-1"): value.decode("latin-1") for name, value in headers}
        return await answer(self.api.dispatch("POST", path, query, folded, body), "POST", path)


def protocol_class(lane: FastLane) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with the fast lane in front of its ASGI cycle."""

    class FastLaneProtocol(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._fast = False  # the request being parsed takes the fast lane
            self._fast_body: list[bytes] = []
            self._answering = False  # a fast request's answer is being made
            self._close_after = False

        def on_headers_complete(self) -> None:
            if self._answering:  # pipelined behind a fast request: uvicorn queues it until we are done
                self._fast = False
                self.cycle = _Busy()  # type: ignore[assignment]
                super().on_headers_complete()
                return
            behind = self.cycle is not None and not self.cycle.response_complete  # uvicorn must queue it
            self._fast = not behind and lane.wants(self.parser.get_method(), self.url, self.headers)
            if self._fast:
                self._fast_body = []
                return
            super().on_headers_complete()

        def on_body(self, body: bytes) -> None:
            if self._fast:
                self._fast_body.append(body)
            else:
                super().on_body(body)

        def on_message_complete(self) -> None:
            if not self._fast:
                super().on_message_complete()
                return
            self._fast = False
            self._answering = True
            keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
            work = self._answer(self.url, self.headers, b"".join(self._fast_body), keep_alive)
            task = self.loop.create_task(work)
            task.add_done_callback(self.tasks.discard)
            self.tasks.add(task)

        async def _answer(self, url: bytes, headers: list, body: bytes, keep_alive: bool) -> None:
            try:
                status, reply_headers, reply_body = await lane.respond(url, headers, body)
                keep_alive = keep_alive and not self._close_after
                head = [_STATUS_LINES.get(status) or f"HTTP/1.1 {status} \r\n".encode()]
                for name, value in (*self.server_state.default_headers, *reply_headers):
                    head.append(b"%s: %s\r\n" % (name, value))
                if not keep_alive:
                    head.append(b"connection: close\r\n")
                head.append(b"\r\n")
                if not self.transport.is_closing():
                    self.transport.write(b"".join(head) + reply_body)
                    if not keep_alive:
                        self.transport.close()
            finally:
                self._answering = False
                self.on_response_complete()  # counts it, resumes reading, starts what waited, arms keep-alive

        def shutdown(self) -> None:
            if self._answering:
                self._close_after = True  # answer first, then close, as uvicorn does for its own cycles
            else:
                super().shutdown()

        def connection_lost(self, exc: Exception | None) -> None:
            super().connection_lost(exc)
            self._close_after = True

    return FastLaneProtocol
