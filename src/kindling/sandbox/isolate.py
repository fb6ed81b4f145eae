"""Turns a freshly cloned child into an isolated execution environment.

Runs inside the fork server (standard library only, no threads), in a child that the kernel
already put into new mount, PID, IPC and UTS namespaces (and optionally a new network
namespace). As root it builds a new root file system on a tmpfs out of read-only binds,
pivots into it, mounts ``/proc`` for the new PID namespace, and finally drops to an
unprivileged uid with no capabilities and ``no_new_privs`` set. Nothing of the host is
visible afterwards except what ``Layout`` names.
"""

from __future__ import annotations

import ctypes
import os
import resource
from dataclasses import dataclass, field

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.syscall.restype = ctypes.c_long

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000

PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
PR_SET_PDEATHSIG = 1
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
SYS_PIVOT_ROOT = 155  # x86_64; aarch64 uses 41
if os.uname().machine in ("aarch64", "arm64"):
    SYS_PIVOT_ROOT = 41

DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
_DEV_LINKS = {
    "fd": "/proc/self/fd",
    "stdin": "/proc/self/fd/0",
    "stdout": "/proc/self/fd/1",
    "stderr": "/proc/self/fd/2",
}
ETC_FROM_HOST = ("resolv.conf", "hosts", "nsswitch.conf", "ssl", "ca-certificates", "localtime")


class IsolationError(OSError):
    pass


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise IsolationError(err, f"{what}: {os.strerror(err)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            flags,
            data.encode() if data else None,
        ),
        f"mount {source} on {target}",
    )


def bind(source: str, target: str, *, writable: bool = False) -> None:
    """Bind ``source`` on ``target``; read-only binds need a second remount call to stick."""
    mount(source, target, None, MS_BIND | MS_REC)
    flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | (0 if writable else MS_RDONLY)
    mount(None, target, None, flags)


@dataclass
class Layout:
    """What the sandbox sees: host paths bound at sandbox paths."""

    root: str  # an empty host directory used as the mount point of the new root tmpfs
    readonly: dict[str, str] = field(default_factory=dict)  # sandbox path -> host path
    writable: dict[str, str] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)  # sandbox path -> link target
    files: dict[str, str] = field(default_factory=dict)  # sandbox path -> content
    hostname: str = "localhost"
    base: str = ""  # a container image's root file system: shown at / instead of an empty tmpfs


def _image_root(scratch: str, image: str) -> str:
    """The image's root under a writable overlay on the scratch tmpfs, where mount points and Kindling's own
    files are made; the root is made read-only at the end like any other."""
    for name in ("upper", "work", "root"):
        os.mkdir(f"{scratch}/{name}", 0o755)
    options = f"lowerdir={image},upperdir={scratch}/upper,workdir={scratch}/work"
    mount("overlay", f"{scratch}/root", "overlay", MS_NOSUID | MS_NODEV, options)
    return f"{scratch}/root"


def _unlink_links(newroot: str, inside: str) -> None:
    """In an image's root, no link on the way to what is mounted or written: before the pivot, the image's links
    (absolute or with ``..``) would lead into the host's tree. The link is replaced, as Lambda's files are."""
    path = newroot
    for part in inside.strip("/").split("/"):
        path = f"{path}/{part}"
        if os.path.islink(path):
            os.unlink(path)


def _mkdirs(path: str) -> None:
    os.makedirs(path, mode=0o755, exist_ok=True)


def _prepare_target(newroot: str, inside: str, host: str, image: bool = False) -> str:
    if image:
        _unlink_links(newroot, inside)
    target = newroot + inside
    if os.path.isdir(host):
        _mkdirs(target)
    else:
        _mkdirs(os.path.dirname(target))
        if not os.path.exists(target):
            with open(target, "w"):
                pass
    return target


def build_root(layout: Layout) -> None:
    """Assemble the new root and pivot into it. Must run as root in a new mount namespace."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    newroot = layout.root
    mount("tmpfs", newroot, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    image = bool(layout.base)
    if image:
        newroot = _image_root(newroot, layout.base)
        for inside in ("/proc", *layout.files, *(f"/dev/{name}" for name in (*DEVICES, *_DEV_LINKS))):
            _unlink_links(newroot, inside)
    for inside, host in sorted(layout.readonly.items()):
        bind(host, _prepare_target(newroot, inside, host, image))
    for inside, host in sorted(layout.writable.items()):
        bind(host, _prepare_target(newroot, inside, host, image), writable=True)
    for inside, target in layout.symlinks.items():
        _mkdirs(os.path.dirname(newroot + inside))
        os.symlink(target, newroot + inside)
    _mkdirs(newroot + "/dev")
    for name in DEVICES:
        if os.path.exists("/dev/" + name):
            path = newroot + "/dev/" + name
            with open(path, "w"):
                pass
            mount("/dev/" + name, path, None, MS_BIND)
    for name, target in _DEV_LINKS.items():
        os.symlink(target, f"{newroot}/dev/{name}")
    for name in ETC_FROM_HOST[:2] if image else ETC_FROM_HOST:  # an image brings its own but the network's
        host = "/etc/" + name
        if os.path.exists(host) and "/etc/" + name not in layout.readonly:
            bind(os.path.realpath(host), _prepare_target(newroot, "/etc/" + name, os.path.realpath(host), image))
    for inside, content in layout.files.items():
        _mkdirs(os.path.dirname(newroot + inside))
        with open(newroot + inside, "w") as handle:
            handle.write(content)
    _mkdirs(newroot + "/proc")
    os.chdir(newroot)
    _check(_libc.syscall(SYS_PIVOT_ROOT, b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "detach old root")
    os.chdir("/")
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _libc.sethostname(layout.hostname.encode(), len(layout.hostname))


def _drop_bounding_set() -> None:
    cap = 0
    while _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0:
        cap += 1


def drop_privileges(uid: int, gid: int, max_files: int = 1024) -> None:
    """Become ``uid`` with an empty capability set, for good (no_new_privs, empty bounding set)."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (max_files, max_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if os.getuid() == 0:
        _drop_bounding_set()
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def drop_capabilities() -> None:
    """Empty every capability set (bounding and ambient included): what a process gained by making
    its own user namespace must be gone before any user code runs."""
    _drop_bounding_set()
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    _check(_libc.capset(header, (ctypes.c_uint32 * 6)()), "capset")


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def namespace_flags(network: bool) -> int:
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    return flags if network else flags | CLONE_NEWNET
