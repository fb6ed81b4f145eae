"""What a server changes on its host: its CPU priority (on by default, ``--no-cpu-priority`` keeps the host's
defaults) and the tmpfs of its environments' scratch folders (gone when it stops)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support import Server, running

from kindling.sandbox.cgroups import discover


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _tree_weight(pid: int) -> int:
    hierarchy = discover()
    assert hierarchy is not None
    name = "cpu.shares" if hierarchy.version == 1 else "cpu.weight"
    return int((hierarchy.mounts["cpu"] / f"kindling-{pid}" / name).read_text())


def _mounted(path: Path) -> bool:
    return any(line.split()[4] == str(path) for line in Path("/proc/self/mountinfo").read_text().splitlines())


def test_the_server_and_its_environments_come_first(server: Server):
    default_weight = 1024 if discover().version == 1 else 100  # type: ignore[union-attr]
    assert _nice(server.process.pid) == -5
    assert _tree_weight(server.process.pid) == 4 * default_weight


def test_no_cpu_priority_leaves_the_host_alone_and_a_stop_unmounts_the_scratch(tmp_path: Path):
    data = tmp_path / "data"
    with running(data, "--no-cpu-priority") as quiet:
        default_weight = 1024 if discover().version == 1 else 100  # type: ignore[union-attr]
        assert _nice(quiet.process.pid) == os.getpriority(os.PRIO_PROCESS, 0)  # as started
        assert _tree_weight(quiet.process.pid) == default_weight
        assert _mounted(data / "sandboxes")
    assert not _mounted(data / "sandboxes")
