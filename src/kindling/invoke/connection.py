"""The HTTP side of an environment's APIs: a loopback listener that serves only the environment's uid.

The Runtime API, the Extensions API and the Telemetry API share one port per runtime process. A
``Listener`` accepts connections on 127.0.0.1 and a free port; each ``Connection`` parses HTTP/1.1
(keep-alive, chunked bodies) and hands whole requests, or a streamed body piece by piece, to the
listener's ``Routes``. Sandboxes share the host network, so anyone on the machine could connect:
a connection is served only if its client socket belongs to the environment's uid (looked up once
per connection, ``sockdiag.py``); others are closed unanswered.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from http import HTTPStatus
from typing import Protocol, cast

import httptools

from ..errors import function_error
from ..limits import RESPONSE_MAX
from . import sockdiag

log = logging.getLogger("kindling.invoke")
Reply = tuple[int, dict[str, str], bytes]  # status, headers, body


def error_reply(status: int, error_type: str, message: str) -> Reply:
    return status, {}, function_error(error_type, message)


ACCEPTED: Reply = (202, {}, b'{"status":"OK"}')


class BodySink(Protocol):
    def feed(self, data: bytes) -> None: ...


class Routes(Protocol):
    """What a listener serves: whole requests, or a body streamed as it arrives."""

    def dispatch(self, connection: Connection, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        """Answer (``connection.reply``) now, or later for a request that waits (a ``next``)."""
        ...

    def stream_for(self, method: str, path: str, headers: dict[str, str]) -> BodySink | None:
        """Where the body of this request goes as it arrives, or None to have it whole in ``dispatch``."""
        ...

    def forget(self, connection: Connection) -> None:
        """The connection went away: a request parked on it must never be answered."""
        ...


def _hex_address(host: str, port: int, family: socket.AddressFamily) -> str:
    """An endpoint as /proc/net/tcp{,6} prints it: 32-bit words of the address in host byte order, the port."""
    packed = socket.inet_pton(family, host if family == socket.AF_INET else f"::ffff:{host}")
    words = struct.unpack(f"={len(packed) // 4}I", packed)
    return "".join(f"{word:08X}" for word in words) + f":{port:04X}"


def socket_owner(client: tuple[str, int], server: tuple[str, int], proc: str = "/proc/net") -> int | None:
    """The uid owning the client end of a loopback TCP connection (an IPv4 socket, or an IPv6 one
    connected to the IPv4 address, as the JVM's are), or None if it cannot be found: asked of the kernel
    (``sockdiag.py``), else read from ``/proc/net/tcp{,6}``."""
    try:
        for family in (socket.AF_INET, socket.AF_INET6):
            uid = sockdiag.owner(client, server, family)
            if uid is not None:
                return uid
        return None
    except OSError:
        pass
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


class Listener:
    """One loopback port serving ``routes`` to connections from ``uid`` only."""

    def __init__(self, uid: int, routes: Routes) -> None:
        self.uid = uid
        self.routes = routes
        self.connections: set[Connection] = set()
        self._server: asyncio.Server | None = None

    async def listen(self) -> None:
        self._server = await asyncio.get_running_loop().create_server(lambda: Connection(self), "127.0.0.1", 0)

    @property
    def address(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"{host}:{port}"

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.abort()
        self.connections.clear()


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection from the sandbox: keep-alive, chunked bodies (streaming), one write per reply."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body = bytearray()
        self._keep_alive = True
        self._stream: BodySink | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        client, server = transport.get_extra_info("peername"), transport.get_extra_info("sockname")
        owner = socket_owner(client, server)
        if owner != self.listener.uid:
            log.warning("Runtime API on %s: refused a connection from uid %s (not the environment's)", server, owner)
            cast(asyncio.Transport, transport).abort()
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.listener.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.listener.connections.discard(self)
        self.listener.routes.forget(self)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self.reply(*error_reply(400, "InvalidRequest", "Malformed HTTP request"), close=True)

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._url, self._headers, self._body = b"", {}, bytearray()

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        path = self._url.decode("latin-1").partition("?")[0]
        self._stream = self.listener.routes.stream_for(self._parser.get_method().decode(), path, self._headers)

    def on_body(self, body: bytes) -> None:
        if self._stream is not None:
            self._stream.feed(body)
        elif len(self._body) <= RESPONSE_MAX:  # kept to one byte past the limit: enough to know it was passed
            self._body += body[: RESPONSE_MAX + 1 - len(self._body)]

    def on_message_complete(self) -> None:
        self._keep_alive = self._parser.should_keep_alive()
        method = self._parser.get_method().decode()
        path = self._url.decode("latin-1").partition("?")[0]
        self.listener.routes.dispatch(self, method, path, self._headers, bytes(self._body))

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
