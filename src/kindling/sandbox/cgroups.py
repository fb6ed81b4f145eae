"""Per-environment cgroups for memory, CPU and process limits, on cgroup v1 or v2.

The server (root) creates and configures each environment's groups before the spawn; the
child joins them itself, so the parent never migrates a running process. Controllers are
discovered from ``/proc/self/mountinfo``, since hybrid hosts mount ``cpu`` and ``cpuacct``
apart and may enable nothing useful on the unified hierarchy.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

CONTROLLERS = ("memory", "cpu", "pids")
ACCOUNTING = "cpuacct"  # v1 only, and optional: the CPU time an environment used (for the cost report)
CPU_PERIOD_US = 100_000
MB_PER_VCPU = 1769


@dataclass(frozen=True)
class Hierarchy:
    version: int
    mounts: dict[str, Path]  # controller -> mount point (v2: the same path for all)


def discover(mountinfo: str = "/proc/self/mountinfo") -> Hierarchy | None:
    v1: dict[str, Path] = {}
    v2: Path | None = None
    try:
        lines = Path(mountinfo).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        left, _, right = line.partition(" - ")
        fstype, _source, options = [*right.split(), "", "", ""][:3]
        mount_point = Path(left.split()[4])
        if fstype == "cgroup":
            for option in options.split(","):
                if option in CONTROLLERS or option == ACCOUNTING:
                    v1[option] = mount_point
        elif fstype == "cgroup2":
            v2 = mount_point
    if all(c in v1 for c in CONTROLLERS):
        return Hierarchy(1, v1)
    if v2 is not None:
        available = (v2 / "cgroup.controllers").read_text().split() if (v2 / "cgroup.controllers").exists() else []
        if all(c in available for c in CONTROLLERS):
            return Hierarchy(2, dict.fromkeys(CONTROLLERS, v2))
    return None


def _write(path: Path, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)


def _set_weight(version: int, group: Path, memory_mb: int) -> None:
    """A CPU weight in proportion to memory: 1,769 MB weighs as much as one default process."""
    if version == 1:
        _write(group / "cpu.shares", str(max(2, 1024 * memory_mb // MB_PER_VCPU)))
    else:
        _write(group / "cpu.weight", str(max(1, min(10000, 100 * memory_mb // MB_PER_VCPU))))


def _kill_members(group: Path) -> None:
    for pid in (group / "cgroup.procs").read_text().split() if group.exists() else ():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), 9)


def _remove_tree(root: Path) -> None:
    """Kill what is left in the environment groups below ``root``, then remove them and it."""
    for child in root.iterdir() if root.exists() else ():
        if child.is_dir():
            _kill_members(child)
            with contextlib.suppress(OSError):
                child.rmdir()
    with contextlib.suppress(OSError):
        root.rmdir()


def remove_stale(hierarchy: Hierarchy, prefix: str = "kindling-") -> None:
    """Remove the subtrees of servers that died without cleaning up (named after their pid)."""
    for mount in set(hierarchy.mounts.values()):
        for root in mount.glob(prefix + "*"):
            pid = root.name.removeprefix(prefix)
            if not pid.isdigit() or Path(f"/proc/{pid}").exists():
                continue
            _remove_tree(root)


class CgroupTree:
    """The server's own subtree, ``kindling-<id>``, with one child group per environment."""

    def __init__(self, hierarchy: Hierarchy, name: str, weight_cpus: int = 1) -> None:
        """``weight_cpus``: the whole tree's CPU weight against its siblings (other host processes), in
        default processes' worth; more than 1 favours the environments over other load."""
        self.hierarchy = hierarchy
        self.roots = {c: m / name for c, m in hierarchy.mounts.items()}
        for root in set(self.roots.values()):
            root.mkdir(exist_ok=True)
        if hierarchy.version == 2:
            root = self.roots["memory"]
            with contextlib.suppress(OSError):
                _write(root.parent / "cgroup.subtree_control", " ".join("+" + c for c in CONTROLLERS))
            _write(root / "cgroup.subtree_control", " ".join("+" + c for c in CONTROLLERS))
        if weight_cpus != 1:
            _set_weight(self.hierarchy.version, self.roots["cpu"], MB_PER_VCPU * weight_cpus)

    def create(self, env_id: str, memory_mb: int, pids_max: int = 1024) -> EnvironmentCgroup:
        group = EnvironmentCgroup(self.hierarchy.version, {c: r / env_id for c, r in self.roots.items()})
        group.configure(memory_mb, pids_max)
        return group

    def remove(self) -> None:
        for root in set(self.roots.values()):
            _remove_tree(root)

    def usage(self) -> dict[str, tuple[float, int]]:
        """Every environment group's ``usage()``, by environment id (parked spares have none yet)."""
        root = self.roots["memory"]
        names = [p.name for p in root.iterdir() if p.is_dir()] if root.exists() else []
        groups = (EnvironmentCgroup(self.hierarchy.version, {c: r / n for c, r in self.roots.items()}) for n in names)
        return {name: group.usage() for name, group in zip(names, groups, strict=True)}


