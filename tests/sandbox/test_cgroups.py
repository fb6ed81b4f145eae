"""cgroup discovery: hybrid hosts mount cpu and cpuacct apart and enable little on the unified tree."""

from __future__ import annotations

from pathlib import Path

from kindling.sandbox.cgroups import discover

HYBRID = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""


def test_hybrid_layout_uses_v1(tmp_path: Path):
    (tmp_path / "mountinfo").write_text(HYBRID)
    found = discover(str(tmp_path / "mountinfo"))
    assert found is not None and found.version == 1
    # cpuacct is optional: where it is mounted, environments get a group in it too (the CPU time they used)
    assert found.mounts == {c: Path(f"/sys/fs/cgroup/{c}") for c in ("cpu", "cpuacct", "memory", "pids")}


def test_unified_layout_uses_v2(tmp_path: Path):
    root = tmp_path / "cg"
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids rdma misc\n")
    (tmp_path / "mountinfo").write_text(f"24 1 0:22 / {root} rw,nosuid - cgroup2 cgroup2 rw\n")
    found = discover(str(tmp_path / "mountinfo"))
    assert found is not None and found.version == 2 and found.mounts["memory"] == root


def test_no_usable_controllers(tmp_path: Path):
    (tmp_path / "mountinfo").write_text("24 1 0:22 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n")
    assert discover(str(tmp_path / "mountinfo")) is None
