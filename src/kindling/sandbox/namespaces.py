"""The namespaces backend (Linux, as root): each environment in mount/PID/IPC/UTS namespaces of its own,
with its own cgroups (memory, CPU, pids), a tmpfs ``/tmp`` and an unprivileged uid from a pool."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from pathlib import Path
from typing import Any

from ..runtimes.registry import PYTHON_SDK, Runtime
from . import cgroups, isolate
from .bridge import DATAGRAM_SANDBOX_PATH, SANDBOX_PATH, datagram_socket
from .contract import CA_PATH, SandboxFull, SandboxSpec
from .egress import EGRESS_SANDBOX_PATH
from .forking import ForkedSandbox, ForkingBackend, unmount
from .prestart import PrestartedSandbox, Prestarts
from .spares import Spares
from .zygote import Zygote

log = logging.getLogger("kindling.sandbox")
PRIORITY_NICE = -5  # with cpu_priority: the server and its zygotes (so a fork's first steps) ahead of host load
BURST_GAP_S = 0.05  # a sandbox made this soon after the previous one is part of a burst
PRIORITY_CPUS = 4  # with cpu_priority: the environments' tree weighs as much as this many busy processes


class NamespacesBackend(ForkingBackend):
    name = "namespaces"
    isolated = True

    def __init__(
        self, data_dir: Path, *, uid_base: int, uid_count: int, cpu_quota: bool, server_id: str, cpu_priority: bool
    ) -> None:
        _scratch_in_memory(data_dir / "sandboxes")
        super().__init__(data_dir)
        self.cpu_quota = cpu_quota
        if cpu_priority:
            _renice(PRIORITY_NICE)
        self.mount_point = self.root / ".root"
        self.mount_point.mkdir(exist_ok=True)
        self._free_uids = list(range(uid_base + uid_count - 1, uid_base - 1, -1))
        self._last_create = -1.0
        self.cgroups: cgroups.CgroupTree | None = None
        hierarchy = cgroups.discover()
        if hierarchy is None:
            log.warning("no usable cgroup hierarchy: environments run without memory/CPU/pids limits")
        else:
            cgroups.remove_stale(hierarchy)
            self.cgroups = cgroups.CgroupTree(hierarchy, f"kindling-{server_id}", PRIORITY_CPUS if cpu_priority else 1)
        self.spares = Spares(self.cgroups) if self.cgroups is not None else None
        self.prestarts = Prestarts(functools.partial(self._create, kind=PrestartedSandbox), self.empty)
        # sandboxes without network reach the endpoint through this (host socket, port) (``bridge.py``)
        self.bridge: tuple[str, int] | None = None
        # functions given ``--egress``: their allowlist -> the host socket of the proxy enforcing it (``egress.py``)
        self.egress: dict[tuple[tuple[str, int], ...], str] = {}

    def exhausted(self) -> bool:
        """No uid left for another environment."""
        return not self._free_uids

    def _new_zygote(self, runtime: Runtime, env: dict[str, str]) -> Zygote:
        # the Python runtimes' SDK (their runtime_dir) and interpreter move once in the zygote, not in each environment
        moves = {str(PYTHON_SDK): "/var/runtime"}
        if runtime.prefix != "/usr" and not runtime.launcher:
            moves[runtime.prefix] = "/var/lang"
        zygote = Zygote(runtime.forkserver_python, runtime.entry, moves=moves, env=env)
        if self.spares is not None:
            zygote.spare_lost = functools.partial(self.spares.lost, zygote)
        return zygote

    async def prewarm(self, runtime: Runtime) -> None:
        await super().prewarm(runtime)
        if self.spares is not None:
            for zygote in self.zygotes_of(runtime):
                self.spares.refill(zygote)

    async def create(self, spec: SandboxSpec, *, host_tmp: bool = True) -> ForkedSandbox:
        prestarted = self.prestarts.take(spec) if host_tmp else None  # a Node runtime already started
        return prestarted or await self._create(spec, host_tmp=host_tmp)

    async def _create(
        self, spec: SandboxSpec, *, host_tmp: bool = True, kind: type[ForkedSandbox] = ForkedSandbox
    ) -> ForkedSandbox:
        if not self._free_uids:
            raise SandboxFull("every uid of the pool is in use")
        sandbox = kind(spec, self._free_uids.pop(), self.root / spec.env_id, self)
        if self.spares is not None and host_tmp:  # started by its zygote, not forked from a template
            spare = self.spares.take(self.zygote_for(spec), spec.env_id, spec.memory_mb)
            if spare is not None:
                sandbox.cgroup, sandbox.spare = spare.group, spare.id
        # The folders, mount and groups are kernel work (mkdir on cgroupfs waits on its locks). During a burst
        # it goes to a thread, so the event loop serves the rest of the burst meanwhile; a lone cold start does
        # it here: a thread's two wakeups each wait for a CPU on a busy host (``README``: scaling up).
        now = time.monotonic()
        burst, self._last_create = now - self._last_create < BURST_GAP_S, now
        work = asyncio.ensure_future(asyncio.to_thread(self._prepare, sandbox, host_tmp)) if burst else None
        try:
            if work is None:
                self._prepare(sandbox, host_tmp)
            else:
                await asyncio.shield(work)
        except BaseException:
            if work is not None:
                await asyncio.wait([work])  # what the thread made must be there before it is undone
            await self.destroy(sandbox)
            raise
        return sandbox

    def _prepare(self, sandbox: ForkedSandbox, host_tmp: bool) -> None:
        spec = sandbox.spec
        (sandbox.scratch / "tmp").mkdir(parents=True)
        if host_tmp:  # on the host, so that it outlives a runtime's restart
            isolate.mount(
                "tmpfs",
                str(sandbox.scratch / "tmp"),
                "tmpfs",
                isolate.MS_NOSUID | isolate.MS_NODEV,
                f"size={spec.ephemeral_mb}m,mode=0700,uid={sandbox.uid},gid={sandbox.uid}",
            )
        if sandbox.cgroup is None and self.cgroups is not None:
            sandbox.cgroup = self.cgroups.create(spec.env_id, spec.memory_mb)

    def _layout(
        self, sandbox: ForkedSandbox, env: dict[str, str], mounts: dict[str, str], argv: list[str]
    ) -> dict[str, Any]:
        spec = sandbox.spec
        readonly = {"/usr": "/usr", **mounts, **{path: path for path in spec.runtime.binds}}
        if spec.image:  # the image is the whole root: nothing of the host's but what the sandbox needs
            readonly = {}
        if spec.extensions:  # telemetry listeners bind sandbox.localdomain, as on Lambda
            hosts = sandbox.scratch / "hosts"
            if not hosts.exists():
                hosts.write_text(_read("/etc/hosts") + "127.0.0.1\tsandbox.localdomain sandbox\n")
            readonly["/etc/hosts"] = str(hosts)
        symlinks = {}
        for top in () if spec.image else ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):
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
            "files": {
                "/etc/passwd": passwd,
                "/etc/group": f"root:x:0:\nsbx_user1051:x:{sandbox.uid}:\n",
                **({CA_PATH: spec.ca_bundle} if spec.ca_bundle else {}),  # in the root, which is made read-only
            },
            "base": str(spec.code_dir) if spec.image else "",
        }
        bridge: dict[str, Any] | None = None
        if not spec.network and self.bridge is not None:
            readonly[SANDBOX_PATH] = self.bridge[0]
            readonly[DATAGRAM_SANDBOX_PATH] = datagram_socket(self.bridge[0])  # the X-Ray daemon's port
            bridge = {"socket": SANDBOX_PATH, "port": self.bridge[1], "datagrams": DATAGRAM_SANDBOX_PATH}
            if spec.egress in self.egress:  # the proxy's socket for exactly this allowlist
                readonly[EGRESS_SANDBOX_PATH] = self.egress[spec.egress]
                bridge["egress"] = {"socket": EGRESS_SANDBOX_PATH, "rules": [list(rule) for rule in spec.egress]}
        return {
            "isolate": True,
            "network": spec.network,
            "bridge": bridge,
            "uid": sandbox.uid,
            "gid": sandbox.uid,
            "cwd": spec.cwd,
            "env": env,
            "layout": layout,
            "cgroups": sandbox.cgroup.procs_files if sandbox.cgroup else [],
            "argv": argv,
            "extensions": list(spec.extensions),
        }

    async def destroy(self, sandbox: ForkedSandbox) -> None:
        if sandbox.cgroup is not None:
            sandbox.cgroup.kill_all()
            for _ in range(100):
                sandbox.cgroup.remove()
                if not any(p.exists() for p in sandbox.cgroup.paths.values()):
                    break
                await asyncio.sleep(0.01)
        unmount(sandbox.scratch / "tmp")
        await super().destroy(sandbox)
        self._free_uids.append(sandbox.uid)

    async def close(self) -> None:
        await self.prestarts.close()
        if self.spares is not None:
            await self.spares.close()
        await super().close()
        if self.cgroups is not None:
            self.cgroups.remove()
        unmount(self.root)


def _scratch_in_memory(root: Path) -> None:
    """The environments' scratch folders on a tmpfs of the server's: on a journaling file system each
    ``mkdir`` (two per environment, and the removal) costs a few hundred microseconds of CPU, here a few.
    A crashed server's is reused (its entries are cleaned as stale)."""
    root.mkdir(mode=0o711, exist_ok=True)
    if not os.path.ismount(root):
        isolate.mount("tmpfs", str(root), "tmpfs", isolate.MS_NOSUID | isolate.MS_NODEV, "mode=0711")


def _renice(nice: int) -> None:
    """Every thread of the server (a nice value is a thread's); later threads and the zygotes inherit it."""
    for task in os.listdir("/proc/self/task"):
        try:
            os.setpriority(os.PRIO_PROCESS, int(task), nice)
        except OSError as error:  # a thread that just ended; or no CAP_SYS_NICE (a container without it)
            log.debug("could not renice thread %s: %s", task, error)


def _read(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return "127.0.0.1\tlocalhost\n"
