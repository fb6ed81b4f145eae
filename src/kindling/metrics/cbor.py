"""The CBOR subset the ``smithy-rpc-v2-cbor`` protocol uses (RFC 8949): what current boto3 and the AWS CLI
speak to CloudWatch. Timestamps travel as tag 1 (epoch seconds); here they decode to ``Timestamp``."""

from __future__ import annotations

import struct
from typing import Any


class Timestamp(float):
    """Epoch seconds that encode as a timestamp (tag 1 in CBOR, a number in JSON)."""


class CborError(ValueError):
    pass


def _head(major: int, value: int) -> bytes:
    if value < 24:
        return bytes([major << 5 | value])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if value < 1 << (8 * size):
            return bytes([major << 5 | info]) + value.to_bytes(size, "big")
    raise CborError("integer too large")


def encode(value: Any) -> bytes:
    out = bytearray()
    _encode(value, out)
    return bytes(out)


def _encode(value: Any, out: bytearray) -> None:
    if value is None:
        out.append(0xF6)
    elif value is True or value is False:
        out.append(0xF5 if value else 0xF4)
    elif isinstance(value, Timestamp):
        out += _head(6, 1) + b"\xfb" + struct.pack(">d", float(value))
    elif isinstance(value, int):
        out += _head(0, value) if value >= 0 else _head(1, -1 - value)
    elif isinstance(value, float):
        out += b"\xfb" + struct.pack(">d", value)
    elif isinstance(value, str):
        data = value.encode()
        out += _head(3, len(data)) + data
    elif isinstance(value, bytes | bytearray):
        out += _head(2, len(value)) + value
    elif isinstance(value, list | tuple):
        out += _head(4, len(value))
        for item in value:
            _encode(item, out)
    elif isinstance(value, dict):
        out += _head(5, len(value))
        for key, item in value.items():
            _encode(str(key), out)
            _encode(item, out)
    else:
        raise CborError(f"cannot encode {type(value).__name__}")


def decode(data: bytes) -> Any:
    if not data:
        return {}
    value, end = _decode(data, 0)
    if end != len(data):
        raise CborError("trailing bytes")
    return value


_BREAK = object()


def _length(data: bytes, pos: int, info: int) -> tuple[int | None, int]:
    if info < 24:
        return info, pos
    if info == 31:
        return None, pos  # indefinite length
    size = {24: 1, 25: 2, 26: 4, 27: 8}.get(info)
    if size is None or pos + size > len(data):
        raise CborError("malformed length")
    return int.from_bytes(data[pos : pos + size], "big"), pos + size


def _decode(data: bytes, pos: int) -> tuple[Any, int]:
    if pos >= len(data):
        raise CborError("truncated")
    initial = data[pos]
    major, info = initial >> 5, initial & 31
    pos += 1
    if major == 7:
        return _simple(data, pos, info)
    length, pos = _length(data, pos, info)
    if major == 0:
        return length, pos
    if major == 1:
        return -1 - (length or 0), pos
    if major in (2, 3):
        if length is None:
            chunks = []
            while data[pos] != 0xFF:
                chunk, pos = _decode(data, pos)
                chunks.append(chunk)
            joined = "".join(chunks) if major == 3 else b"".join(chunks)
            return joined, pos + 1
        raw = data[pos : pos + length]
        if len(raw) != length:
            raise CborError("truncated")
        return (raw.decode() if major == 3 else bytes(raw)), pos + length
    if major == 4:
        items: list[Any] = []
        while length is None or len(items) < length:
            item, pos = _decode(data, pos)
            if item is _BREAK:
                break
            items.append(item)
        return items, pos
    if major == 5:
        mapping: dict[Any, Any] = {}
        while length is None or len(mapping) < length:
            key, pos = _decode(data, pos)
            if key is _BREAK:
                break
            mapping[key], pos = _decode(data, pos)
        return mapping, pos
    tagged, pos = _decode(data, pos)  # major 6: a tag; tag 1 is a timestamp
    return (Timestamp(tagged) if length == 1 else tagged), pos


def _simple(data: bytes, pos: int, info: int) -> tuple[Any, int]:
    if info in (20, 21):
        return info == 21, pos
    if info in (22, 23):
        return None, pos
    if info == 31:
        return _BREAK, pos
    formats = {25: (">e", 2), 26: (">f", 4), 27: (">d", 8)}
    if info not in formats:
        raise CborError("unsupported simple value")
    fmt, size = formats[info]
    if pos + size > len(data):
        raise CborError("truncated")
    return struct.unpack(fmt, data[pos : pos + size])[0], pos + size
