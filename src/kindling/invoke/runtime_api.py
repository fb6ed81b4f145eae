"""The Lambda Runtime API (``/2018-06-01/runtime/...``) for runtimes that speak HTTP.

One listening socket per runtime process, on 127.0.0.1 and a free port, served by the Kindling
server's own event loop. ``RuntimeApi`` is a drop-in for ``ControlChannel``: ``send`` makes an
event available to ``GET /invocation/next``, ``next`` waits for the runtime's first ``next``
(ready), its ``/init/error``, ``/response`` or ``/error``, and the runtime's exit wakes that
waiter at once. So ``Environment`` runs custom runtimes, Node and the built-in Python runtime
through the same lifecycle code.

Sandboxes share the host network, so anyone on the machine could connect to the port: a
connection is served only if its client socket belongs to the environment's uid (looked up once
per connection in ``/proc/net/tcp``); others are closed unanswered.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import re
import socket
import struct
from http import HTTPStatus
from typing import TYPE_CHECKING

import httptools

from ..errors import function_error
from ..limits import RESPONSE_MAX
from ..sandbox.contract import RuntimeProcess, Sandbox
from .channel import ControlChannel, Frame

if TYPE_CHECKING:
    from .extensions import Extensions

log = logging.getLogger("kindling.invoke")
PREFIX = "/2018-06-01/runtime/"
HTTP_INTEGRATION = "application/vnd.awslambda.http-integration-response"
PRELUDE_END = b"\0" * 8
_INVOCATION = re.compile(r"^invocation/([^/]+)/(response|error)$")


def _error(status: int, error_type: str, message: str) -> tuple[int, dict[str, str], bytes]:
    return status, {}, function_error(error_type, message)


_ACCEPTED = (202, {}, b'{"status":"OK"}')
_INVALID_ID = _error(400, "InvalidRequestID", "Invalid request ID")
_NOT_FOUND = _error(404, "InvalidRequest", "Unknown Runtime API path")
_TOO_LARGE = _error(413, "RequestEntityTooLarge", f"Exceeded maximum allowed payload size ({RESPONSE_MAX} bytes).")


def _state_error(message: str) -> tuple[int, dict[str, str], bytes]:
    return _error(403, "InvalidStateTransition", message)


def _hex_address(host: str, port: int, family: socket.AddressFamily) -> str:
    """An endpoint as /proc/net/tcp{,6} prints it: 32-bit words of the address in host byte order, the port."""
    packed = socket.inet_pton(family, host if family == socket.AF_INET else f"::ffff:{host}")
    words = struct.unpack(f"={len(packed) // 4}I", packed)
    return "".join(f"{word:08X}" for word in words) + f":{port:04X}"


def socket_owner(client: tuple[str, int], server: tuple[str, int], proc: str = "/proc/net") -> int | None:
    """The uid owning the client end of a loopback TCP connection (an IPv4 socket, or an IPv6 one
    connected to the IPv4 address, as the JVM's are), or None if it cannot be found."""
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        local, remote = _hex_address(*client[:2], family), _hex_address(*server[:2], family)
        try:
            with open(f"{proc}/{table}") as handle:
                next(handle)
                for line in handle:
                    fields = line.split()
                    if fields[1] == local and fields[2] == remote:
                        return int(fields[7])
        except OSError:
            continue
    return None


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection from the runtime: keep-alive, chunked bodies (streaming), one write per reply."""

    def __init__(self, api: RuntimeApi) -> None:
        self.api = api
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body = bytearray()
        self._keep_alive = True
        self._stream: _Stream | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        client, server = transport.get_extra_info("peername"), transport.get_extra_info("sockname")
        owner = socket_owner(client, server)
        if owner != self.api.uid:
            log.warning("Runtime API on %s: refused a connection from uid %s (not the environment's)", server, owner)
            transport.abort()
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.api.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.api.connections.discard(self)
        self.api.forget(self)
        if self.api.extensions is not None:
            self.api.extensions.forget(self)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self.reply(*_error(400, "InvalidRequest", "Malformed HTTP request"), close=True)

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url, self._headers, self._body = b"", {}, bytearray()

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        path = self._url.decode("latin-1").partition("?")[0]
        self._stream = self.api.stream_for(self._parser.get_method().decode(), path, self._headers)

    def on_body(self, body: bytes) -> None:
        if self._stream is not None:
            self._stream.feed(body)
        elif len(self._body) <= RESPONSE_MAX:  # kept to one byte past the limit: enough to know it was passed
            self._body += body[: RESPONSE_MAX + 1 - len(self._body)]

    def on_message_complete(self) -> None:
        self._keep_alive = self._parser.should_keep_alive()
        method = self._parser.get_method().decode()
        path = self._url.decode("latin-1").partition("?")[0]
        self.api.dispatch(self, method, path, self._headers, bytes(self._body))

    def reply(self, status: int, headers: dict[str, str], body: bytes, *, close: bool = False) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "Content-Type: application/json"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        close = close or not self._keep_alive
        if close:
            lines.append("Connection: close")
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        if close:
            self.transport.close()


class RuntimeApi(ControlChannel):
    """The Runtime API of one runtime process, as the channel its ``Environment`` talks through."""

    def __init__(self, uid: int, extensions: Extensions | None = None) -> None:
        super().__init__()
        self.uid = uid
        self.extensions = extensions  # served on the same port: /2020-01-01/extension, /2022-07-01/telemetry
        self.connections: set[_Connection] = set()
        self._server: asyncio.Server | None = None
        self._event: tuple[dict, bytes] | None = None  # sent, not yet taken by a ``next``
        self._parked: _Connection | None = None  # a ``next`` waiting for an event
        self._current: str | None = None  # the request id the runtime holds
        self._answered: str | None = None
        self._streams = False  # the current invocation takes its response as it is produced
        self._state = "init"  # init -> ready (first next) | failed (init error)
        self._settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @classmethod
    async def listen(cls, uid: int, extensions: Extensions | None = None) -> RuntimeApi:
        api = cls(uid, extensions)
        api._server = await asyncio.get_running_loop().create_server(lambda: _Connection(api), "127.0.0.1", 0)
        return api

    @property
    def address(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"{host}:{port}"

    # ----------------------------------------------------------- the channel side (Environment)
    def send(self, header: dict, body: bytes) -> None:
        self._event = (header, body)
        if self._parked is not None:
            parked, self._parked = self._parked, None
            self._hand_out(parked)

    def runtime_exited(self) -> None:
        super().runtime_exited()
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
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.abort()
        self.connections.clear()

    # ----------------------------------------------------------- the HTTP side (the runtime)
    def forget(self, connection: _Connection) -> None:
        """A parked ``next`` whose connection went away must never receive an event."""
        if self._parked is connection:
            self._parked = None

    def dispatch(self, connection: _Connection, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
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

    def _next(self, connection: _Connection) -> None:
        if self._state == "failed":
            connection.reply(*_state_error("The runtime reported an init error and must exit"))
            return
        if self._current is not None:
            connection.reply(*_state_error(f"Invocation {self._current} has no response or error yet"))
            return
        if self._state == "init":
            self._state = "ready"
            self._deliver(Frame({"type": "ready"}, b""))
        if self._event is not None:
            self._hand_out(connection)
            return
        if self._parked is not None and self._parked.transport is not None:
            self._parked.transport.close()  # a newer ``next`` wins: the older socket may be stale
        self._parked = connection
        if not self._settled.done():
            self._settled.set_result(None)

    def _hand_out(self, connection: _Connection) -> None:
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

    def _finish(
        self, request_id: str, kind: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        if request_id != self._current:
            if request_id == self._answered:
                return _state_error(f"Invocation {request_id} already has a response or error")
            return _INVALID_ID
        mode = headers.get("lambda-runtime-function-response-mode", "buffered")
        if kind == "response" and mode.lower() not in ("buffered", "streaming"):
            return _error(400, "InvalidFunctionResponseMode", f"Invalid response mode: {mode}")
        self._current, self._answered = None, request_id
        trailer_type = headers.get("lambda-runtime-function-error-type")
        if kind == "error" or (kind == "response" and "lambda-runtime-function-error-body" in headers):
            if kind == "response":  # a streamed response that failed midway says so in its trailers
                body = base64.b64decode(headers["lambda-runtime-function-error-body"] or b"")
            self._deliver(_error_frame(request_id, trailer_type, body))
            return _TOO_LARGE if len(body) > RESPONSE_MAX else _ACCEPTED
        # past the limit the body is cut one byte beyond it: Environment reports ResponseSizeTooLarge
        self._deliver(Frame({"type": "result", "request_id": request_id}, body))
        return _TOO_LARGE if len(body) > RESPONSE_MAX else _ACCEPTED

    def _init_error(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        if self._state != "init":
            return _state_error("Init errors can only be reported before the first next")
        self._state = "failed"
        error = _error_frame("", headers.get("lambda-runtime-function-error-type"), body)
        self._deliver(Frame({"type": "init_error"}, error.body))
        return _ACCEPTED


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
        header = {"type": "chunk", "request_id": self.request_id}
        if prelude:
            header["prelude"] = True
        self.api._deliver(Frame(header, data))


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


async def start_runtime(sandbox: Sandbox, extensions: Extensions | None = None) -> tuple[RuntimeProcess, RuntimeApi]:
    """Open a Runtime API, then start the runtime told where to find it (``AWS_LAMBDA_RUNTIME_API``).
    The built-in Python runtime comes here only for its extensions, and keeps its private channel."""
    api = await RuntimeApi.listen(sandbox.uid, extensions)
    if extensions is not None:
        extensions.api = api
    spec = sandbox.spec
    if not spec.runtime.command:
        try:
            return await sandbox.start({"AWS_LAMBDA_RUNTIME_API": api.address}), api
        except BaseException:
            api.close()
            raise
    invalid = spec.runtime.entrypoint_error(spec.code_dir, spec.opt_dir)
    if invalid:  # the exec will fail: say why, as Lambda does, before the exit says less
        api._init_error({}, function_error("Runtime.InvalidEntrypoint", invalid))
    try:
        return await sandbox.start({"AWS_LAMBDA_RUNTIME_API": api.address}), api
    except BaseException:
        api.close()
        raise
