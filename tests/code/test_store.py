from __future__ import annotations

import base64
import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kindling.code import store as store_module
from kindling.code.store import CodeStore
from kindling.errors import InvalidParameterValue, ServiceError

MakeZip = Callable[[list[tuple[str, bytes | str, int]]], bytes]
LINK = stat.S_IFLNK | 0o777


@pytest.fixture
def package(make_zip: MakeZip) -> bytes:
    return make_zip(
        [
            ("lib/", b"", stat.S_IFDIR | 0o700),
            ("lib/pkg/mod.py", b"x = 1\n", stat.S_IFREG | 0o600),
            ("bin/run", b"#!/bin/sh\necho hi\n", stat.S_IFREG | 0o744),
            ("index.py", b"def handler(e, c):\n    return e\n", stat.S_IFREG | 0o664),
            ("lib/alias.py", "pkg/mod.py", LINK),
        ]
    )


@pytest.fixture
def strict_umask() -> Iterator[None]:
    """Trees must be readable by other uids whatever the server's umask is."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _blob_files(root: Path) -> list[Path]:
    return [p for p in (root / "blobs").rglob("*") if p.is_file()]


@pytest.mark.usefixtures("strict_umask")
def test_layout_directories_not_listable(tmp_path: Path) -> None:
    root = tmp_path / "code"
    CodeStore(root)
    assert [_mode(p) for p in (root, root / "blobs", root / "trees")] == [0o711] * 3


def test_put_computes_code_sha256(tmp_path: Path, package: bytes) -> None:
    store = CodeStore(tmp_path)
    ref = store.put(package)
    digest = hashlib.sha256(package).digest()
    assert ref.sha256_hex == digest.hex()
    assert ref.sha256_b64 == base64.b64encode(digest).decode()
    assert len(ref.sha256_b64) == 44
    assert ref.size == len(package)
    assert ref.unzipped_size == 6 + 18 + 32 + 10
    assert store.blob_path(ref.sha256_hex) == tmp_path / "blobs" / ref.sha256_hex[:2] / f"{ref.sha256_hex}.zip"
    assert store.exists(ref.sha256_hex)
    assert store.read(ref.sha256_hex) == package


def test_put_is_idempotent(tmp_path: Path, package: bytes) -> None:
    store = CodeStore(tmp_path)
    first = store.put(package)
    before = store.blob_path(first.sha256_hex).stat()
    assert store.put(package) == first
    after = store.blob_path(first.sha256_hex).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert _blob_files(tmp_path) == [store.blob_path(first.sha256_hex)]


def test_bad_input_writes_nothing(tmp_path: Path, make_zip: MakeZip, bomb: bytes) -> None:
    store = CodeStore(tmp_path)
    for data in (b"not a zip", make_zip([("../evil", b"x", stat.S_IFREG | 0o644)])):
        with pytest.raises(InvalidParameterValue, match=r"^Could not unzip uploaded file"):
            store.put(data)
    with pytest.raises(InvalidParameterValue, match=r"^Unzipped size must be smaller than 262144000 bytes$"):
        store.put(bomb)
    assert list((tmp_path / "blobs").iterdir()) == []


@pytest.mark.usefixtures("strict_umask")
def test_tree_is_unpacked_with_portable_permissions(tmp_path: Path, package: bytes) -> None:
    store = CodeStore(tmp_path)
    ref = store.put(package)
    tree = store.tree(ref.sha256_hex)
    assert tree == tmp_path / "trees" / ref.sha256_hex
    assert (tree / "index.py").read_text() == "def handler(e, c):\n    return e\n"
    assert os.readlink(tree / "lib" / "alias.py") == "pkg/mod.py"
    assert (tree / "lib" / "alias.py").read_text() == "x = 1\n"
    for path in (tree, tree / "lib", tree / "lib" / "pkg", tree / "bin"):
        assert _mode(path) == 0o755, path
    assert _mode(tree / "bin" / "run") == 0o755
    assert _mode(tree / "index.py") == 0o644
    assert _mode(tree / "lib" / "pkg" / "mod.py") == 0o644
    assert store.tree(ref.sha256_hex) == tree
    assert not list((tmp_path / "trees").glob(".tmp-*"))


def test_tree_race_loser_discards_its_copy(tmp_path: Path, package: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    store = CodeStore(tmp_path)
    ref = store.put(package)
    extract = store_module._extract

    def extract_then_lose(*args: object) -> None:
        extract(*args)  # type: ignore[arg-type]
        monkeypatch.setattr(store_module, "_extract", extract)
        CodeStore(tmp_path).tree(ref.sha256_hex)

    monkeypatch.setattr(store_module, "_extract", extract_then_lose)
    tree = store.tree(ref.sha256_hex)
    assert (tree / "bin" / "run").is_file()
    assert sorted(p.name for p in (tmp_path / "trees").iterdir()) == [ref.sha256_hex]


def test_remove(tmp_path: Path, package: bytes) -> None:
    store = CodeStore(tmp_path)
    ref = store.put(package)
    store.tree(ref.sha256_hex)
    store.remove(ref.sha256_hex)
    assert not store.exists(ref.sha256_hex)
    assert list((tmp_path / "trees").iterdir()) == []
    store.remove(ref.sha256_hex)  # already gone: no error


def test_missing_and_malformed_digests(tmp_path: Path) -> None:
    store = CodeStore(tmp_path)
    missing = "0" * 64
    assert not store.exists(missing)
    with pytest.raises(ServiceError):
        store.read(missing)
    with pytest.raises(ServiceError):
        store.tree(missing)
    with pytest.raises(ValueError):
        store.blob_path("../" + "0" * 61)


def test_clean_temporaries(tmp_path: Path, package: bytes) -> None:
    store = CodeStore(tmp_path)
    ref = store.put(package)
    tree = store.tree(ref.sha256_hex)
    half_tree = tmp_path / "trees" / ".tmp-crashed"
    (half_tree / "lib").mkdir(parents=True)
    (half_tree / "lib" / "x.py").write_bytes(b"")
    half_blob = store.blob_path(ref.sha256_hex).with_name(".tmp-crashed.zip")
    half_blob.write_bytes(b"PK")
    store.clean_temporaries()
    assert not half_tree.exists()
    assert not half_blob.exists()
    assert store.read(ref.sha256_hex) == package
    assert (tree / "index.py").is_file()
