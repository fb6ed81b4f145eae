"""Which Lambda architectures this host can run, found once by running a tiny program of each.

The host's own architecture always runs. The other one runs only under user-mode emulation: Debian's
``qemu-user-static`` registers itself with the kernel's ``binfmt_misc`` (through ``binfmt-support``), and
an executable of the foreign architecture then simply runs. Whether that works here (the package, the
registration, a container that lets binfmt_misc be mounted) is decided by trying: a 132-byte static ELF
that exits with status 42.
"""

from __future__ import annotations

import functools
import os
import platform
import struct
import subprocess
import tempfile

# Lambda's names -> (ELF e_machine, machine code of exit(42))
_EXIT_42 = {
    "x86_64": (0x3E, bytes.fromhex("bf2a000000b83c0000000f05")),  # mov edi,42; mov eax,60; syscall
    "arm64": (0xB7, struct.pack("<3I", 0xD2800540, 0xD2800BA8, 0xD4000001)),  # mov x0,#42; mov x8,#93; svc #0
}
_BASE = 0x400000


def host_architecture() -> str:
    machine = platform.machine()
    return "arm64" if machine in ("aarch64", "arm64") else machine


def _elf(machine: int, code: bytes) -> bytes:
    """A static executable of one program header whose whole file is loaded at ``_BASE``."""
    size = 64 + 56 + len(code)
    header = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    header += struct.pack("<HHIQQQIHHHHHH", 2, machine, 1, _BASE + 120, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    program = struct.pack("<IIQQQQQQ", 1, 5, 0, _BASE, _BASE, size, size, 0x1000)
    return header + program + code


def _runs(architecture: str) -> bool:
    machine, code = _EXIT_42[architecture]
    with tempfile.TemporaryDirectory(prefix="kindling-arch-") as folder:
        path = os.path.join(folder, "probe")
        with open(path, "wb") as handle:
            handle.write(_elf(machine, code))
        os.chmod(path, 0o755)
        try:
            return subprocess.run([path], timeout=20, capture_output=True).returncode == 42
        except (OSError, subprocess.SubprocessError):
            return False


@functools.cache
def runnable() -> frozenset[str]:
    """The architectures whose programs run here: the host's, and the other one if it is emulated."""
    host = host_architecture()
    return frozenset(arch for arch in _EXIT_42 if arch == host or _runs(arch))


def refusal(architecture: str) -> str | None:
    """Why a function of ``architecture`` cannot run here, or None. A foreign architecture needs emulation:
    a custom runtime's ``bootstrap`` then runs emulated; the managed runtimes run Kindling's runtime on the
    host's own interpreter (the handler's code is the same; a native module built for the other
    architecture would not load)."""
    host = host_architecture()
    if architecture == host or architecture in runnable():
        return None
    return (
        f"Architecture {architecture} cannot run on this {host} Kindling server: running it needs user-mode "
        "emulation (Debian's qemu-user-static and binfmt-support, with binfmt_misc available), which is missing."
    )
