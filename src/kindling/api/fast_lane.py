"""The fast lane: uvicorn's HTTP protocol with a shortcut for the requests that must be quick.

A warm Invoke spends more time in the ASGI plumbing (a request/response cycle, message dicts, the fronts'
wrappers, body reassembly) than in Kindling itself. Here a request with a declared body is offered, as
soon as its headers are parsed, to the *lanes*; a lane that takes it answers from the raw request through
the same code its ASGI route runs (the Invoke lane enters ``LambdaApi.dispatch``), and the answer is
written back in one piece. Anything no lane takes (other routes, function URLs, chunked or ``Expect:
100-continue`` bodies, upgrades) goes through uvicorn's ASGI path untouched. (A lane for function URLs
was measured: 1.5 % more requests/s, since their time goes into the event and the invoke, not ASGI.)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import Any, NamedTuple

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..ids import request_id as new_request_id
from ..limits import SYNC_PAYLOAD_MAX
from .app import LambdaApi, answer

INVOKE_PREFIX = b"/2015-03-31/functions/"
INVOKE_SUFFIX = b"/invocations"
MAX_INVOKE_BODY = SYNC_PAYLOAD_MAX + 65_536  # a synchronous payload's limit; bigger bodies take the ASGI path's refusal
_STATUS_LINES = {status.value: f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode() for status in HTTPStatus}

Answer = tuple[int, Sequence[tuple[bytes, bytes]], bytes]  # status, headers, body


class Wire(NamedTuple):
    """A request as parsed so far: everything but its body."""

    method: bytes
    url: bytes  # path and query, still percent-encoded
    headers: list[tuple[bytes, bytes]]  # names lower-case, as sent
    length: int  # the declared Content-Length (0 without one)
    client: str = ""  # the peer's address
    secure: bool = False  # it came over TLS


Responder = Callable[[bytes], Awaitable[Answer]]  # the body in, the answer out
Lane = Callable[[Wire], Responder | None]  # None: not this lane's request


def invoke_lane(api: LambdaApi, claimed: Callable[[str, bytes], bool]) -> Lane:
    """``POST /2015-03-31/functions/<name>/invocations`` to the Lambda API's own dispatch: the same mounts,
    model parsing, validation, handler and error shapes as the ASGI path. ``claimed(path, host)`` is True
    when a front (a function URL by host, a route table) owns the path instead."""

    def take(wire: Wire) -> Responder | None:
        path = wire.url.partition(b"?")[0]
        if wire.method != b"POST" or not (path.startswith(INVOKE_PREFIX) and path.endswith(INVOKE_SUFFIX)):
            return None
        if wire.length > MAX_INVOKE_BODY:
            return None
        host = next((value for name, value in wire.headers if name == b"host"), b"")
        if claimed(path.decode("latin-1"), host):
            return None

        async def respond(body: bytes) -> Answer:
            raw_path, _, query = wire.url.decode("latin-1").partition("?")
            folded = {name.decode("latin-1"): value.decode("latin-1") for name, value in wire.headers}
            request_id = new_request_id()
            work = api.dispatch("POST", raw_path, query, folded, body, request_id)
            return await answer(work, "POST", raw_path, request_id)

        return respond

    return take


def _declared_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The body's declared length; None when it is chunked, waits for ``100 Continue``, or is malformed."""
    length = 0
    for name, value in headers:
        if name == b"content-length":
            if not value.isdigit():
                return None
            length = int(value)
        elif name in (b"expect", b"transfer-encoding"):
            return None
    return length


class _Busy:
    """Stands in for uvicorn's current cycle while a fast request is answered, so a pipelined request
    behind it waits in uvicorn's own queue."""

    response_complete = False
    keep_alive = True


def protocol_class(lanes: Sequence[Lane]) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with the lanes in front of its ASGI cycle."""

    class FastLaneProtocol(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._responder: Responder | None = None  # the lane answering the request being parsed
            self._fast_body: list[bytes] = []
            self._answering = False  # a fast request's answer is being made
            self._close_after = False

        def _lane_for(self) -> Responder | None:
            if self.cycle is not None and not self.cycle.response_complete:
                return None  # behind an ASGI request: uvicorn queues it
            length = _declared_length(self.headers)
            if length is None:
                return None
            peer = (self.client or ("",))[0]
            wire = Wire(self.parser.get_method(), self.url, self.headers, length, peer, self.scheme == "https")
            for lane in lanes:
                responder = lane(wire)
                if responder is not None:
                    return responder
            return None

        def on_headers_complete(self) -> None:
            if self._answering:  # pipelined behind a fast request: uvicorn queues it until we are done
                self._responder = None
                self.cycle = _Busy()  # type: ignore[assignment]
                super().on_headers_complete()
                return
            self._responder = self._lane_for()
            if self._responder is not None:
                self._fast_body = []
                return
            super().on_headers_complete()

        def on_body(self, body: bytes) -> None:
            if self._responder is not None:
                self._fast_body.append(body)
            else:
                super().on_body(body)

        def on_message_complete(self) -> None:
            responder = self._responder
            if responder is None:
                super().on_message_complete()
                return
            self._responder = None
            self._answering = True
            keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
            task = self.loop.create_task(self._answer(responder, b"".join(self._fast_body), keep_alive))
            task.add_done_callback(self.tasks.discard)
            self.tasks.add(task)

        async def _answer(self, responder: Responder, body: bytes, keep_alive: bool) -> None:
            try:
                status, reply_headers, reply_body = await responder(body)
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
