"""What the namespaces and process backends share: runtimes forked from a zygote, templates, scratch folders.

``ForkingBackend`` keeps one zygote per interpreter, asks it for runtime processes and templates, and
restores environments from templates; a subclass says how a sandbox is confined (``create``,
``_layout``, ``destroy``). ``ForkedSandbox`` is the ``Sandbox`` both hand out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..runtimes.registry import Runtime
from ..runtimes.sdk_use import PRELOAD_ENV, has_python_sdk, uses_python_sdk
from . import cgroups, isolate
from .contract import RuntimeProcess, SandboxSpec, Template
from .templates import TemplateProcess, restore
from .zygote import Zygote, kill

log = logging.getLogger("kindling.sandbox")


@dataclass
class ForkedSandbox:
    spec: SandboxSpec
    uid: int
    scratch: Path  # host directory holding this environment's /tmp
    backend: ForkingBackend
    cgroup: cgroups.EnvironmentCgroup | None = None
    spare: str | None = None  # the spare its first process is to be forked by (``spares.py``)
    _oom_seen: bool = field(default=False, repr=False)
    _peak_mb: int = field(default=0, repr=False)
    _peak_read_at: float = field(default=-1.0, repr=False)

    async def start(self, extra_env: dict[str, str] | None = None) -> RuntimeProcess:
        return await self.backend.start(self, extra_env)

    async def start_template(self) -> tuple[RuntimeProcess, Template]:
        return await self.backend.start_template(self)

    async def restore(self, template: Template, env: dict[str, str]) -> RuntimeProcess:
        assert isinstance(template, TemplateProcess)
        return await self.backend.restore(self, template, env)

    def kill(self, process: RuntimeProcess) -> None:
        kill(process.pid)

    def limit_cpu(self) -> None:
        if self.cgroup and self.backend.cpu_quota:
            self.cgroup.limit_cpu(self.spec.memory_mb)

    def unlimit_cpu(self) -> None:
        if self.cgroup and self.backend.cpu_quota:
            self.cgroup.limit_cpu(None)

    def max_memory_mb(self) -> int | None:
        """The cgroup's high-water mark, read at most once a second (a file read per invoke shows)."""
        if self.cgroup is None:
            return None
        now = time.monotonic()
        if now - self._peak_read_at > 1.0:
            self._peak_mb = max(1, round(self.cgroup.max_memory_bytes() / (1024 * 1024)))
            self._peak_read_at = now
        return self._peak_mb

    def was_oom_killed(self) -> bool:
        if self.cgroup is None or self._oom_seen or not self.cgroup.oom_killed():
            return False
        self._oom_seen = True
        return True

    async def destroy(self) -> None:
        await self.backend.destroy(self)


