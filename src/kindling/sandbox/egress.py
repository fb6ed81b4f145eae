"""The host end of a function's egress allowlist (``--egress``): where its allowed connections leave from.

A function given an allowlist runs in an empty network namespace, as without network; inside, its allowed
networks are local and its allowed ports listened on (``loopback.py``), and each connection is handed here
with the address and port it was meant for. One Unix socket per allowlist (hidden beside the endpoint's,
bound into the sandboxes that have that allowlist): the rules are checked again here, since the code in the
sandbox can write to that socket itself, and only then is the real TCP connection made from the host. The
host's loopback is never a destination (``config.egress_rule`` refuses such rules too).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import os
from pathlib import Path

from .bridge import splice

EGRESS_SANDBOX_PATH = "/run/kindling/egress.sock"
HEADER_MAX = 64
CONNECT_TIMEOUT_S = 10.0

Rules = tuple[tuple[str, int], ...]


def allows(rules: Rules, address: str, port: int) -> bool:
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        return False
    if ip.is_loopback or ip.is_unspecified:
        return False
    return any(port == allowed and ip in ipaddress.IPv4Network(cidr) for cidr, allowed in rules)


class EgressProxy:
    def __init__(self, directory: Path, allowlists: list[Rules]) -> None:
        # the host socket of each distinct allowlist, in the endpoint bridge's directory (``bridge.py``)
        self.paths = {rules: directory / f".egress-{index}.sock" for index, rules in enumerate(sorted(set(allowlists)))}
        self._servers: list[asyncio.AbstractServer] = []

    async def start(self) -> None:
        for rules, path in self.paths.items():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            server = await asyncio.start_unix_server(functools.partial(self._pipe, rules), path=str(path))
            self._servers.append(server)
            os.chmod(path, 0o666)  # environments run as unprivileged uids of their own

    async def _pipe(self, rules: Rules, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            header = await asyncio.wait_for(reader.readline(), CONNECT_TIMEOUT_S)
            address, _, port = header[:HEADER_MAX].decode().strip().partition(" ")
            if not port.isdigit() or not allows(rules, address, int(port)):
                raise ConnectionRefusedError(address, port)
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(address, int(port)), CONNECT_TIMEOUT_S
            )
        except (OSError, ValueError, TimeoutError):
            writer.close()
            return
        await splice((reader, writer), (up_reader, up_writer))

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        self._servers.clear()
        for path in self.paths.values():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
