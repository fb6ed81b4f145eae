"""The sandbox contract: create an execution environment, start its runtime, tear it down.

Two backends behind one interface, chosen once at start-up: ``namespaces`` (Linux as root:
mount/PID/IPC/UTS namespaces, cgroups, an unprivileged uid per environment) and ``process``
(a plain child process, for machines where that is impossible; loudly less isolated). Both
fork from the runtime's zygote. Callers get a ``RuntimeProcess`` (pid, control socket, log
pipe, exit future) and never learn which backend made it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import shutil
import socket
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..errors import TooManyRequests
from ..runtimes.registry import PYTHON_SDK, Runtime
from . import cgroups, isolate
from .bridge import SANDBOX_PATH
from .spares import Spares
from .templates import Template, restore
from .zygote import Zygote, kill

log = logging.getLogger("kindling.sandbox")
MAX_EXTENSIONS = 10


@dataclass(frozen=True)
class SandboxSpec:
    env_id: str
    runtime: Runtime
    code_dir: Path
    memory_mb: int
    ephemeral_mb: int
    environment: dict[str, str]
    network: bool = True
    opt_dir: Path | None = None  # the function's layers, merged, bound read-only at /opt
    snapshot: bool = False  # a template or an environment forked from one: no external extensions

    @cached_property
    def extensions(self) -> tuple[str, ...]:
        """The external extensions (``/opt/extensions/*`` executables, at most 10) started before the runtime."""
        folder = self.opt_dir / "extensions" if self.opt_dir is not None else None
        if self.snapshot or folder is None or not folder.is_dir():
            return ()
        found = sorted(p.name for p in folder.iterdir() if p.is_file() and os.access(p, os.X_OK))
        return tuple(f"/opt/extensions/{name}" for name in found[:MAX_EXTENSIONS])


@dataclass
class RuntimeProcess:
    pid: int
    control: socket.socket
    log_fd: int
    exited: asyncio.Future[int]
    extension_exits: int = -1  # with extensions: lines ``name status`` as each one exits
    extension_log: int = -1  # with extensions: their stdout and stderr


@dataclass
class Sandbox:
    spec: SandboxSpec
    uid: int
    scratch: Path  # host directory holding this environment's /tmp
    backend: SandboxBackend
    cgroup: cgroups.EnvironmentCgroup | None = None
    spare: str | None = None  # the spare its first process is to be forked by (``spares.py``)
    _oom_seen: bool = field(default=False, repr=False)
    _peak_mb: int = field(default=0, repr=False)
    _peak_read_at: float = field(default=-1.0, repr=False)

    async def start(self, extra_env: dict[str, str] | None = None) -> RuntimeProcess:
        return await self.backend.start(self, extra_env)

    async def start_template(self) -> tuple[RuntimeProcess, Template]:
        """Start the runtime as a template: it runs init once, then forks environments on request."""
        return await self.backend.start_template(self)

    async def restore(self, template: Template, env: dict[str, str]) -> RuntimeProcess:
        """Fork this sandbox's runtime from ``template`` instead of starting one (``env``: what differs)."""
        return await self.backend.restore(self, template, env)

    def limit_cpu(self) -> None:
        """Apply the CPU share proportional to memory, once init has finished at full speed."""
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
        """True once per OOM kill of this environment's runtime."""
        if self.cgroup is None or self._oom_seen or not self.cgroup.oom_killed():
            return False
        self._oom_seen = True
        return True

    async def destroy(self) -> None:
        await self.backend.destroy(self)


class SandboxBackend:
    def __init__(
        self,
        data_dir: Path,
        *,
        isolate_: bool,
        uid_base: int,
        uid_count: int,
        cpu_quota: bool,
        server_id: str,
    ) -> None:
        self.isolate = isolate_
        self.cpu_quota = cpu_quota
        self.root = data_dir / "sandboxes"
        self.root.mkdir(mode=0o711, exist_ok=True)
        self.mount_point = self.root / ".root"
        self.mount_point.mkdir(exist_ok=True)
        self.empty = self.root / ".empty"
        self.empty.mkdir(mode=0o755, exist_ok=True)
        self._free_uids = list(range(uid_base + uid_count - 1, uid_base - 1, -1))
        self._zygotes: dict[str, Zygote] = {}
        self.cgroups: cgroups.CgroupTree | None = None
        if isolate_:
            hierarchy = cgroups.discover()
            if hierarchy is None:
                log.warning("no usable cgroup hierarchy: environments run without memory/CPU/pids limits")
            else:
                cgroups.remove_stale(hierarchy)
                self.cgroups = cgroups.CgroupTree(hierarchy, f"kindling-{server_id}")
        self.spares = Spares(self.cgroups) if self.cgroups is not None else None
        # sandboxes without network reach the endpoint through this (host socket, port) (``bridge.py``)
        self.bridge: tuple[str, int] | None = None
        self._clean_stale()

    @property
    def name(self) -> str:
        return "namespaces" if self.isolate else "process"

    def _clean_stale(self) -> None:
        """A crashed server may have left scratch mounts behind: remove them before reuse."""
        for entry in self.root.iterdir():
            if entry.name.startswith("."):
                continue
            with contextlib.suppress(OSError):
                isolate._libc.umount2(str(entry / "tmp").encode(), isolate.MNT_DETACH)
            shutil.rmtree(entry, ignore_errors=True)

    def exhausted(self) -> bool:
        """No uid left for another isolated environment."""
        return self.isolate and not self._free_uids

    def zygote(self, runtime: Runtime) -> Zygote:
        """One per interpreter and entry: runtimes that exec their own program share a Python's zygote."""
        key = f"{runtime.forkserver_python}:{runtime.entry}"
        if key not in self._zygotes:
            # the Python runtimes' SDK (their runtime_dir) moves once in the zygote, not in each environment
            moves = {str(PYTHON_SDK): "/var/runtime"} if self.isolate else {}
            zygote = self._zygotes[key] = Zygote(runtime.forkserver_python, runtime.entry, moves=moves)
            if self.spares is not None:
                zygote.spare_lost = functools.partial(self.spares.lost, zygote)
        return self._zygotes[key]

    async def prewarm(self, runtime: Runtime) -> None:
        zygote = self.zygote(runtime)
        await zygote.start()
        if self.spares is not None:
            self.spares.refill(zygote)

    async def create(self, spec: SandboxSpec, *, host_tmp: bool = True) -> Sandbox:
        """``host_tmp=False``: the runtime will mount its own ``/tmp`` (an environment forked from a template)."""
        # the process backend keeps the server's user: it isolates nothing, and says so at start-up
        if not self.isolate:
            uid = os.getuid()
        elif self._free_uids:
            uid = self._free_uids.pop()
        else:
            raise TooManyRequests(reason="ConcurrentInvocationLimitExceeded")
        scratch = self.root / spec.env_id
        (scratch / "tmp").mkdir(parents=True)
        sandbox = Sandbox(spec, uid, scratch, self)
        try:
            if self.isolate:
                if host_tmp:
                    isolate.mount(
                        "tmpfs",
                        str(scratch / "tmp"),
                        "tmpfs",
                        isolate.MS_NOSUID | isolate.MS_NODEV,
                        f"size={spec.ephemeral_mb}m,mode=0700,uid={uid},gid={uid}",
                    )
                spare = None
                if self.spares is not None and host_tmp:  # started by its zygote, not forked from a template
                    spare = self.spares.take(self.zygote(spec.runtime), spec.env_id, spec.memory_mb)
                if spare is not None:
                    sandbox.cgroup, sandbox.spare = spare.group, spare.id
                elif self.cgroups is not None:
                    sandbox.cgroup = self.cgroups.create(spec.env_id, spec.memory_mb)
        except BaseException:
            await self.destroy(sandbox)
            raise
        return sandbox

    def _spawn_spec(self, sandbox: Sandbox, extra_env: dict[str, str] | None = None) -> dict:
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
        if not self.isolate:
            env["LAMBDA_TASK_ROOT"] = str(spec.code_dir)
            env["TMPDIR"] = str(sandbox.scratch / "tmp")
            return {
                "isolate": False,
                "uid": sandbox.uid,
                "gid": sandbox.uid,
                "cwd": str(spec.code_dir),
                "env": env,
                "argv": [_on_host(arg, mounts) for arg in argv],
                "extensions": [_on_host(path, mounts) for path in spec.extensions],
            }
        readonly = {"/usr": "/usr", **mounts, **{path: path for path in spec.runtime.binds}}
        if spec.extensions:  # telemetry listeners bind sandbox.localdomain, as on Lambda
            hosts = sandbox.scratch / "hosts"
            if not hosts.exists():
                hosts.write_text(_read("/etc/hosts") + "127.0.0.1\tsandbox.localdomain sandbox\n")
            readonly["/etc/hosts"] = str(hosts)
        symlinks = {}
        for top in ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
            if os.path.islink(top):
                symlinks[top] = os.readlink(top)
            elif os.path.isdir(top):
                readonly[top] = top
        if spec.runtime.runtime_dir and os.path.isdir(os.path.join(spec.runtime.runtime_dir, "node_modules")):
            # ES modules ignore NODE_PATH: an import from /var/task finds the runtime's SDK up the tree, at /
            symlinks["/node_modules"] = "/var/runtime/node_modules"
        passwd = (
            f"root:x:0:0:root:/root:/sbin/nologin\nsbx_user1051:x:{sandbox.uid}:{sandbox.uid}::/tmp:/sbin/nologin\n"
        )
        layout = {
            "root": str(self.mount_point),
            "readonly": readonly,
            "writable": {"/tmp": str(sandbox.scratch / "tmp")},
            "symlinks": symlinks,
            "files": {"/etc/passwd": passwd, "/etc/group": f"root:x:0:\nsbx_user1051:x:{sandbox.uid}:\n"},
        }
        bridge = None
        if not spec.network and self.bridge is not None:
            readonly[SANDBOX_PATH] = self.bridge[0]
            bridge = {"socket": SANDBOX_PATH, "port": self.bridge[1]}
        return {
            "isolate": True,
            "network": spec.network,
            "bridge": bridge,
            "uid": sandbox.uid,
            "gid": sandbox.uid,
            "cwd": "/var/task",
            "env": env,
            "layout": layout,
            "cgroups": sandbox.cgroup.procs_files if sandbox.cgroup else [],
            "argv": argv,
            "extensions": list(spec.extensions),
        }

    async def start(
        self, sandbox: Sandbox, extra_env: dict[str, str] | None = None, template_fd: int | None = None
    ) -> RuntimeProcess:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pipes = [os.pipe() for _ in range(3 if sandbox.spec.extensions else 1)]  # log, extension exits and output
        zygote = self.zygote(sandbox.spec.runtime)
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

    async def start_template(self, sandbox: Sandbox) -> tuple[RuntimeProcess, Template]:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            process = await self.start(sandbox, template_fd=theirs.fileno())
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        return process, Template(process.pid, sandbox.uid, ours, process.exited)

    async def restore(self, sandbox: Sandbox, template: Template, env: dict[str, str]) -> RuntimeProcess:
        if not self.isolate:
            env = {**env, "TMPDIR": str(sandbox.scratch / "tmp")}
        sandbox.unlimit_cpu()
        pid, control, log_fd, exited = await restore(
            template,
            uid=sandbox.uid,
            inside_uid=template.uid,
            cgroup_procs=sandbox.cgroup.procs_files if sandbox.cgroup else [],
            isolated=self.isolate,
            request={"tmp_mb": sandbox.spec.ephemeral_mb, "env": env},
        )
        return RuntimeProcess(pid, control, log_fd, exited)

    async def destroy(self, sandbox: Sandbox) -> None:
        if sandbox.cgroup is not None:
            sandbox.cgroup.kill_all()
            for _ in range(100):
                sandbox.cgroup.remove()
                if not any(p.exists() for p in sandbox.cgroup.paths.values()):
                    break
                await asyncio.sleep(0.01)
        if self.isolate:
            isolate._libc.umount2(str(sandbox.scratch / "tmp").encode(), isolate.MNT_DETACH)
        shutil.rmtree(sandbox.scratch, ignore_errors=True)
        if self.isolate:
            self._free_uids.append(sandbox.uid)

    async def close(self) -> None:
        if self.spares is not None:
            await self.spares.close()
        for zygote in self._zygotes.values():
            zygote.close()
        if self.cgroups is not None:
            self.cgroups.remove()


def _read(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return "127.0.0.1\tlocalhost\n"


def _on_host(path: str, mounts: dict[str, str]) -> str:
    """A sandbox path as the process backend, which mounts nothing, finds it on the host."""
    for inside, host in mounts.items():
        if path == inside or path.startswith(inside + "/"):
            return host + path[len(inside) :]
    return path


def kill_process(process: RuntimeProcess) -> None:
    kill(process.pid)
