"""The Lambda Runtime API (``/2018-06-01/runtime/...``) for runtimes that speak HTTP.

One listener per runtime process (``connection.py``: loopback, the environment's uid only), served
by the Kindling server's own event loop. ``RuntimeApi`` is a ``RuntimeChannel``, as the private
channel is: ``send`` makes an event available to ``GET /invocation/next``, ``next`` waits for the
runtime's first ``next`` (ready), its ``/init/error``, ``/response`` or ``/error``, and the
runtime's exit wakes that waiter at once. So ``Environment`` runs custom runtimes, Node, Java and
the built-in Python runtime through the same lifecycle code. The Extensions and Telemetry APIs
(``extensions.py``) are served on the same port.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
from typing import Any

from ..errors import function_error
from ..limits import RESPONSE_MAX
from ..sandbox.contract import RuntimeProcess
from .connection import ACCEPTED, Connection, Listener, Reply, error_reply
from .extensions import Extensions
from .runtime_channel import Frame, FrameQueue

PREFIX = "/2018-06-01/runtime/"
HTTP_INTEGRATION = "application/vnd.awslambda.http-integration-response"
PRELUDE_END = b"\0" * 8
_INVOCATION = re.compile(r"^invocation/([^/]+)/(response|error)$")
_INVALID_ID = error_reply(400, "InvalidRequestID", "Invalid request ID")
_NOT_FOUND = error_reply(404, "InvalidRequest", "Unknown Runtime API path")
_TOO_LARGE = error_reply(413, "RequestEntityTooLarge", f"Exceeded maximum allowed payload size ({RESPONSE_MAX} bytes).")


def _state_error(message: str) -> Reply:
    return error_reply(403, "InvalidStateTransition", message)


class RuntimeApi:
    """The Runtime API of one runtime process, as the channel its ``Environment`` talks through."""

    def __init__(self, uid: int, extensions: Extensions | None = None) -> None:
        self.listener = Listener(uid, self)
        self.extensions = extensions  # served on the same port: /2020-01-01/extension, /2022-07-01/telemetry
        self._queue = FrameQueue()
        self._event: tuple[dict, bytes] | None = None  # sent, not yet taken by a ``next``
        self._parked: Connection | None = None  # a ``next`` waiting for an event
        self._current: str | None = None  # the request id the runtime holds
        self._answered: str | None = None
        self._streams = False  # the current invocation takes its response as it is produced
        self._state = "init"  # init -> ready (first next) | failed (init error)
        self._settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @classmethod
    async def listen(cls, uid: int, extensions: Extensions | None = None) -> RuntimeApi:
        api = cls(uid, extensions)
        await api.listener.listen()
        if extensions is not None:
            extensions.listener = api.listener
        return api

    @property
    def address(self) -> str:
        return self.listener.address

    # ----------------------------------------------------------- the channel side (Environment)
    async def attach(self, process: RuntimeProcess) -> None:
        process.control.close()  # the private channel stays unused

    def send(self, header: dict, body: bytes) -> None:
        self._event = (header, body)
        if self._parked is not None:
            parked, self._parked = self._parked, None
            self._hand_out(parked)

    async def next(self, timeout: float) -> Frame:
        return await self._queue.next(timeout)

    def runtime_exited(self) -> None:
        self._queue.deliver(None)
        if not self._settled.done():
            self._settled.set_result(None)

    async def settle(self, timeout: float) -> None:
        """Wait until the runtime is back in ``next`` or gone: Lambda commits an event to a runtime only
        then, so one that exits right after answering is replaced instead of failing the next event."""
        if self._parked is None and self._current is None:
            self._settled = asyncio.get_running_loop().create_future()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._settled), timeout)

    def close(self) -> None:
        self.listener.close()

    # ----------------------------------------------------------- the HTTP side (the runtime)
    def forget(self, connection: Connection) -> None:
        """A parked ``next`` whose connection went away must never receive an event."""
        if self._parked is connection:
            self._parked = None
        if self.extensions is not None:
            self.extensions.forget(connection)

    def dispatch(self, connection: Connection, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        route = path[len(PREFIX) :] if path.startswith(PREFIX) else None
        if route is None and self.extensions is not None and path.startswith(("/2020-01-01/", "/2022-07-01/")):
            self.extensions.dispatch(connection, method, path, headers, body)
            return
        if method == "GET" and route == "invocation/next":
            self._next(connection)
            return
        match = _INVOCATION.match(route or "")
        if method == "POST" and match:
            connection.reply(*self._finish(match.group(1), match.group(2), headers, body))
        elif method == "POST" and route == "init/error":
            connection.reply(*self._init_error(headers, body))
        else:
            connection.reply(*_NOT_FOUND)

    def _next(self, connection: Connection) -> None:
        if self._state == "failed":
            connection.reply(*_state_error("The runtime reported an init error and must exit"))
            return
        if self._current is not None:
            connection.reply(*_state_error(f"Invocation {self._current} has no response or error yet"))
            return
        if self._state == "init":
            self._state = "ready"
            self._queue.deliver(Frame({"type": "ready"}, b""))
        if self._event is not None:
            self._hand_out(connection)
            return
        if self._parked is not None and self._parked.transport is not None:
            self._parked.transport.close()  # a newer ``next`` wins: the older socket may be stale
        self._parked = connection
        if not self._settled.done():
            self._settled.set_result(None)

    def _hand_out(self, connection: Connection) -> None:
        assert self._event is not None
        header, body = self._event
        self._event = None
        self._current = header["request_id"]
        self._streams = bool(header.get("stream"))
        headers = {
            "Lambda-Runtime-Aws-Request-Id": header["request_id"],
            "Lambda-Runtime-Deadline-Ms": str(header["deadline_ms"]),
            "Lambda-Runtime-Invoked-Function-Arn": header["invoked_arn"],
        }
        if header.get("trace_id"):
            headers["Lambda-Runtime-Trace-Id"] = header["trace_id"]
        for name, key in (("Client-Context", "client_context"), ("Cognito-Identity", "cognito_identity")):
            if header.get(key):
                headers[f"Lambda-Runtime-{name}"] = json.dumps(json.loads(header[key]))  # one line, ASCII
        connection.reply(200, headers, body)

    def stream_for(self, method: str, path: str, headers: dict[str, str]) -> _Stream | None:
        """A streamed response to an invocation that streams is handed on piece by piece as it arrives."""
        match = _INVOCATION.match(path[len(PREFIX) :]) if method == "POST" and path.startswith(PREFIX) else None
        mode = headers.get("lambda-runtime-function-response-mode", "").lower()
        if match is None or match[2] != "response" or match[1] != self._current:
            return None
        if not (self._streams and mode == "streaming"):
            return None
        return _Stream(self, match[1], headers.get("content-type") == HTTP_INTEGRATION)

    def _finish(self, request_id: str, kind: str, headers: dict[str, str], body: bytes) -> Reply:
        if request_id != self._current:
            if request_id == self._answered:
                return _state_error(f"Invocation {request_id} already has a response or error")
            return _INVALID_ID
        mode = headers.get("lambda-runtime-function-response-mode", "buffered")
        if kind == "response" and mode.lower() not in ("buffered", "streaming"):
            return error_reply(400, "InvalidFunctionResponseMode", f"Invalid response mode: {mode}")
        self._current, self._answered = None, request_id
        trailer_type = headers.get("lambda-runtime-function-error-type")
        if kind == "error" or (kind == "response" and "lambda-runtime-function-error-body" in headers):
            if kind == "response":  # a streamed response that failed midway says so in its trailers
                body = base64.b64decode(headers["lambda-runtime-function-error-body"] or b"")
            self._queue.deliver(_error_frame(request_id, trailer_type, body))
            return _TOO_LARGE if len(body) > RESPONSE_MAX else ACCEPTED
        # past the limit the body is cut one byte beyond it: Environment reports ResponseSizeTooLarge
        self._queue.deliver(Frame({"type": "result", "request_id": request_id}, body))
        return _TOO_LARGE if len(body) > RESPONSE_MAX else ACCEPTED

    def entrypoint_missing(self, message: str) -> None:
        """The runtime's exec will fail: say why, as Lambda does, before its exit says less."""
        self._init_error({}, function_error("Runtime.InvalidEntrypoint", message))

    def _init_error(self, headers: dict[str, str], body: bytes) -> Reply:
        if self._state != "init":
            return _state_error("Init errors can only be reported before the first next")
        self._state = "failed"
        error = _error_frame("", headers.get("lambda-runtime-function-error-type"), body)
        self._queue.deliver(Frame({"type": "init_error"}, error.body))
        return ACCEPTED