class EnvironmentCgroup:
    def __init__(self, version: int, paths: dict[str, Path]) -> None:
        self.version = version
        self.paths = paths

    @property
    def procs_files(self) -> list[str]:
        return sorted({str(p / "cgroup.procs") for p in self.paths.values()})

    def configure(self, memory_mb: int, pids_max: int) -> None:
        """Make the groups and set every limit: a new group has the kernel's defaults (no memory limit,
        the 100 ms CFS period), so only what differs is written (each write is a syscall on a hot path)."""
        for path in set(self.paths.values()):
            path.mkdir(exist_ok=True)
        limit = str(memory_mb * 1024 * 1024)
        if self.version == 1:
            _write(self.paths["memory"] / "memory.limit_in_bytes", limit)  # below memsw's "unlimited": first
            with contextlib.suppress(OSError):  # only with swap accounting
                _write(self.paths["memory"] / "memory.memsw.limit_in_bytes", limit)
        self._set_cpu_weight(memory_mb)
        if self.version == 2:
            _write(self.paths["memory"] / "memory.max", limit)
            with contextlib.suppress(OSError):
                _write(self.paths["memory"] / "memory.swap.max", "0")
        _write(self.paths["pids"] / "pids.max", str(pids_max))

    def resize(self, memory_mb: int) -> None:
        """Another memory size (and so CPU weight) for groups that exist (a spare's, taken)."""
        limit = str(memory_mb * 1024 * 1024)
        memory = self.paths["memory"]
        if self.version == 1:
            # memory+swap may never be below memory: raising, it goes first (and fails harmlessly when
            # lowering); lowering, it follows. Only with swap accounting.
            with contextlib.suppress(OSError):
                _write(memory / "memory.memsw.limit_in_bytes", limit)
            _write(memory / "memory.limit_in_bytes", limit)
            with contextlib.suppress(OSError):
                _write(memory / "memory.memsw.limit_in_bytes", limit)
        else:
            _write(memory / "memory.max", limit)
        self._set_cpu_weight(memory_mb)

    def _set_cpu_weight(self, memory_mb: int) -> None:
        _set_weight(self.version, self.paths["cpu"], memory_mb)

    def rename(self, name: str) -> None:
        """Give a spare's groups an environment's name: a rename moves no process, so it costs nothing."""
        renamed = {}
        for controller, path in self.paths.items():
            target = path.with_name(name)
            if path.exists() and not target.exists():  # v2 (one directory) or a shared v1 mount: once
                os.rename(path, target)
            renamed[controller] = target
        self.paths = renamed

    def limit_cpu(self, memory_mb: int | None) -> None:
        """CPU in proportion to memory, or unlimited (``None``) for the init phase."""
        quota = -1 if memory_mb is None else max(1000, CPU_PERIOD_US * memory_mb // MB_PER_VCPU)
        cpu = self.paths["cpu"]
        if self.version == 1:
            _write(cpu / "cpu.cfs_quota_us", str(quota))
        else:
            _write(cpu / "cpu.max", f"{'max' if quota < 0 else quota} {CPU_PERIOD_US}")

    def max_memory_bytes(self) -> int:
        memory = self.paths["memory"]
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        try:
            return int((memory / name).read_text())
        except (OSError, ValueError):
            return 0

    def usage(self) -> tuple[float, int]:
        """(CPU-seconds used so far, memory bytes in use now), zeros where the kernel does not say."""
        memory = self.paths["memory"]
        try:
            if self.version == 1:
                used = int((memory / "memory.usage_in_bytes").read_text())
                accounting = self.paths.get(ACCOUNTING)
                return (int((accounting / "cpuacct.usage").read_text()) / 1e9 if accounting else 0.0), used
            stat = dict(line.split() for line in (self.paths["cpu"] / "cpu.stat").read_text().splitlines())
            return int(stat.get("usage_usec", 0)) / 1e6, int((memory / "memory.current").read_text())
        except (OSError, ValueError):
            return 0.0, 0

    def oom_killed(self) -> bool:
        memory = self.paths["memory"]
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        try:
            for line in (memory / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        except (OSError, ValueError):
            pass
        return False

    def kill_all(self) -> None:
        _kill_members(self.paths["pids"])

    def remove(self) -> None:
        for path in set(self.paths.values()):
            with contextlib.suppress(OSError):
                path.rmdir()
