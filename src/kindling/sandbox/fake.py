"""A sandbox backend with no processes, for fast tests of the invoker against the sandbox contract.

Its "runtime" is a coroutine on the server's own event loop speaking the private channel's frames
(``invoke/channel.py``) on one end of a socket pair and writing its "output" to a real pipe, so the
invoker, its environments, their channels and log pumps run unchanged. The payload says what the
runtime does: JSON ``{"sleep": s}`` answers after ``s`` seconds, ``{"log": text}`` writes a line first,
``{"error": message}`` fails the invocation, ``{"exit": code}`` ends the runtime; anything else is
echoed. A function whose handler is ``init_error`` fails its init. The backend counts what it did.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import socket
import struct
from dataclasses import dataclass, field
from typing import Any

from ..errors import function_error
from ..runtimes.registry import Runtime
from .contract import RuntimeProcess, SandboxFull, SandboxSpec, SpawnError, Template

HEAD = struct.Struct("!II")
MAX_RSS_KB = 20 * 1024


@dataclass
class FakeTemplate:
    pid: int


@dataclass
class FakeSandbox:
    spec: SandboxSpec
    uid: int
    backend: FakeBackend
    starts: int = 0  # runtime processes started or restored in it
    destroyed: bool = False
    pids: list[int] = field(default_factory=list)

    async def start(self, extra_env: dict[str, str] | None = None) -> RuntimeProcess:
        return self.backend.spawn(self)

    async def start_template(self) -> tuple[RuntimeProcess, Template]:
        process = self.backend.spawn(self)
        return process, FakeTemplate(process.pid)

    async def restore(self, template: Template, env: dict[str, str]) -> RuntimeProcess:
        if template.pid not in self.backend.running:
            raise SpawnError("the template is gone")
        return self.backend.spawn(self)

    def kill(self, process: RuntimeProcess) -> None:
        task = self.backend.running.get(process.pid)
        if task is not None:
            task.cancel()

    def limit_cpu(self) -> None:
        pass

    def max_memory_mb(self) -> int | None:
        return None

    def was_oom_killed(self) -> bool:
        return False

    async def destroy(self) -> None:
        self.destroyed = True
        self.backend.live.discard(self.spec.env_id)


class FakeBackend:
    name = "fake"

    def __init__(self, capacity: int | None = None) -> None:
        self.capacity = capacity  # how many sandboxes may exist at once (None: no limit)
        self.sandboxes: list[FakeSandbox] = []  # every sandbox made, in order
        self.live: set[str] = set()  # the env ids of those not destroyed
        self.running: dict[int, asyncio.Task[None]] = {}  # pid -> the runtime's coroutine
        self._pids = itertools.count(100_000)
        self._uids = itertools.count(61_000)

    def exhausted(self) -> bool:
        return self.capacity is not None and len(self.live) >= self.capacity

    async def create(self, spec: SandboxSpec, *, host_tmp: bool = True) -> FakeSandbox:
        if self.exhausted():
            raise SandboxFull(f"the fake backend holds {self.capacity} sandboxes at most")
        sandbox = FakeSandbox(spec, next(self._uids), self)
        self.sandboxes.append(sandbox)
        self.live.add(spec.env_id)
        return sandbox

    async def prewarm(self, runtime: Runtime) -> None:
        """Nothing to get ready: a fake runtime starts at once."""

    async def close(self) -> None:
        for task in list(self.running.values()):
            task.cancel()
        await asyncio.gather(*self.running.values(), return_exceptions=True)

    def spawn(self, sandbox: FakeSandbox) -> RuntimeProcess:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        log_read, log_write = os.pipe()
        pid = next(self._pids)
        exited: asyncio.Future[int] = loop.create_future()
        sandbox.starts += 1
        sandbox.pids.append(pid)
        task = loop.create_task(self._runtime(sandbox, theirs, log_write, exited))
        self.running[pid] = task
        task.add_done_callback(lambda _: self.running.pop(pid, None))
        return RuntimeProcess(pid, ours, log_read, exited)

    async def _runtime(
        self, sandbox: FakeSandbox, sock: socket.socket, log_fd: int, exited: asyncio.Future[int]
    ) -> None:
        """The runtime's life: init, then one answer per invoke frame, until its exit or its kill."""
        status = -9
        writer: asyncio.StreamWriter | None = None
        try:
            reader, writer = await asyncio.open_unix_connection(sock=sock)
            if sandbox.spec.environment.get("_HANDLER") == "init_error":
                _send(writer, {"type": "init_error"}, function_error("Runtime.ImportModuleError", "init failed"))
                await reader.read()  # until the environment closes the channel
                status = 1
                return
            _send(writer, {"type": "ready", "init_ms": 1.0})
            status = await _serve(reader, writer, log_fd)
        finally:
            if writer is not None:
                writer.close()
            else:
                sock.close()
            os.close(log_fd)
            if not exited.done():
                exited.set_result(status)


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, log_fd: int) -> int:
    while True:
        try:
            header_len, body_len = HEAD.unpack(await reader.readexactly(HEAD.size))
            header = json.loads(await reader.readexactly(header_len))
            body = await reader.readexactly(body_len)
        except asyncio.IncompleteReadError:
            return 0  # the environment closed the channel
        command = _command(body)
        if command.get("log"):
            os.write(log_fd, f"{command['log']}\n".encode())
        if command.get("sleep"):
            await asyncio.sleep(float(command["sleep"]))
        if "exit" in command:
            return int(command["exit"])
        request_id = header["request_id"]
        if command.get("error"):
            answer = {"type": "error", "request_id": request_id, "function_error": "Unhandled"}
            _send(writer, {**answer, "max_rss_kb": MAX_RSS_KB}, function_error("Exception", str(command["error"])))
        else:
            _send(writer, {"type": "result", "request_id": request_id, "max_rss_kb": MAX_RSS_KB}, body)


def _command(body: bytes) -> dict[str, Any]:
    with contextlib.suppress(ValueError):
        command = json.loads(body)
        if isinstance(command, dict):
            return command
    return {}


def _send(writer: asyncio.StreamWriter, header: dict[str, Any], body: bytes = b"") -> None:
    data = json.dumps(header).encode()
    writer.write(HEAD.pack(len(data), len(body)) + data + body)
