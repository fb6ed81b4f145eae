"""Builders for in-memory deployment packages shared by the code-store tests."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import pytest

Member = tuple[str, bytes | str, int]  # name, content (symlink target for links), Unix mode


def build_zip(members: list[Member]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content, mode in members:
            info = zipfile.ZipInfo(name)
            info.create_system = 3  # Unix, so external_attr carries st_mode
            info.external_attr = mode << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, content)
    return buf.getvalue()


@pytest.fixture
def make_zip() -> Callable[[list[Member]], bytes]:
    return build_zip


@pytest.fixture(scope="session")
def bomb() -> bytes:
    """300 MB of zeros that deflate to a few hundred KB, written streaming to keep memory low."""
    buf = io.BytesIO()
    chunk = bytes(1 << 20)
    with (
        zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf,
        zf.open("zeros.bin", "w", force_zip64=True) as f,
    ):
        for _ in range(300):
            f.write(chunk)
    return buf.getvalue()
