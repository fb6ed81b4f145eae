"""Layers unpacked safely, and layers stacked into a root file system.

A layer (a tar, compressed or not) is unpacked into a directory of its own, keeping its whiteout markers
(``.wh.NAME``, ``.wh..wh..opq``) as empty files; an image's root is then built by replaying its layers in order,
hard-linking their files (so images that share layers share the bytes) and applying the whiteouts. Nothing
here ever follows a link the image made: a name with ``..``, a file under a symbolic link, a hard link that
leaves the layer, are refused (``LayerRefused``); links themselves are kept as they are, for the sandbox,
where ``/`` is the image's root, to resolve.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
from pathlib import Path
from typing import IO

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
_COPY_CHUNK = 1 << 20


class LayerRefused(Exception):
    """A layer that cannot be unpacked safely (or exceeds the size allowed)."""


class TooLarge(LayerRefused):
    """The unpacked image grew past the limit."""


def _parts(name: str) -> tuple[str, ...]:
    """A member's path as components below the root; ``..`` anywhere is refused, ``/`` and ``.`` dropped."""
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise LayerRefused(f"the path {name!r} leaves the image's root")
    return parts


def _remove(path: Path) -> None:
    """Whatever is at ``path`` (a file, a link, a directory tree), gone; never following a link."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(path)
    else:
        path.unlink()


def _mode(path: Path) -> int:
    """``lstat``'s mode, 0 when nothing is there."""
    try:
        return os.lstat(path).st_mode
    except FileNotFoundError:
        return 0


def _is_dir(path: Path) -> bool:
    """A real directory (not a link to one)."""
    return stat.S_ISDIR(_mode(path))


def _directory(base: Path, parts: tuple[str, ...]) -> Path:
    """``base/parts…``, each component a real directory (created when missing); a link on the way is refused."""
    path = base
    for part in parts:
        path = path / part
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            os.mkdir(path)
            os.chmod(path, 0o755)  # not the umask's: the sandbox's uid must traverse it
            continue
        if not stat.S_ISDIR(mode):
            raise LayerRefused(f"{'/'.join(parts)} goes through a link or a file of the layer")
    return path


def extract(stream: IO[bytes], dest: Path, budget: int) -> int:
    """Unpack one layer read from ``stream`` into the empty ``dest``; returns the bytes of its files.
    ``TooLarge`` once they exceed ``budget``."""
    written = 0
    with tarfile.open(fileobj=stream, mode="r|*") as tar:
        for member in tar:
            parts = _parts(member.name)
            if not parts:
                continue
            parent = _directory(dest, parts[:-1])
            target = parent / parts[-1]
            if member.isdir():
                if not _is_dir(target):
                    _remove(target)
                target.mkdir(exist_ok=True)
                os.chmod(target, member.mode & 0o1777)
                continue
            _remove(target)
            if member.issym():
                os.symlink(member.linkname, target)
            elif member.islnk():
                link = _parts(member.linkname)
                source = _directory(dest, link[:-1]) / link[-1] if link else dest
                if not stat.S_ISREG(_mode(source)):
                    raise LayerRefused(f"the hard link {member.name!r} names no file of the layer")
                os.link(source, target)
            elif member.isreg():
                written += member.size
                if written > budget:
                    raise TooLarge("the image's files exceed the size allowed")
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as out:
                    source_file = tar.extractfile(member)
                    assert source_file is not None
                    shutil.copyfileobj(source_file, out, _COPY_CHUNK)
                    os.fchmod(out.fileno(), member.mode & 0o777)  # set-uid and set-gid bits are dropped
                    out.flush()  # before the mtime is set: a later write would change it again
                    os.utime(out.fileno(), (member.mtime, member.mtime))  # a .pyc is valid for its source's mtime
            # devices and fifos have no place in a function's root: skipped
    return written


def stack(layers: list[Path], dest: Path) -> None:
    """Build a root file system in the empty ``dest`` from unpacked layers, lowest first."""
    for layer in layers:
        _apply(layer, dest)


def _apply(source: Path, target: Path) -> None:
    """One directory of a layer over the same directory of the root being built (``target``, a real directory)."""
    names = os.listdir(source)
    if OPAQUE in names:  # what the layers below put here is hidden
        for name in os.listdir(target):
            _remove(target / name)
    for name in names:
        if name.startswith(WHITEOUT) and name != OPAQUE:
            _remove(target / name[len(WHITEOUT) :])
    for name in names:
        if name.startswith(WHITEOUT):
            continue
        here, there = source / name, target / name
        info = os.lstat(here)
        if stat.S_ISDIR(info.st_mode):
            if not _is_dir(there):
                _remove(there)
                os.mkdir(there)
            os.chmod(there, stat.S_IMODE(info.st_mode))
            _apply(here, there)
            continue
        _remove(there)
        if stat.S_ISLNK(info.st_mode):
            os.symlink(os.readlink(here), there)
        else:
            os.link(here, there)