class _Stream:
    """One streamed response: pieces become ``chunk`` frames; an HTTP prelude (JSON, then eight NUL
    bytes, as ``awslambda.HttpResponseStream`` writes it) becomes the first, marked ``prelude``."""

    def __init__(self, api: RuntimeApi, request_id: str, has_prelude: bool) -> None:
        self.api = api
        self.request_id = request_id
        self._head: bytearray | None = bytearray() if has_prelude else None

    def feed(self, data: bytes) -> None:
        if self._head is not None:
            self._head += data
            prelude, found, rest = bytes(self._head).partition(PRELUDE_END)
            if not found:
                return
            self._head = None
            self._chunk(prelude, prelude=True)
            data = rest
        if data:
            self._chunk(data)

    def _chunk(self, data: bytes, *, prelude: bool = False) -> None:
        header: dict[str, Any] = {"type": "chunk", "request_id": self.request_id}
        if prelude:
            header["prelude"] = True
        self.api._queue.deliver(Frame(header, data))


def _error_frame(request_id: str, error_type: str | None, body: bytes) -> Frame:
    """The error as the runtime posted it; Lambda builds one from the error-type header when the body is not one."""
    try:
        error = json.loads(body)
    except ValueError:
        error = None
    if not isinstance(error, dict):
        body = function_error(error_type or "Unhandled", body.decode("utf-8", "replace"))
    header = {"type": "error", "request_id": request_id, "function_error": "Unhandled"}
    return Frame(header, body[: RESPONSE_MAX + 1])
