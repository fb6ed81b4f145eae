"""Deployment packages: validating uploaded zips and storing them by content hash."""

from __future__ import annotations

from kindling.code.archive import ArchiveInfo, inspect_zip
from kindling.code.store import CodeRef, CodeStore

__all__ = ["ArchiveInfo", "CodeRef", "CodeStore", "inspect_zip"]
