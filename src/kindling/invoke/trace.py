"""The trace header an invocation runs under: the caller's, one hop further along its ``Lineage``.

Lambda hands every runtime the invocation's trace id (``Lambda-Runtime-Trace-Id``, then
``_X_AMZN_TRACE_ID``), and the AWS SDKs send it back on each call the handler makes. Counting the hops
here, once for every runtime, is what lets recursion detection stop a loop whatever language it runs in.
"""

from __future__ import annotations

import random
import time
import zlib


def lineage_hops(trace_header: str) -> int:
    """How many invocations the chain behind this trace header has been through (``Lineage=<id>:<n>``)."""
    for part in trace_header.split(";"):
        if part.strip().startswith("Lineage="):
            count = part.rpartition(":")[2]
            return int(count) if count.isdigit() else 0
    return 0


def next_hop(incoming: str, function_name: str) -> str:
    """The trace header for an invocation of ``function_name`` called with ``incoming`` (a new Root
    when the caller sent none)."""
    kept = [part for part in incoming.split(";") if part and not part.strip().startswith("Lineage=")]
    if not any(part.startswith("Root=") for part in kept):
        kept = [f"Root=1-{int(time.time()):08x}-{random.getrandbits(96):024x}", "Sampled=0", *kept]
    lineage = f"Lineage={zlib.crc32(function_name.encode()):08x}:{lineage_hops(incoming) + 1}"
    return ";".join([*kept, lineage])
