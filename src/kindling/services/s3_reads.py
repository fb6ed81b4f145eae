"""Large S3 objects read without loading them: moto answers a ``GetObject`` with the whole body in memory,
so a plain GET of an object whose body moto has spooled to disk is answered as moto's HEAD (the same
headers, checks and errors) followed by the body read from a duplicate of the spool's descriptor, in
chunks. The duplicate keeps the data readable even if the object is replaced meanwhile, as an S3 read that
began before a PUT would. Anything else (ranges, sub-resources, small or virtual-hosted objects) takes the
ordinary path.
"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import parse_qsl, unquote

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_QUERY_PREFIXES = ("versionId", "X-Amz-", "AWSAccessKeyId", "Signature", "Expires", "response-", "x-id")
CHUNK = 1 << 20


def streamable(call: Any) -> bool:
    """A plain path-style GET of one object (the only kind answered by streaming)."""
    if call.service != "s3" or call.method != "GET" or call.path.count("/") < 2 or call.path.endswith("/"):
        return False
    for name, value in call.headers:
        lowered = name.lower()
        if lowered == "range" and not _RANGE.fullmatch(value.strip()):
            return False  # several ranges, or a malformed one: moto answers those
        if lowered == "host" and ".s3." in value:
            return False
    return all(name.startswith(_QUERY_PREFIXES) for name, _ in parse_qsl(call.query, keep_blank_values=True))


def open_body(account_id: str, call: Any) -> tuple[int, int] | None:
    """(a descriptor of the object's body, its size) when moto keeps the body in a file, else None.
    Called in the services' thread, right after the HEAD that checked the request."""
    from moto.s3.models import s3_backends  # moto is imported once the services are used

    bucket, _, key = call.path[1:].partition("/")
    version = dict(parse_qsl(call.query)).get("versionId")
    try:
        found = s3_backends[account_id]["aws"].get_object(unquote(bucket), unquote(key), version)
    except Exception:  # gone since the HEAD, or a delete marker: the ordinary path answers it
        return None
    buffer = getattr(found, "_value_buffer", None)
    if found is None or buffer is None or not getattr(buffer, "_rolled", False):
        return None
    with found.lock:
        return os.dup(buffer.fileno()), found.size


def byte_range(call: Any, size: int) -> tuple[int, int] | None:
    """The [first, last] bytes a single-range GET asks for (the whole object without a Range header);
    None when the range cannot be satisfied (moto then answers the 416)."""
    value = next((v.strip() for k, v in call.headers if k.lower() == "range"), "")
    if not value:
        return 0, size - 1
    match = _RANGE.fullmatch(value)
    assert match is not None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    return (start, end) if start <= end and start < size else None


def without_range(call: Any) -> Any:
    """The same request without its Range header: the HEAD that checks it must describe the whole object."""
    from dataclasses import replace

    return replace(call, method="HEAD", headers=[(k, v) for k, v in call.headers if k.lower() != "range"])
