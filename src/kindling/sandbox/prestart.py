"""Pre-started runtimes: Node (and Java) processes started in a confined sandbox before their function exists.

Node and Java cannot be forked from Kindling's Python zygote, so their cold start used to include the
interpreter's own start (Node ~40 ms, a JVM more). A pre-started sandbox is made exactly as any other
(``NamespacesBackend._create``: its uid, cgroups, ``/tmp``, namespaces, seccomp filter, the same layout),
except that ``/var/task`` and ``/opt`` are empty, and its runtime is started at once with only the
variables that shape an interpreter's start (``startup_environment``) plus ``KINDLING_PRESTARTED=1``:
the runtime loads itself, then waits on its control socket. A new environment whose runtime, memory,
``/tmp`` size, network and start-up variables match takes it (``Prestarts.take``); its first ``start``
mounts the function's code and layers over the empty directories (``mountns.py``) and sends the
environment's variables, and the runtime goes on as if it had just been started. A restart after a
crash or a timeout starts a fresh process the usual way. One sandbox is kept ready per key, for the four
keys used last; it is refilled in the background once the init of the environment that took it is over
(a JVM starting beside it would take half its CPU), or at once after a miss.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import itertools
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

from .contract import RuntimeProcess, SandboxSpec, SpawnError
from .forking import ForkedSandbox
from .mountns import Mounter

log = logging.getLogger("kindling.sandbox")
PRESTARTED = ("nodejs", "java")  # whose program waits for its claim (runtimes/nodejs/index.mjs, java/Prestart.java)
PER_KEY = 1
MAX_KEYS = 4
# what an interpreter reads as it starts (module paths, its options, the loader's), unlike the rest
_STARTUP = ("PATH", "LANG", "TZ", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
_STARTUP_PREFIXES = ("NODE_", "LD_", "LC_", "JAVA_", "_JAVA_", "JDK_JAVA_", "UV_")


def startup_environment(environment: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in environment.items() if k in _STARTUP or k.startswith(_STARTUP_PREFIXES)}


def key(spec: SandboxSpec) -> tuple | None:
    """What a pre-started sandbox must share with an environment to serve it; None: never pre-started
    (external extensions start before the runtime; a wrapper script is the runtime's own start; an image
    is the whole root file system)."""
    runtime = spec.runtime
    if not runtime.name.startswith(PRESTARTED) or spec.snapshot or spec.extensions or spec.image:
        return None
    if "AWS_LAMBDA_EXEC_WRAPPER" in spec.environment:
        return None
    startup = tuple(sorted(startup_environment(spec.environment).items()))
    return (runtime.name, spec.memory_mb, spec.ephemeral_mb, spec.network, startup)


@dataclass
class PrestartedSandbox(ForkedSandbox):
    """A sandbox whose runtime is already running; its first ``start`` hands it the function."""

    waiting: RuntimeProcess | None = None
    mounter: Mounter | None = None
    # the refill of its kind, once its init is over: a runtime starting beside it would slow it down
    taken: Callable[[], None] | None = None

    def _taken(self) -> None:
        if self.taken is not None:
            taken, self.taken = self.taken, None
            taken()

    def limit_cpu(self) -> None:
        super().limit_cpu()
        self._taken()

    async def destroy(self) -> None:
        self._taken()
        await super().destroy()

    async def start(self, extra_env: dict[str, str] | None = None) -> RuntimeProcess:
        process, self.waiting = self.waiting, None
        if process is None:
            return await super().start(extra_env)
        spec = self.spec
        mounts = {"/var/task": str(spec.code_dir)}
        if spec.opt_dir is not None:
            mounts["/opt"] = str(spec.opt_dir)
        assert self.mounter is not None  # given by Prestarts with the process
        try:
            await self.mounter.bind(process.pid, mounts)
            claim = json.dumps({"env": {**spec.environment, **(extra_env or {})}}) + "\n"
            process.control.sendall(claim.encode())
        except OSError as error:  # gone meanwhile, or mounts refused: a fresh runtime, the usual way
            log.warning("could not hand pre-started %s its function: %s", spec.env_id, error)
            if error.errno in (errno.ENOSYS, errno.EPERM):
                self.mounter.unsupported = True  # a kernel before 5.12, or a container that forbids it
            self.kill(process)
            close(process)
            return await super().start(extra_env)
        return process


def close(process: RuntimeProcess) -> None:
    process.control.close()
    with contextlib.suppress(OSError):
        os.close(process.log_fd)


class Prestarts:
    def __init__(self, create: Callable[[SandboxSpec], Awaitable[ForkedSandbox]], empty: Path) -> None:
        self._create = create
        self._empty = empty
        self._ready: dict[tuple, list[PrestartedSandbox]] = {}  # the keys used last at the end
        self._filling: dict[tuple, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()  # pre-starts under way
        self._destroying: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self._closed = False
        self.mounter = Mounter()

    def ready(self) -> int:
        return sum(len(sandboxes) for sandboxes in self._ready.values())

    def take(self, spec: SandboxSpec) -> PrestartedSandbox | None:
        """A pre-started sandbox made ``spec``'s (its cgroups renamed after it), or None; a refill starts."""
        wanted = key(spec)
        if wanted is None or self.mounter.unsupported:
            return None
        ready = self._ready.pop(wanted, [])
        self._ready[wanted] = ready
        found = None
        while ready and found is None:
            candidate = ready.pop()
            if candidate.waiting is not None and not candidate.waiting.exited.done():
                found = candidate
            else:
                self._discard(candidate)
        if found is None:
            self._refill(wanted, spec)
            return None
        found.taken = functools.partial(self._refill, wanted, spec)
        try:
            if found.cgroup is not None:
                found.cgroup.rename(spec.env_id)
        except OSError as error:
            log.warning("could not hand pre-started sandbox to %s: %s", spec.env_id, error)
            self._discard(found)
            return None
        log.debug("environment %s takes pre-started sandbox %s (uid %d)", spec.env_id, found.spec.env_id, found.uid)
        found.spec = spec
        return found

    def _refill(self, wanted: tuple, spec: SandboxSpec) -> None:
        if self._closed:
            return
        self._ready[wanted] = self._ready.pop(wanted, [])  # the key used last
        while len(self._ready) > MAX_KEYS:  # the least recently used key gives way
            for sandbox in self._ready.pop(next(iter(self._ready))):
                self._discard(sandbox)
        missing = PER_KEY - len(self._ready[wanted]) - self._filling.get(wanted, 0)
        for _ in range(missing):
            self._filling[wanted] = self._filling.get(wanted, 0) + 1
            self._spawn(self._prestart(wanted, spec))

    def _spawn(self, work: Awaitable[None], tasks: set[asyncio.Task[None]] | None = None) -> None:
        task = asyncio.ensure_future(work)
        into = self._tasks if tasks is None else tasks
        into.add(task)
        task.add_done_callback(into.discard)

    async def _prestart(self, wanted: tuple, spec: SandboxSpec) -> None:
        environment = {**startup_environment(spec.environment), "KINDLING_PRESTARTED": "1"}
        placeholder = replace(
            spec, env_id=f"prestart-{next(self._ids)}", code_dir=self._empty, opt_dir=None, environment=environment
        )
        try:
            sandbox = await self._create(placeholder)
        except Exception as error:  # no uid left (SandboxFull), cgroups refused, ...: no pre-start this time
            self._filling[wanted] -= 1
            log.info("could not pre-start a %s sandbox: %s", spec.runtime.name, error)
            return
        assert isinstance(sandbox, PrestartedSandbox)
        try:
            sandbox.mounter = self.mounter
            sandbox.waiting = await ForkedSandbox.start(sandbox)
        except BaseException as error:
            self._filling[wanted] -= 1
            await sandbox.destroy()
            if isinstance(error, (OSError, SpawnError)):
                log.info("could not pre-start a %s runtime: %s", spec.runtime.name, error)
                return
            raise
        self._filling[wanted] -= 1
        if wanted in self._ready:
            self._ready[wanted].append(sandbox)
        else:  # its key was evicted meanwhile
            self._discard(sandbox)

    def _discard(self, sandbox: PrestartedSandbox) -> None:
        if sandbox.waiting is not None:  # killed by pid: without cgroups, destroy would not find it
            sandbox.kill(sandbox.waiting)
            close(sandbox.waiting)
            sandbox.waiting = None
        self._spawn(sandbox.destroy(), self._destroying)  # finished, never cancelled, by close

    async def close(self) -> None:
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.gather(*self._destroying, return_exceptions=True)
        for sandboxes in self._ready.values():
            for sandbox in sandboxes:
                if sandbox.waiting is not None:
                    sandbox.kill(sandbox.waiting)
                    close(sandbox.waiting)
                await sandbox.destroy()
        self._ready.clear()
        self.mounter.close()
