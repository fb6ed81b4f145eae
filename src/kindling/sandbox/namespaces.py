"""The namespaces backend (Linux, as root): each environment in mount/PID/IPC/UTS namespaces of its own,
with its own cgroups (memory, CPU, pids), a tmpfs ``/tmp`` and an unprivileged uid from a pool."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from pathlib import Path
from typing import Any

from ..runtimes.registry import PYTHON_SDK, Runtime
from . import cgroups, isolate
from .bridge import DATAGRAM_SANDBOX_PATH, SANDBOX_PATH, datagram_socket
from .contract import SandboxFull, SandboxSpec
from .egress import EGRESS_SANDBOX_PATH
from .forking import ForkedSandbox, ForkingBackend, unmount
from .prestart import PrestartedSandbox, Prestarts
from .spares import Spares
from .zygote import Zygote

log = logging.getLogger("kindling.sandbox")


class NamespacesBackend(ForkingBackend):
    name = "namespaces"
    isolated = True

    def __init__(self, data_dir: Path, *, uid_base: int, uid_count: int, cpu_quota: bool, server_id: str) -> None:
        super().__init__(data_dir)
        self.cpu_quota = cpu_quota
        self.mount_point = self.root / ".root"
        self.mount_point.mkdir(exist_ok=True)
        self._free_uids = list(range(uid_base + uid_count - 1, uid_base - 1, -1))
        self.cgroups: cgroups.CgroupTree | None = None
        hierarchy = cgroups.discover()
        if hierarchy is None:
            log.warning("no usable cgroup hierarchy: environments run without memory/CPU/pids limits")
        else:
            cgroups.remove_stale(hierarchy)
            self.cgroups = cgroups.CgroupTree(hierarchy, f"kindling-{server_id}")
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
        uid = self._free_uids.pop()
        sandbox = kind(spec, uid, self._scratch(spec), self)
        try:
            if host_tmp:
                isolate.mount(
                    "tmpfs",
                    str(sandbox.scratch / "tmp"),
                    "tmpfs",
                    isolate.MS_NOSUID | isolate.MS_NODEV,
                    f"size={spec.ephemeral_mb}m,mode=0700,uid={uid},gid={uid}",
                )
            spare = None
            if self.spares is not None and host_tmp:  # started by its zygote, not forked from a template
                spare = self.spares.take(self.zygote_for(spec), spec.env_id, spec.memory_mb)
            if spare is not None:
                sandbox.cgroup, sandbox.spare = spare.group, spare.id
            elif self.cgroups is not None:
                sandbox.cgroup = self.cgroups.create(spec.env_id, spec.memory_mb)
        except BaseException:
            await self.destroy(sandbox)
            raise
        return sandbox

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
            "files": {"/etc/passwd": passwd, "/etc/group": f"root:x:0:\nsbx_user1051:x:{sandbox.uid}:\n"},
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


def _read(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return "127.0.0.1\tlocalhost\n"
