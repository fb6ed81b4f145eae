"""Mount host directories into a running sandbox's mount namespace (a pre-started runtime's ``/var/task``).

The sandbox pivoted into a root of its own, so no host path can be named from inside it. The mount
API of Linux 5.2 bridges that: ``open_tree(OPEN_TREE_CLONE)`` copies a host directory as a detached
mount, ``mount_setattr`` makes it read-only (nosuid, nodev, as every bind of the sandbox), ``setns``
enters the sandbox's namespace and ``move_mount`` attaches the copy there. ``setns`` into a mount
namespace needs a thread that shares no file system state with the others: one dedicated thread, which
``unshare(CLONE_FS)``s once and goes back to the server's own namespace after each request.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
from concurrent.futures import ThreadPoolExecutor

from .isolate import CLONE_NEWNS, IsolationError

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
SYS_OPEN_TREE, SYS_MOVE_MOUNT, SYS_MOUNT_SETATTR = 428, 429, 442  # the same on x86_64 and aarch64
CLONE_FS = 0x00000200
AT_FDCWD = -100
AT_EMPTY_PATH = 0x1000
AT_RECURSIVE = 0x8000
OPEN_TREE_CLONE = 1
OPEN_TREE_CLOEXEC = os.O_CLOEXEC
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV = 0x1, 0x2, 0x4


class _MountAttr(ctypes.Structure):
    _fields_ = [
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    ]


def _check(result: int, what: str) -> int:
    if result < 0:
        error = ctypes.get_errno()
        raise IsolationError(error, f"{what}: {os.strerror(error)}")
    return result


def _detached_copy(host: str) -> int:
    """A read-only copy of ``host`` (and the mounts under it), attached nowhere yet."""
    fd = _check(
        _libc.syscall(SYS_OPEN_TREE, AT_FDCWD, host.encode(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE),
        f"open_tree {host}",
    )
    attr = _MountAttr(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, 0, 0)
    try:
        _check(
            _libc.syscall(
                SYS_MOUNT_SETATTR, fd, b"", AT_EMPTY_PATH | AT_RECURSIVE, ctypes.byref(attr), ctypes.sizeof(attr)
            ),
            f"mount_setattr {host}",
        )
    except BaseException:
        os.close(fd)
        raise
    return fd


class Mounter:
    """Binds host directories read-only into the mount namespace of a sandboxed process."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kindling-mountns")
        self._home = -1  # the server's mount namespace, as the dedicated thread sees it
        self.unsupported = False  # the kernel lacks the mount API, or we may not use it: no pre-starts

    def _enter_thread(self) -> None:
        if self._home < 0:
            _check(_libc.unshare(CLONE_FS), "unshare(CLONE_FS)")
            self._home = os.open("/proc/thread-self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)

    def _bind(self, pid: int, mounts: dict[str, str]) -> None:
        self._enter_thread()
        copies = {inside: _detached_copy(host) for inside, host in mounts.items()}
        target = os.open(f"/proc/{pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _check(_libc.setns(target, CLONE_NEWNS), "setns into the sandbox")
            try:
                for inside, fd in copies.items():
                    _check(
                        _libc.syscall(SYS_MOVE_MOUNT, fd, b"", AT_FDCWD, inside.encode(), MOVE_MOUNT_F_EMPTY_PATH),
                        f"move_mount on {inside}",
                    )
            finally:
                _check(_libc.setns(self._home, CLONE_NEWNS), "setns back")
        finally:
            os.close(target)
            for fd in copies.values():
                os.close(fd)

    async def bind(self, pid: int, mounts: dict[str, str]) -> None:
        """Mount each host directory of ``mounts`` (sandbox path -> host path) over that path in ``pid``'s view."""
        await asyncio.get_running_loop().run_in_executor(self._thread, self._bind, pid, mounts)

    def close(self) -> None:
        self._thread.shutdown(wait=False)
