"""Server side of a fork server (``forkserver.py``): start it, ask it for environments.

One ``Zygote`` per runtime. ``spawn`` sends a spec and the environment's two file
descriptors and resolves with the child's host pid; ``wait_exit`` resolves with the
child's exit code (negative: killed by that signal), as reported by the zygote, which is the
child's parent. A zygote that dies is restarted on the next spawn; whatever was waiting on it
fails at once instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .contract import SpawnError

log = logging.getLogger("kindling.sandbox")
FORKSERVER = Path(__file__).with_name("forkserver.py")
_ids = itertools.count(1)


class Zygote:
    def __init__(
        self,
        interpreter: str,
        entry: Path,
        interpreter_args: tuple[str, ...] = ("-I", "-S"),
        moves: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.interpreter = interpreter
        self.entry = entry
        self.interpreter_args = interpreter_args
        self.moves = moves or {}  # host directory -> where every sandbox binds it (see forkserver.main)
        self.env = env or {}  # for the entry's preload (what it loads ahead)
        self._process: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._spawns: dict[str, asyncio.Future[int]] = {}
        self._parks: dict[str, asyncio.Future[None]] = {}
        self.spare_lost: Callable[[str], None] = lambda spare_id: None  # a parked spare died before its use
        self._exits: dict[int, asyncio.Future[int]] = {}
        self._early_exits: dict[int, int] = {}
        self._ready: asyncio.Future[None] | None = None
        self._lock = asyncio.Lock()
        self._send_lock = asyncio.Lock()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    async def start(self) -> None:
        async with self._lock:
            if self._process is not None and self._process.poll() is None:
                return
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            self._process = subprocess.Popen(
                [
                    self.interpreter,
                    *self.interpreter_args,
                    str(FORKSERVER),
                    str(theirs.fileno()),
                    str(self.entry),
                ],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                cwd="/",
                start_new_session=True,  # a Ctrl-C meant for the server must not kill it first
                env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "KINDLING_MOVES": json.dumps(self.moves), **self.env},
            )
            theirs.close()
            ours.setblocking(False)
            self._sock = ours
            loop = asyncio.get_running_loop()
            self._ready = loop.create_future()
            loop.add_reader(ours.fileno(), self._on_message)
            try:
                await asyncio.wait_for(self._ready, 30)
            except (TimeoutError, SpawnError) as error:
                self.close()
                raise SpawnError(f"the {self.interpreter} zygote did not start: {error}") from error

    def _on_message(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data = self._sock.recv(1 << 16)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._lost()
                return
            self._dispatch(json.loads(data))

    def _dispatch(self, message: dict) -> None:
        op = message["op"]
        if op == "ready" and self._ready and not self._ready.done():
            self._ready.set_result(None)
        elif op == "spawned":
            future = self._spawns.pop(message["id"], None)
            if future and not future.done():
                future.set_result(message["pid"])
        elif op == "spawn_failed":
            future = self._spawns.pop(message["id"], None)
            if future and not future.done():
                future.set_exception(SpawnError(message["error"]))
        elif op in ("parked", "spare_failed"):
            parked = self._parks.pop(message["id"], None)
            if parked is None:
                self.spare_lost(message["id"])
            elif op == "parked":
                parked.set_result(None)
            else:
                parked.set_exception(SpawnError(message.get("error", "the spare ended")))
        elif op == "exit":
            waiter = self._exits.pop(message["pid"], None)
            if waiter is None:
                self._early_exits[message["pid"]] = message["status"]
            elif not waiter.done():
                waiter.set_result(message["status"])

    def _lost(self) -> None:
        """The zygote exited: everything it was doing has failed, and its children are gone."""
        log.warning("zygote %s exited", self.interpreter)
        self.close()

    async def _running(self) -> None:
        """Started, or started again after it died."""
        if self._process is None or self._process.poll() is not None:
            await self.start()

    async def spawn(self, spec: dict, fds: list[int]) -> int:
        await self._running()
        assert self._sock is not None
        spawn_id = str(next(_ids))
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._spawns[spawn_id] = future
        await self._send(json.dumps({**spec, "id": spawn_id}).encode(), fds)
        return await future

    async def park(self, spare_id: str, cgroup_procs: list[str]) -> None:
        """Fork a spare that joins these cgroups now and forks one environment there later (``spawn`` with
        ``"spare": spare_id``); returns once it has joined them."""
        await self._running()
        parked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._parks[spare_id] = parked
        await self._send(json.dumps({"op": "park", "id": spare_id, "cgroups": cgroup_procs}).encode(), [])
        await parked

    async def _send(self, message: bytes, fds: list[int]) -> None:
        """Send one request; in a burst the socket fills up, and then we wait until it drains."""
        async with self._send_lock:
            while True:
                assert self._sock is not None
                try:
                    socket.send_fds(self._sock, [message], fds)
                    return
                except BlockingIOError:
                    writable = asyncio.get_running_loop().create_future()
                    fileno = self._sock.fileno()
                    asyncio.get_running_loop().add_writer(fileno, writable.set_result, None)
                    try:
                        await writable
                    finally:
                        asyncio.get_running_loop().remove_writer(fileno)

    def wait_exit(self, pid: int) -> asyncio.Future[int]:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        if pid in self._early_exits:
            future.set_result(self._early_exits.pop(pid))
        else:
            self._exits[pid] = future
        return future

    def close(self) -> None:
        if self._sock is not None:
            loop = asyncio.get_event_loop()
            loop.remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            self._process = None
        if self._ready is not None and not self._ready.done():
            self._ready.cancel()
        futures: list[asyncio.Future[Any]] = [*self._spawns.values(), *self._parks.values()]
        for future in futures:
            if not future.done():
                future.set_exception(SpawnError("the zygote exited"))
        self._parks.clear()
        for waiter in self._exits.values():
            if not waiter.done():
                waiter.set_result(-9)  # its children died with it (PDEATHSIG)
        self._spawns.clear()
        self._exits.clear()


def kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
