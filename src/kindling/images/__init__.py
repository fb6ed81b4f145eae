"""Container images for ``PackageType: Image`` functions: pulled from an OCI registry (or an archive), unpacked
once per digest into a content-addressed store, and handed to the sandbox as a root file system."""

from __future__ import annotations

from kindling.images.reference import Reference, parse
from kindling.images.store import Image, ImageFailed, ImageStore, SourceMissing

__all__ = ["Image", "ImageFailed", "ImageStore", "Reference", "SourceMissing", "parse"]
