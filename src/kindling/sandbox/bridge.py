"""The host end of the endpoint bridge: how sandboxes without network still reach Kindling's endpoint.

One Unix socket for the server (in the data dir, which functions cannot see), bound into each sandbox that
has no network at ``SANDBOX_PATH``; each connection on it is piped to the server's own TCP port, so every
request is served as any other. One socket for all environments is enough: it leads only to the endpoint
every environment may call anyway, and the caller is told apart by its credentials, as on AWS.

Beside it, a Unix datagram socket (``DATAGRAM_SANDBOX_PATH``) takes what the sandbox's UDP port of the same
number receives (the X-Ray daemon's, ``AWS_XRAY_DAEMON_ADDRESS``) and hands each datagram to ``on_datagram``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

SANDBOX_PATH = "/run/kindling/endpoint.sock"
DATAGRAM_SANDBOX_PATH = "/run/kindling/datagrams.sock"
WILDCARDS = ("", "0.0.0.0", "::", "localhost")
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes
CHUNK = 1 << 16


def datagram_socket(stream_socket: str) -> str:
    """The host's datagram socket beside the endpoint's stream socket (hidden alike)."""
    path = Path(stream_socket)
    return str(path.with_name(("." if path.name.startswith(".") else "") + "datagrams.sock"))


def reachable_host(host: str) -> str:
    """The address a local client reaches a server listening on ``host`` at."""
    return "127.0.0.1" if host in WILDCARDS else host


class EndpointBridge:
    def __init__(self, directory: Path, host: str, port: int) -> None:
        self.path = directory / ".endpoint.sock"
        if len(str(self.path)) > MAX_SOCKET_PATH:  # a deep data dir: a private directory of its own instead
            self.path = Path(tempfile.mkdtemp(prefix="kindling-")) / "endpoint.sock"
        self.host = reachable_host(host)
        self.port = port
        self._server: asyncio.AbstractServer | None = None
        self.datagram_path = Path(datagram_socket(str(self.path)))
        self.on_datagram: Callable[[bytes], None] = lambda data: None
        self._datagrams: asyncio.BaseTransport | None = None

    async def start(self) -> None:
        for path in (self.path, self.datagram_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self._server = await asyncio.start_unix_server(self._pipe, path=str(self.path))
        receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        receiver.bind(str(self.datagram_path))
        receiver.setblocking(False)
        self._datagrams, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _Datagrams(self), sock=receiver
        )
        for path in (self.path, self.datagram_path):
            os.chmod(path, 0o666)  # environments run as unprivileged uids of their own

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            writer.close()
            return
        await splice((reader, writer), (up_reader, up_writer))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._datagrams is not None:
            self._datagrams.close()
            self._datagrams = None
        for path in (self.path, self.datagram_path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, bridge: EndpointBridge) -> None:
        self.bridge = bridge

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.bridge.on_datagram(data)


Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def splice(near: Stream, far: Stream) -> None:
    """Copies both ways until both ends are done, then closes both."""
    await asyncio.gather(_copy(near[0], far[1]), _copy(far[0], near[1]))
    near[1].close()
    far[1].close()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        writer.close()
