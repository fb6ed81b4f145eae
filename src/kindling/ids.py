"""Request ids in Lambda's form (random UUID version 4), made on the hot path without a syscall."""

from __future__ import annotations

import random

_VERSION_4 = (0x4 << 76) | (0x8 << 60)  # the version nibble and the RFC 4122 variant bits
_KEEP = ~((0xF << 76) | (0xC << 60)) & ((1 << 128) - 1)


def request_id() -> str:
    """``uuid.uuid4()`` reads ``os.urandom``; ids only need to be unique, so the PRNG will do."""
    digits = "%032x" % (random.getrandbits(128) & _KEEP | _VERSION_4)
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
