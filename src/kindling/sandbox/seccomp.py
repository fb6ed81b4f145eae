"""A seccomp-bpf filter for every execution environment: the system calls a function never needs and an
escape would (new namespaces, mounts, ptrace, kernel modules, kexec, BPF, perf, keyrings, swap, reboot,
handles to host files, userfaultfd…) fail with ``EPERM``; everything else is allowed. Docker's default
profile is the reference.

The BPF program is written here, standard library only: the fork server loads this module by path in
every runtime's own interpreter (3.11, 3.12, 3.13), where libseccomp's Python binding (Debian's
``python3-seccomp``, built for the system's Python 3.11 alone) cannot be imported.

A SnapStart template installs the ``template`` variant before any function code runs: the same rules, except
that ``unshare`` with exactly the namespaces its keepers make and ``mount`` with exactly the flags of their
``/tmp`` and ``/proc`` stay open. Each environment forked from it installs the strict filter on top before
the handler runs (filters stack; the stricter answer wins).
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_NR, _ARCH = 0, 4
CLONE_NEW_ANY = 0x7E020000  # NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
X32_BIT = 0x40000000

# name -> (x86_64, aarch64)
DENIED: dict[str, tuple[int, int]] = {
    "unshare": (272, 97),
    "setns": (308, 268),
    "mount": (165, 40),
    "umount2": (166, 39),
    "pivot_root": (155, 41),
    "open_tree": (428, 428),
    "move_mount": (429, 429),
    "fsopen": (430, 430),
    "fsconfig": (431, 431),
    "fsmount": (432, 432),
    "fspick": (433, 433),
    "mount_setattr": (442, 442),
    "ptrace": (101, 117),
    "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271),
    "kcmp": (312, 272),
    "kexec_load": (246, 104),
    "kexec_file_load": (320, 294),
    "bpf": (321, 280),
    "perf_event_open": (298, 241),
    "keyctl": (250, 219),
    "add_key": (248, 217),
    "request_key": (249, 218),
    "init_module": (175, 105),
    "finit_module": (313, 273),
    "delete_module": (176, 106),
    "swapon": (167, 224),
    "swapoff": (168, 225),
    "reboot": (169, 142),
    "open_by_handle_at": (304, 265),
    "name_to_handle_at": (303, 264),
    "userfaultfd": (323, 282),
    "acct": (163, 89),
    "quotactl": (179, 60),
    "settimeofday": (164, 170),
    "clock_settime": (227, 112),
    "clock_adjtime": (305, 266),
    "adjtimex": (159, 171),
    "syslog": (103, 116),
    "sethostname": (170, 161),
    "setdomainname": (171, 162),
}
CLONE, CLONE3 = (56, 220), (435, 435)
_ARCHES = {"x86_64": (0, 0xC000003E), "aarch64": (1, 0xC00000B7), "arm64": (1, 0xC00000B7)}


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def _arg(index: int) -> bytes:
    """Load the low 32 bits of a syscall argument (little-endian ``seccomp_data.args[index]``)."""
    return _op(_LD_W_ABS, 16 + 8 * index)


def _one_of(values: tuple[int, ...], arg: int) -> list[bytes]:
    """Allow when argument ``arg`` is one of ``values``, else EPERM."""
    block = [_arg(arg)]
    block += [_op(_JEQ, value, len(values) - i, 0) for i, value in enumerate(values)]
    return [*block, _op(_RET, RET_ERRNO | errno.EPERM), _op(_RET, RET_ALLOW)]


def program(machine: str, unshare_flags: tuple[int, ...] = (), mount_flags: tuple[int, ...] = ()) -> bytes:
    """The filter as BPF bytes. With ``unshare_flags``/``mount_flags`` (the template variant), those exact
    calls are allowed and every other ``unshare``/``mount`` is not."""
    column, arch = _ARCHES[machine]
    deny = _op(_RET, RET_ERRNO | errno.EPERM)
    code = [_op(_LD_W_ABS, _ARCH), _op(_JEQ, arch, 1, 0), deny, _op(_LD_W_ABS, _NR)]
    if column == 0:
        code += [_op(_JGE, X32_BIT, 0, 1), deny]  # the x32 ABI's numbers would slip past the table
    opened = {"unshare": (unshare_flags, 0), "mount": (mount_flags, 3)}
    for name, numbers in DENIED.items():
        values, arg = opened.get(name, ((), 0))
        if values:
            block = _one_of(values, arg)
            code += [_op(_JEQ, numbers[column], 0, len(block)), *block]
        else:
            code += [_op(_JEQ, numbers[column], 0, 1), deny]
    code += [_op(_JEQ, CLONE3[column], 0, 1), _op(_RET, RET_ERRNO | errno.ENOSYS)]  # flags out of reach: clone
    code += [_op(_JEQ, CLONE[column], 0, 4), _arg(0), _op(_JSET, CLONE_NEW_ANY, 0, 1), deny, _op(_RET, RET_ALLOW)]
    return b"".join([*code, _op(_RET, RET_ALLOW)])


class _Filter(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def confine(unshare_flags: tuple[int, ...] = (), mount_flags: tuple[int, ...] = ()) -> None:
    """Install the filter on this process and its future children, for good. Needs ``no_new_privs`` (set by
    ``isolate.drop_privileges``) or CAP_SYS_ADMIN."""
    machine = os.uname().machine
    if machine not in _ARCHES:
        raise OSError(errno.ENOSYS, f"no seccomp filter for {machine}")
    code = program(machine, unshare_flags, mount_flags)
    buffer = ctypes.create_string_buffer(code, len(code))
    prog = _Filter(len(code) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "seccomp filter")
