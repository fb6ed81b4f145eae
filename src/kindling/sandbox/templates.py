"""Server side of templates (``template_server.py``): environments forked from an initialised process.

A ``TemplateProcess`` wraps a runtime process that ran its init once and parked. ``restore`` asks it for a new
environment, learns the environment's host pid from the kernel (SCM_CREDENTIALS on its control socket),
maps the environment's uid and gid to the sandbox's own, places it in the sandbox's cgroups, and only
then lets it run: no code of the function runs in the new environment before it is confined.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import socket
import struct
from typing import Any

from .contract import SpawnError
from .zygote import kill

log = logging.getLogger("kindling.sandbox")
GO = b"g"
ANNOUNCE_LIMIT_S = 10.0
_CREDENTIALS = struct.Struct("3i")  # struct ucred: pid, uid, gid
_ids = itertools.count(1)


class TemplateProcess:
    """A parked, initialised process that forks environments on request and reports how each one ends."""

    def __init__(self, pid: int, uid: int, requests: socket.socket, exited: asyncio.Future[int]) -> None:
        self.pid = pid
        self.uid = uid  # environments forked from it keep this uid inside their user namespace
        self._requests = requests
        self._exits: dict[str, asyncio.Future[int]] = {}
        requests.setblocking(False)
        asyncio.get_running_loop().add_reader(requests.fileno(), self._on_message)
        exited.add_done_callback(lambda _: self.close())

    def _on_message(self) -> None:
        while True:
            try:
                data = self._requests.recv(1 << 16)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self.close()
                return
            message = json.loads(data)
            if message.get("error"):
                log.warning("template %s could not fork an environment: %s", self.pid, message["error"])
            exited = self._exits.pop(message["id"], None)
            if exited is not None and not exited.done():
                exited.set_result(message["status"])

    async def fork(self, request: dict, fds: list[int]) -> asyncio.Future[int]:
        """Send one restore request with the new environment's descriptors; the future is its exit status."""
        if self._requests.fileno() < 0:
            raise SpawnError("the template is gone")
        request_id = str(next(_ids))
        exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._exits[request_id] = exited
        try:
            socket.send_fds(self._requests, [json.dumps({**request, "id": request_id}).encode()], fds)
        except OSError as error:
            del self._exits[request_id]
            raise SpawnError(f"the template did not take the request: {error}") from error
        return exited

    def close(self) -> None:
        """The template ended: so did every environment forked from it (they live in its PID namespace)."""
        if self._requests.fileno() >= 0:
            asyncio.get_running_loop().remove_reader(self._requests.fileno())
            self._requests.close()
        for exited in self._exits.values():
            if not exited.done():
                exited.set_result(-9)
        self._exits.clear()


async def restore(
    template: TemplateProcess, *, uid: int, inside_uid: int, cgroup_procs: list[str], isolated: bool, request: dict
) -> tuple[int, socket.socket, int, asyncio.Future[int]]:
    """Fork an environment from ``template`` and confine it (uid ``uid``, ``cgroup_procs``) before it runs.
    Returns its host pid, control socket, log pipe and exit future."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    ours.setblocking(False)
    log_read, log_write = os.pipe()
    pid = 0
    try:
        try:
            exited = await template.fork(request, [theirs.fileno(), log_write])
        finally:
            theirs.close()
            os.close(log_write)
        pid = await _announced_pid(ours, exited)
        await asyncio.to_thread(_confine, pid, uid, inside_uid, cgroup_procs, isolated)
        ours.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 0)
        ours.send(GO)
    except BaseException:
        if pid:
            kill(pid)
        ours.close()
        os.close(log_read)
        raise
    return pid, ours, log_read, exited


async def _announced_pid(sock: socket.socket, exited: asyncio.Future[int]) -> int:
    """The host pid of whoever wrote the first byte on ``sock``, translated by the kernel."""
    loop = asyncio.get_running_loop()
    readable: asyncio.Future[None] = loop.create_future()

    def mark_readable() -> None:
        if not readable.done():
            readable.set_result(None)

    loop.add_reader(sock.fileno(), mark_readable)
    waiting: set[asyncio.Future[Any]] = {readable, exited}
    try:
        done, _ = await asyncio.wait(waiting, timeout=ANNOUNCE_LIMIT_S, return_when="FIRST_COMPLETED")
    finally:
        loop.remove_reader(sock.fileno())
        readable.cancel()
    if readable not in done:
        raise SpawnError("the restored environment never announced itself")
    data, ancillary, _, _ = sock.recvmsg(1, socket.CMSG_SPACE(_CREDENTIALS.size))
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and data:
            return _CREDENTIALS.unpack(payload[: _CREDENTIALS.size])[0]
    raise SpawnError("the restored environment exited before it was ready")


def _confine(pid: int, uid: int, inside_uid: int, cgroup_procs: list[str], isolated: bool) -> None:
    """As root: the environment's ids become the sandbox's own, and it joins the sandbox's cgroups."""
    if isolated:
        for name, content in (
            ("setgroups", "deny"),
            ("uid_map", f"{inside_uid} {uid} 1"),
            ("gid_map", f"{inside_uid} {uid} 1"),
        ):
            with open(f"/proc/{pid}/{name}", "w") as handle:
                handle.write(content)
    for procs in cgroup_procs:  # the first write after an idle gap waits for the kernel (cgroup v1)
        with open(procs, "w") as handle:
            handle.write(str(pid))
