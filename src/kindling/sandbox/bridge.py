"""The host end of the endpoint bridge: how sandboxes without network still reach Kindling's endpoint.

One Unix socket for the server (in the data dir, which functions cannot see), bound into each sandbox that
has no network at ``SANDBOX_PATH``; each connection on it is piped to the server's own TCP port, so every
request is served as any other. One socket for all environments is enough: it leads only to the endpoint
every environment may call anyway, and the caller is told apart by its credentials, as on AWS.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path

SANDBOX_PATH = "/run/kindling/endpoint.sock"
WILDCARDS = ("", "0.0.0.0", "::", "localhost")
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes
CHUNK = 1 << 16


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

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._server = await asyncio.start_unix_server(self._pipe, path=str(self.path))
        os.chmod(self.path, 0o666)  # environments run as unprivileged uids of their own

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_copy(reader, up_writer), _copy(up_reader, writer))
        writer.close()
        up_writer.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        writer.close()
