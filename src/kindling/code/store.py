"""Content-addressed storage of deployment packages and their unpacked trees.

Blobs are keyed by SHA-256 so identical uploads share one copy, and every write goes through a
``.tmp-*`` name followed by a rename: a crash can leave temporaries (``clean_temporaries``) but
never a half-written blob or tree under its final name.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kindling.code.archive import Entry, inspect_zip, scan
from kindling.errors import ServiceError

_HEX = re.compile(r"[0-9a-f]{64}")
_TMP = ".tmp-"
# Trees are bind-mounted read-only into sandboxes running as other uids, so they must be world
# readable; the store's own directories are traversable but not listable.
_DIR_MODE = 0o711
_TREE_DIR_MODE = 0o755


@dataclass(frozen=True)
class CodeRef:
    sha256_hex: str
    sha256_b64: str  # Lambda's CodeSha256
    size: int
    unzipped_size: int


def _mkdir(path: Path, mode: int) -> None:
    try:
        path.mkdir(mode=mode)
    except FileExistsError:
        return
    os.chmod(path, mode)  # mkdir's mode is filtered by the umask


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _ensure_dirs(base: Path, parts: tuple[str, ...]) -> Path:
    """Create ``base/parts...`` refusing to traverse anything that is not a real directory."""
    path = base
    for part in parts:
        path = path / part
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            raise ServiceError(f"Unsafe path while unpacking code: {path.relative_to(base)}")
        if not path.exists():
            path.mkdir()
            os.chmod(path, _TREE_DIR_MODE)
    return path


def _extract(zf: zipfile.ZipFile, entries: list[Entry], dest: Path) -> None:
    # Symlinks go last so that no file is ever written while a link exists in the tree.
    for entry in sorted(entries, key=lambda e: e.kind == "symlink"):
        parent = _ensure_dirs(dest, entry.parts[:-1])
        if entry.kind == "dir":
            _ensure_dirs(parent, entry.parts[-1:])
        elif entry.target is not None:
            os.symlink(entry.target, parent / entry.parts[-1])
        else:
            mode = 0o755 if entry.mode & 0o111 else 0o644
            fd = os.open(parent / entry.parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
            with os.fdopen(fd, "wb") as out, zf.open(entry.info) as src:
                shutil.copyfileobj(src, out, 1 << 20)
                os.fchmod(out.fileno(), mode)


class CodeStore:
    """Layout: ``root/blobs/<hex[:2]>/<hex>.zip`` and ``root/trees/<hex>/`` (unpacked)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._blobs = self.root / "blobs"
        self._trees = self.root / "trees"
        for path in (self.root, self._blobs, self._trees):
            path.mkdir(parents=True, exist_ok=True)
            os.chmod(path, _DIR_MODE)

    def blob_path(self, sha256_hex: str) -> Path:
        if not _HEX.fullmatch(sha256_hex):
            raise ValueError(f"not a lowercase SHA-256 hex digest: {sha256_hex!r}")
        return self._blobs / sha256_hex[:2] / f"{sha256_hex}.zip"

    def exists(self, sha256_hex: str) -> bool:
        return self.blob_path(sha256_hex).is_file()

    def put(self, data: bytes) -> CodeRef:
        """Validate and store a package; storing the same bytes again is a no-op."""
        info = inspect_zip(data)
        digest = hashlib.sha256(data).digest()
        ref = CodeRef(
            sha256_hex=digest.hex(),
            sha256_b64=base64.b64encode(digest).decode("ascii"),
            size=len(data),
            unzipped_size=info.unzipped_size,
        )
        path = self.blob_path(ref.sha256_hex)
        if path.exists():
            return ref
        _mkdir(path.parent, _DIR_MODE)
        fd, tmp = tempfile.mkstemp(prefix=_TMP, suffix=".zip", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)
        return ref

    def read(self, sha256_hex: str) -> bytes:
        """The stored zip; a missing blob means the caller's records are inconsistent."""
        try:
            return self.blob_path(sha256_hex).read_bytes()
        except FileNotFoundError:
            raise ServiceError(f"Code blob {sha256_hex} is missing") from None

    def tree(self, sha256_hex: str) -> Path:
        """The unpacked package, extracted on first use; concurrent callers may both extract."""
        final = self._trees / sha256_hex
        if final.is_dir():
            return final
        data = self.read(sha256_hex)
        tmp = Path(tempfile.mkdtemp(prefix=_TMP, dir=self._trees))
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                _extract(zf, scan(zf), tmp)
            os.chmod(tmp, _TREE_DIR_MODE)
            try:
                os.rename(tmp, final)
            except OSError:
                if not final.is_dir():
                    raise
                shutil.rmtree(tmp)  # another caller won the race
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    def remove(self, sha256_hex: str) -> None:
        """Delete blob and tree; the tree is renamed away first so no partial tree stays visible."""
        self.blob_path(sha256_hex).unlink(missing_ok=True)
        final = self._trees / sha256_hex
        doomed = Path(tempfile.mkdtemp(prefix=_TMP, dir=self._trees)) / "tree"
        with contextlib.suppress(FileNotFoundError):
            os.rename(final, doomed)
        shutil.rmtree(doomed.parent)

    def clean_temporaries(self) -> None:
        """Drop what an interrupted ``put``, ``tree`` or ``remove`` left behind."""
        for path in self._trees.glob(f"{_TMP}*"):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        for path in self._blobs.glob(f"*/{_TMP}*"):
            path.unlink()

    def collect(self, keep: set[str]) -> None:
        """Remove every package not in ``keep`` (and leftovers of interrupted writes)."""
        self.clean_temporaries()
        for blob in self._blobs.glob("*/*.zip"):
            if blob.stem not in keep:
                self.remove(blob.stem)
        for tree in self._trees.iterdir():
            if _HEX.fullmatch(tree.name) and tree.name not in keep:
                self.remove(tree.name)
