from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Callable

import pytest

from kindling.code.archive import inspect_zip
from kindling.errors import InvalidParameterValue

MakeZip = Callable[[list[tuple[str, bytes | str, int]]], bytes]
LINK = stat.S_IFLNK | 0o777
FILE = stat.S_IFREG | 0o644
UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."


def test_valid_package_with_nested_dirs(make_zip: MakeZip) -> None:
    data = make_zip(
        [
            ("lib/", b"", stat.S_IFDIR | 0o755),
            ("lib/pkg/mod.py", b"x = 1\n", FILE),
            ("bin/run", b"#!/bin/sh\n", stat.S_IFREG | 0o755),
            ("index.py", b"def handler(e, c): return e\n", FILE),
        ]
    )
    info = inspect_zip(data)
    assert info.names == ("lib/pkg/mod.py", "bin/run", "index.py")
    assert info.file_count == 3
    assert info.unzipped_size == 6 + 10 + 28


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_duplicates_counted_but_listed_once(make_zip: MakeZip) -> None:
    info = inspect_zip(make_zip([("a.py", b"1234", FILE), ("a.py", b"12", FILE)]))
    assert info.names == ("a.py",)
    assert info.unzipped_size == 6


@pytest.mark.parametrize("data", [b"", b"definitely not a zip", b"PK\x03\x04" + bytes(40)])
def test_not_a_zip(data: bytes) -> None:
    with pytest.raises(InvalidParameterValue) as exc:
        inspect_zip(data)
    assert exc.value.message == UNZIP_FAILED


def test_bad_crc_detected() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("a.txt", b"hello world")
    data = buf.getvalue().replace(b"hello world", b"jello world")
    with pytest.raises(InvalidParameterValue, match="Please check your file"):
        inspect_zip(data)


@pytest.mark.parametrize("name", ["../x", "a/../../x", "a/b/../../../x", "..\\x", "/etc/passwd", "\\x", "C:/x", "c:x"])
def test_entries_outside_package(make_zip: MakeZip, name: str) -> None:
    with pytest.raises(InvalidParameterValue) as exc:
        inspect_zip(make_zip([(name, b"x", FILE)]))
    assert exc.value.message.startswith("Could not unzip uploaded file: entry ")
    assert repr(name) in exc.value.message
    assert "outside the package" in exc.value.message


def test_harmless_dot_components_allowed(make_zip: MakeZip) -> None:
    assert inspect_zip(make_zip([("./a//b/./c.py", b"", FILE), ("d\\e.py", b"", FILE)])).names == (
        "a/b/c.py",
        "d/e.py",
    )


@pytest.mark.parametrize(
    "members",
    [
        [("evil", "/etc/passwd", LINK)],
        [("evil", "..", LINK)],
        [("a/evil", "../../x", LINK)],
        [("a/evil", "b/../../..", LINK)],
        [("evil", "C:/Windows", LINK)],
        [("evil", "..\\x", LINK)],
        # Lexically ``d/..`` is the root, but ``d`` is the root already, so this is its parent.
        [("d", ".", LINK), ("evil", "d/..", LINK)],
        [("a/up", "..", LINK), ("a/evil", "up/..", LINK)],
        [("loop1", "loop2", LINK), ("loop2", "loop1", LINK)],
        [("empty", "", LINK)],
        [("nul", "a\0b", LINK)],
    ],
)
def test_symlinks_escaping(make_zip: MakeZip, members: list[tuple[str, bytes | str, int]]) -> None:
    with pytest.raises(InvalidParameterValue, match=r"^Could not unzip uploaded file: entry '"):
        inspect_zip(make_zip(members))


def test_symlinks_inside_allowed(make_zip: MakeZip) -> None:
    members = [
        ("lib/real.py", b"x", FILE),
        ("lib/alias.py", "real.py", LINK),
        ("top.py", "lib/real.py", LINK),
        ("lib/up", "..", LINK),
        ("lib/via", "up/lib/real.py", LINK),
        ("dangling", "missing/file", LINK),
    ]
    assert inspect_zip(make_zip(members)).file_count == 6


def test_entry_below_symlink_rejected(make_zip: MakeZip) -> None:
    with pytest.raises(InvalidParameterValue, match="below a symlink"):
        inspect_zip(make_zip([("d", "sub", LINK), ("sub/", b"", stat.S_IFDIR | 0o755), ("d/x", b"", FILE)]))


def test_file_where_directory_needed_rejected(make_zip: MakeZip) -> None:
    with pytest.raises(InvalidParameterValue, match="conflicts with a directory"):
        inspect_zip(make_zip([("a", b"", FILE), ("a/b", b"", FILE)]))


def test_declared_size_over_limit(make_zip: MakeZip) -> None:
    data = make_zip([("a", bytes(600), FILE), ("b", bytes(600), FILE)])
    assert inspect_zip(data, max_unzipped=1200).unzipped_size == 1200
    with pytest.raises(InvalidParameterValue) as exc:
        inspect_zip(data, max_unzipped=1000)
    assert exc.value.message == "Unzipped size must be smaller than 1000 bytes"


def test_lying_header_cannot_hide_size() -> None:
    """A member whose headers claim 10 bytes but whose stream inflates to 10 MB is not accepted."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big", bytes(10 << 20))
    data = bytearray(buf.getvalue())
    real = (10 << 20).to_bytes(4, "little")
    assert data.count(real) == 2  # local header and central directory
    data[:] = data.replace(real, (10).to_bytes(4, "little"))
    with pytest.raises(InvalidParameterValue):
        inspect_zip(bytes(data), max_unzipped=1000)


def test_zip_bomb_rejected(bomb: bytes) -> None:
    assert len(bomb) < 1 << 20
    with pytest.raises(InvalidParameterValue) as exc:
        inspect_zip(bomb)
    assert exc.value.message == "Unzipped size must be smaller than 262144000 bytes"
