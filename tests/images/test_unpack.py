"""Layers unpacked and stacked (``images/unpack.py``), on their own: the file system rules of OCI layers."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from kindling.images.unpack import LayerRefused, TooLarge, extract, stack


def _tar(*members: tuple[str, str, bytes | str]) -> io.BytesIO:
    """Members as (kind, name, content): ``file``, ``dir``, ``sym`` (content: target), ``link`` (hard), ``fifo``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for kind, name, content in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                assert isinstance(content, bytes)
                info.size, info.mode = len(content), 0o4755 if name.endswith("suid") else 0o644
                info.mtime = 1_600_000_000
                tar.addfile(info, io.BytesIO(content))
                continue
            info.type = {
                "dir": tarfile.DIRTYPE,
                "sym": tarfile.SYMTYPE,
                "link": tarfile.LNKTYPE,
                "fifo": tarfile.FIFOTYPE,
            }[kind]
            info.linkname = str(content)
            tar.addfile(info)
    buffer.seek(0)
    return buffer


def _unpacked(tmp_path: Path, name: str, *members: tuple[str, str, bytes | str]) -> Path:
    target = tmp_path / name
    target.mkdir()
    extract(_tar(*members), target, 1 << 20)
    return target


def test_layers_stack_with_whiteouts_opaque_directories_and_links(tmp_path: Path) -> None:
    lower = _unpacked(
        tmp_path,
        "lower",
        ("file", "a/one", b"1"),
        ("file", "a/two", b"2"),
        ("file", "b/three", b"3"),
        ("sym", "c", "/b"),
        ("file", "d/deep/four", b"4"),
        ("file", "suid", b"s"),
        ("fifo", "pipe", ""),
    )
    upper = _unpacked(
        tmp_path,
        "upper",
        ("file", "a/.wh.one", b""),
        ("file", "b/.wh..wh..opq", b""),
        ("file", "b/five", b"5"),
        ("dir", "c", ""),  # a directory where a link was
        ("file", "c/six", b"6"),
        ("file", ".wh.d", b""),  # a whole tree removed
        ("file", "seven", b"7"),
        ("link", "eight", "seven"),
    )
    root = tmp_path / "root"
    root.mkdir()
    stack([lower, upper], root)
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())
    assert files == ["a/two", "b/five", "c/six", "eight", "seven", "suid"]
    assert not (root / "c").is_symlink() and not (root / "pipe").exists()
    assert os.stat(root / "suid").st_mode & 0o7777 == 0o755  # set-uid dropped
    assert os.stat(root / "eight").st_ino == os.stat(upper / "seven").st_ino  # hard links, no copies
    assert os.stat(root / "a" / "two").st_ino == os.stat(lower / "a" / "two").st_ino
    assert os.stat(root / "seven").st_mtime == 1_600_000_000  # kept: a .pyc is only valid for its source's mtime


@pytest.mark.parametrize(
    "members",
    [
        [("file", "../outside", b"x")],
        [("file", "a/../../outside", b"x")],
        [("sym", "a", "/"), ("file", "a/outside", b"x")],
        [("sym", "a", "../.."), ("file", "a/outside", b"x")],
        [("link", "b", "../outside")],
        [("link", "b", "missing")],
    ],
)
def test_members_that_would_leave_the_layer_are_refused(tmp_path: Path, members: list) -> None:
    target = tmp_path / "layer"
    target.mkdir()
    with pytest.raises(LayerRefused):
        extract(_tar(*members), target, 1 << 20)
    assert not (tmp_path / "outside").exists() and not Path("/outside").exists()


def test_a_layer_over_its_budget_stops(tmp_path: Path) -> None:
    with pytest.raises(TooLarge):
        extract(_tar(("file", "big", b"x" * 2048)), tmp_path, 1024)
