"""Validation of Lambda deployment packages (zip files).

Uploads are hostile until proven otherwise: this module rejects corrupt archives, entries or
symlinks that would land outside the package directory, and zip bombs, before a single byte
is written to disk. ``scan`` is shared with the extractor so both apply the very same rules.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from typing import Literal

from kindling.errors import InvalidParameterValue, ValidationError
from kindling.limits import UNZIPPED_MAX

_UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."
_CHUNK = 1 << 20
_MAX_LINK_TARGET = 4096
_MAX_LINK_HOPS = 40  # the kernel's own limit for one path lookup
_DRIVE = re.compile(r"[A-Za-z]:")
# What zipfile and zlib raise on damaged input (bad CRC, truncated data, encryption, ...).
_CORRUPT = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError)

Kind = Literal["file", "dir", "symlink"]


@dataclass(frozen=True)
class ArchiveInfo:
    unzipped_size: int
    file_count: int
    names: tuple[str, ...]


@dataclass(frozen=True)
class Entry:
    """One member as it will exist on disk; ``target`` is set for symlinks only."""

    info: zipfile.ZipInfo
    parts: tuple[str, ...]
    kind: Kind
    mode: int
    target: str | None = None

    @property
    def name(self) -> str:
        return "/".join(self.parts)


def _outside(name: str, why: str = "points outside the package") -> InvalidParameterValue:
    return InvalidParameterValue(f"Could not unzip uploaded file: entry {name!r} {why}.")


def _split(path: str) -> list[str] | None:
    """Relative path components, or None if the path is absolute or climbs with ``..``."""
    path = path.replace("\\", "/")
    if path.startswith("/") or _DRIVE.match(path):
        return None
    parts = [p for p in path.split("/") if p not in ("", ".")]
    return None if ".." in parts else parts


def _kind(info: zipfile.ZipInfo, mode: int) -> Kind:
    if info.filename.replace("\\", "/").endswith("/") or stat.S_ISDIR(mode):
        return "dir"
    return "symlink" if stat.S_ISLNK(mode) else "file"


def _read_target(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    with zf.open(info) as f:
        raw = f.read(_MAX_LINK_TARGET + 1)
    if not raw or len(raw) > _MAX_LINK_TARGET or b"\0" in raw:
        raise _outside(info.filename, "is a symlink with an invalid target")
    try:
        # Stored with forward slashes so the kernel and ``_stays_inside`` see the same path.
        return raw.decode().replace("\\", "/")
    except UnicodeDecodeError:
        raise _outside(info.filename, "is a symlink with an invalid target") from None


def _stays_inside(start: list[str], links: dict[tuple[str, ...], str], name: str) -> bool:
    """Resolve ``start`` like the kernel would, following the archive's own symlinks.

    Lexical normalisation alone is not enough: with ``d -> .`` the target ``d/..`` looks
    harmless but really is the package's parent.
    """
    pending = list(reversed(start))
    resolved: list[str] = []
    hops = 0
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                return False
            resolved.pop()
            continue
        resolved.append(part)
        target = links.get(tuple(resolved))
        if target is None:
            continue
        hops += 1
        if hops > _MAX_LINK_HOPS:
            raise _outside(name, "is part of a symlink loop")
        resolved.pop()
        if target.startswith("/"):
            return False
        pending.extend(reversed(target.split("/")))
    return True


def scan(zf: zipfile.ZipFile) -> list[Entry]:
    """Check every member's path and symlink target; return the entries extraction must write.

    Duplicate names collapse to the last member, as an extractor overwriting in order would.
    Entries below a symlink, or files where a directory must be, are rejected: extracting them
    would write through the link or fail half way.
    """
    final: dict[tuple[str, ...], Entry] = {}
    for info in zf.infolist():
        parts = _split(info.filename)
        if parts is None:
            raise _outside(info.filename)
        if not parts:
            continue
        mode = info.external_attr >> 16
        kind = _kind(info, mode)
        target = _read_target(zf, info) if kind == "symlink" else None
        key = tuple(parts)
        final.pop(key, None)  # re-insert so the order is that of the last occurrence
        final[key] = Entry(info, key, kind, mode, target)

    dirs = {e.parts[:i] for e in final.values() for i in range(1, len(e.parts))}
    links = {e.parts: e.target for e in final.values() if e.target is not None}
    for entry in final.values():
        if any(entry.parts[:i] in links for i in range(1, len(entry.parts))):
            raise _outside(entry.info.filename, "lies below a symlink")
    for entry in final.values():
        if entry.kind != "dir" and entry.parts in dirs:
            raise _outside(entry.info.filename, "conflicts with a directory of the same name")
        target = entry.target
        if target is not None and (
            target.startswith("/")
            or _DRIVE.match(target)
            or not _stays_inside([*entry.parts[:-1], *target.split("/")], links, entry.info.filename)
        ):
            raise _outside(entry.info.filename)
    return list(final.values())


def _too_large(limit: int) -> InvalidParameterValue:
    return InvalidParameterValue(f"Unzipped size must be smaller than {limit} bytes")


def inspect_zip(data: bytes, max_unzipped: int = UNZIPPED_MAX) -> ArchiveInfo:
    """Validate a deployment package entirely in memory and measure its real unzipped size.

    Every member is decompressed in streaming fashion, so header sizes that lie and CRC
    errors are caught here rather than during extraction.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = zf.infolist()
            if sum(info.file_size for info in members) > max_unzipped:
                raise _too_large(max_unzipped)
            entries = scan(zf)
            total = 0
            for info in members:
                with zf.open(info) as f:
                    while chunk := f.read(_CHUNK):
                        total += len(chunk)
                        if total > max_unzipped:
                            raise _too_large(max_unzipped)
    except _CORRUPT:
        raise InvalidParameterValue(_UNZIP_FAILED) from None
    names = tuple(e.name for e in entries if e.kind != "dir")
    return ArchiveInfo(unzipped_size=total, file_count=len(names), names=names)


def zip_bytes(value: str | bytes) -> bytes:
    """A ``ZipFile`` member as the API received it: bytes already, or base64 text from a JSON body."""
    if isinstance(value, bytes):
        return value
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValidationError(f"Could not decode base64 data: {error}") from None