class ForkingBackend:
    """Runtimes forked from a zygote per interpreter; how a sandbox is confined is the subclass's."""

    name = ""
    isolated = False  # the runtime is in namespaces of its own (paths inside differ from the host's)
    cpu_quota = False

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "sandboxes"
        self.root.mkdir(mode=0o711, exist_ok=True)
        self.empty = self.root / ".empty"
        self.empty.mkdir(mode=0o755, exist_ok=True)
        self._zygotes: dict[str, Zygote] = {}
        self._starting: set[asyncio.Task[None]] = set()
        self._clean_stale()

    def _clean_stale(self) -> None:
        """A crashed server may have left scratch mounts behind: remove them before reuse."""
        for entry in self.root.iterdir():
            if entry.name.startswith("."):
                continue
            with contextlib.suppress(OSError):
                unmount(entry / "tmp")
            shutil.rmtree(entry, ignore_errors=True)

    def exhausted(self) -> bool:
        return False

    def zygote(self, runtime: Runtime, sdk: bool = False) -> Zygote:
        """One per interpreter and entry: runtimes that exec their own program share a Python's zygote. A
        Python with the AWS SDK has a second one, which preloaded it (``runtimes/sdk_use.py``)."""
        key = f"{runtime.forkserver_python}:{runtime.entry}{':sdk' if sdk else ''}"
        if key not in self._zygotes:
            self._zygotes[key] = self._new_zygote(runtime, {PRELOAD_ENV: "1"} if sdk else {})
        return self._zygotes[key]

    def zygote_for(self, spec: SandboxSpec) -> Zygote:
        return self.zygote(spec.runtime, uses_python_sdk(spec.runtime, spec.code_dir, spec.opt_dir))

    def zygotes_of(self, runtime: Runtime) -> list[Zygote]:
        return [self.zygote(runtime), *([self.zygote(runtime, sdk=True)] if has_python_sdk(runtime) else [])]

    def _new_zygote(self, runtime: Runtime, env: dict[str, str]) -> Zygote:
        return Zygote(runtime.forkserver_python, runtime.entry, env=env)

    async def prewarm(self, runtime: Runtime) -> None:
        """The runtime's zygote, before the server serves; the SDK's starts meanwhile (it takes longer, and
        a cold start that needs it before it is up waits for it)."""
        first, *others = self.zygotes_of(runtime)
        for zygote in others:
            task = asyncio.create_task(zygote.start())
            self._starting.add(task)
            task.add_done_callback(self._started)
        await first.start()

    def _started(self, task: asyncio.Task[None]) -> None:
        self._starting.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("a zygote did not start: %s", task.exception())

    def _scratch(self, spec: SandboxSpec) -> Path:
        scratch = self.root / spec.env_id
        (scratch / "tmp").mkdir(parents=True)
        return scratch

    def _spawn_spec(self, sandbox: ForkedSandbox, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
        spec = sandbox.spec
        env = {**spec.environment, **(extra_env or {})}
        mounts = {"/var/task": str(spec.code_dir), "/opt": str(spec.opt_dir or self.empty)}  # sandbox -> host
        if spec.runtime.prefix != "/usr":
            mounts["/var/lang"] = spec.runtime.prefix
        if spec.runtime.runtime_dir:
            mounts["/var/runtime"] = spec.runtime.runtime_dir
        argv = spec.runtime.argv(spec.code_dir, spec.opt_dir)
        if argv and spec.runtime.runtime_dir and env.get("AWS_LAMBDA_EXEC_WRAPPER"):  # managed runtimes only
            argv = [env["AWS_LAMBDA_EXEC_WRAPPER"], *argv]
        return self._layout(sandbox, env, mounts, argv)

    def _layout(
        self, sandbox: ForkedSandbox, env: dict[str, str], mounts: dict[str, str], argv: list[str]
    ) -> dict[str, Any]:
        """The fork server's spawn request: where the runtime's paths are and whom it runs as."""
        raise NotImplementedError

    async def start(
        self, sandbox: ForkedSandbox, extra_env: dict[str, str] | None = None, template_fd: int | None = None
    ) -> RuntimeProcess:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pipes = [os.pipe() for _ in range(3 if sandbox.spec.extensions else 1)]  # log, extension exits and output
        zygote = self.zygote_for(sandbox.spec)
        spec = self._spawn_spec(sandbox, extra_env)
        fds = [theirs.fileno(), *(w for _, w in pipes)]
        if template_fd is not None:
            spec["template"] = True
            fds.append(template_fd)
        if sandbox.spare is not None:  # its first start only: a restart joins the groups as usual
            spec["spare"], sandbox.spare = sandbox.spare, None
        sandbox.unlimit_cpu()
        try:
            pid = await zygote.spawn(spec, fds)
        except BaseException:
            ours.close()
            for read, _ in pipes:
                os.close(read)
            raise
        finally:
            theirs.close()
            for _, write in pipes:
                os.close(write)
        process = RuntimeProcess(pid, ours, pipes[0][0], zygote.wait_exit(pid))
        if len(pipes) > 1:
            process.extension_exits, process.extension_log = pipes[1][0], pipes[2][0]
        return process

    async def start_template(self, sandbox: ForkedSandbox) -> tuple[RuntimeProcess, Template]:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            process = await self.start(sandbox, template_fd=theirs.fileno())
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        return process, TemplateProcess(process.pid, sandbox.uid, ours, process.exited)

    def _restore_env(self, sandbox: ForkedSandbox, env: dict[str, str]) -> dict[str, str]:
        return env

    async def restore(self, sandbox: ForkedSandbox, template: TemplateProcess, env: dict[str, str]) -> RuntimeProcess:
        sandbox.unlimit_cpu()
        pid, control, log_fd, exited = await restore(
            template,
            uid=sandbox.uid,
            inside_uid=template.uid,
            cgroup_procs=sandbox.cgroup.procs_files if sandbox.cgroup else [],
            isolated=self.isolated,
            request={"tmp_mb": sandbox.spec.ephemeral_mb, "env": self._restore_env(sandbox, env)},
        )
        return RuntimeProcess(pid, control, log_fd, exited)

    async def destroy(self, sandbox: ForkedSandbox) -> None:
        shutil.rmtree(sandbox.scratch, ignore_errors=True)

    async def close(self) -> None:
        for task in list(self._starting):
            task.cancel()
        for zygote in self._zygotes.values():
            zygote.close()


def unmount(path: Path) -> None:
    isolate._libc.umount2(str(path).encode(), isolate.MNT_DETACH)
