"""The content-addressed image store: ``images/<manifest hex>.json`` (what an image runs), ``layers/<hex>/``
(each layer unpacked once, by its blob's digest, shared by every image that has it) and ``roots/<hex>/`` (a root
file system per distinct stack of layers, hard links into the layers). Everything is written under a ``.tmp-``
name and renamed, so a crash never leaves half an image under its final name."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..limits import IMAGE_MAX
from . import unpack
from .reference import BadReference, Reference, parse
from .sources import INDEXES, Source, SourceMissing, open_source

__all__ = ["Image", "ImageFailed", "ImageStore", "SourceMissing"]

_TMP = ".tmp-"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_LAYER_TYPES = ("tar", "tar+gzip", "tar.gzip")  # the endings of the layer media types unpacked here
_PLATFORMS = {"x86_64": "amd64", "arm64": "arm64"}
SIZE_EXCEEDED = "SizeLimitExceeded: Uncompressed container image size exceeds 10 GiB limit"


def _checked_digest(value: object) -> str:
    """A digest a manifest names, before it becomes a file name or a URL: ``sha256:`` and 64 hex digits only."""
    if not isinstance(value, str) or not _DIGEST.fullmatch(value):
        raise ImageFailed(f"InvalidManifest: {value!r} is not a sha256 digest")
    return value


class ImageFailed(Exception):
    """An image that was found but cannot run here: Lambda's ``InvalidImage`` state reason."""

    code = "InvalidImage"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Image:
    digest: str  # the manifest's, ``sha256:…``
    resolved_uri: str  # ``repository@digest``
    root: Path  # the unpacked root file system
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = ()  # ``NAME=value``, as the image config lists them
    workdir: str = ""
    size: int = 0  # bytes of its files, unpacked
    architecture: str = ""  # what its config says (``amd64``, ``arm64``), when it says


class _Checked:
    """A blob's stream that hashes what it gives, for ``finish`` to compare with the digest that named it."""

    def __init__(self, stream: IO[bytes], digest: str) -> None:
        self.stream, self.digest, self.hash = stream, digest, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.hash.update(data)
        return data

    def finish(self) -> None:
        while self.read(1 << 20):
            pass
        if "sha256:" + self.hash.hexdigest() != self.digest:
            raise ImageFailed(f"DigestMismatch: the blob {self.digest} does not have that digest")


def _check_platform(image: str, wanted: str, architecture: str) -> None:
    """A single-platform image made for another architecture than the function's cannot run it."""
    if image and wanted and image != wanted:
        raise ImageFailed(
            f"The image's architecture ({image}) does not match the function's architecture ({architecture}): "
            "update the function's Architectures or provide an image built for it."
        )


def _replace(tmp: Path, final: Path) -> None:
    """Rename ``tmp`` to ``final``; another pull may have got there first, which is as good."""
    try:
        os.rename(tmp, final)
    except OSError:
        if not final.exists():
            raise
        _discard(tmp)


def _discard(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


class ImageStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._images, self._layers, self._roots = self.root / "images", self.root / "layers", self.root / "roots"
        for path in (self.root, self._images, self._layers, self._roots):
            path.mkdir(parents=True, exist_ok=True)
            os.chmod(path, 0o711)
        for folder in (self._images, self._layers, self._roots):  # what a crash left half made
            for leftover in folder.glob(_TMP + "*"):
                _discard(leftover)

    def check(self, uri: str) -> None:
        """``SourceMissing`` unless the registry (or archive) has a manifest for ``uri``: only that is read."""
        try:
            ref = parse(uri)
        except BadReference as bad:
            raise SourceMissing(str(bad)) from None
        with contextlib.closing(open_source(ref)) as source:
            source.manifest(ref.wanted)

    def pull(self, uri: str, architecture: str = "x86_64") -> Image:
        """The image ``uri`` names, pulled and unpacked unless its digest is here already (blocking).
        ``SourceMissing``: no such image; ``ImageFailed``: it cannot run (too large, unsafe, unsupported)."""
        try:
            ref = parse(uri)
        except BadReference as bad:
            raise SourceMissing(str(bad)) from None
        with contextlib.closing(open_source(ref)) as source:
            try:
                return self._pull(source, ref, architecture)
            except (ValueError, KeyError, TypeError, AttributeError) as error:  # JSON that is not what it says
                raise ImageFailed(
                    f"InvalidManifest: the image's manifest or config cannot be read ({error!r})"
                ) from None

    def _pull(self, source: Source, ref: Reference, architecture: str) -> Image:
        data, media, digest = source.manifest(ref.wanted)
        if ref.digest and media not in INDEXES and digest != ref.digest:
            raise SourceMissing(f"the registry sent a manifest whose digest is {digest}")
        platform = _PLATFORMS.get(architecture, architecture)
        if media in INDEXES:
            platform = ""  # the index's entry was chosen for the platform already
            digest = self._platform(data, architecture)
            data, media, got = source.manifest(digest)
            if got != digest:
                raise SourceMissing(f"the registry sent a manifest whose digest is {got}")
        known = self.image(digest, ref.resolved(digest))
        if known is not None:
            _check_platform(known.architecture, platform, architecture)
            return known
        manifest = json.loads(data)
        return self._unpack(source, manifest, digest, ref.resolved(digest), (platform, architecture))

    def image(self, digest: str, resolved_uri: str = "") -> Image | None:
        """An image pulled before, by its manifest digest."""
        path = self._images / f"{digest.split(':')[-1]}.json"
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        config = record["config"]
        return Image(
            digest,
            resolved_uri or record.get("resolved", ""),
            self._roots / record["root"],
            tuple(config.get("Entrypoint") or ()),
            tuple(config.get("Cmd") or ()),
            tuple(config.get("Env") or ()),
            config.get("WorkingDir") or "",
            record["size"],
            record.get("architecture") or "",
        )

    def collect(self, keep: set[str]) -> None:
        """Forget the images no function runs (``keep``: manifest digests, hex), their roots and the layers no
        kept image shares. Called at start, when no environment can have a root mounted."""
        roots: set[str] = set()
        layers: set[str] = set()
        for path in self._images.glob("*.json"):
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                record = {}
            if path.stem not in keep or not record:
                path.unlink(missing_ok=True)
                continue
            roots.add(record["root"])
            layers.update(name.split(":")[-1] for name in record.get("layers", []))
        for path in self._roots.iterdir():
            if path.name not in roots:
                _discard(path)
        for path in self._layers.iterdir():
            if path.name.removesuffix(".size") not in layers:
                _discard(path)

    def root_of(self, digest: str) -> Path:
        """Where an image's root is (or would be), for a function whose image is gone from the store."""
        image = self.image(digest)
        return image.root if image is not None else self._roots / "missing"

    def _platform(self, data: bytes, architecture: str) -> str:
        wanted = _PLATFORMS.get(architecture, architecture)
        for entry in json.loads(data).get("manifests", []):
            platform = entry.get("platform", {})
            if platform.get("os") == "linux" and platform.get("architecture") == wanted:
                return _checked_digest(entry.get("digest"))
        raise ImageFailed(f"UnsupportedPlatform: the image has no linux/{wanted} manifest")

    def _unpack(
        self, source: Source, manifest: dict[str, Any], digest: str, resolved: str, platform: tuple[str, str]
    ) -> Image:
        layers = manifest.get("layers") or []
        if sum(int(layer.get("size", 0)) for layer in layers) > IMAGE_MAX:  # compressed already over: no download
            raise ImageFailed(SIZE_EXCEEDED)
        for layer in layers:
            if not str(layer.get("mediaType", "")).endswith(_LAYER_TYPES):
                raise ImageFailed(f"UnsupportedMediaType: layers of type {layer.get('mediaType')} cannot be unpacked")
        config_digest = _checked_digest(manifest["config"]["digest"])
        with contextlib.closing(source.blob(config_digest)) as stream:
            checked = _Checked(stream, config_digest)
            config = json.loads(checked.read())
            checked.finish()
        _check_platform(str(config.get("architecture") or ""), *platform)  # before any layer is downloaded
        names = [_checked_digest(layer.get("digest")) for layer in layers]
        size = 0
        for name in names:
            size += self._layer(source, name, IMAGE_MAX - size)
        root_key = hashlib.sha256("\n".join(names).encode()).hexdigest()
        root = self._roots / root_key
        if not root.is_dir():
            tmp = Path(tempfile.mkdtemp(prefix=_TMP, dir=self._roots))
            try:
                unpack.stack([self._layers / name.split(":")[-1] for name in names], tmp)
                os.chmod(tmp, 0o755)
                _replace(tmp, root)
            except BaseException:
                _discard(tmp)
                raise
        run = {key: config.get("config", {}).get(key) for key in ("Entrypoint", "Cmd", "Env", "WorkingDir")}
        record = {
            "digest": digest,
            "resolved": resolved,
            "root": root_key,
            "layers": names,
            "size": size,
            "architecture": config.get("architecture") or "",
            "config": run,
        }
        tmp_file = self._images / f"{_TMP}{digest.split(':')[-1]}"
        tmp_file.write_text(json.dumps(record))
        _replace(tmp_file, self._images / f"{digest.split(':')[-1]}.json")
        image = self.image(digest, resolved)
        assert image is not None
        return image

    def _layer(self, source: Source, digest: str, budget: int) -> int:
        """A layer unpacked (once: later images reuse it); returns the bytes of its files."""
        final = self._layers / digest.split(":")[-1]
        sizes = self._layers / f"{final.name}.size"
        if final.is_dir() and sizes.exists():
            size = int(sizes.read_text())
            if size > budget:
                raise ImageFailed(SIZE_EXCEEDED)
            return size
        tmp = Path(tempfile.mkdtemp(prefix=_TMP, dir=self._layers))
        try:
            with contextlib.closing(source.blob(digest)) as stream:
                checked = _Checked(stream, digest)
                size = unpack.extract(checked, tmp, budget)  # type: ignore[arg-type]
                checked.finish()
            os.chmod(tmp, 0o755)
            sizes.write_text(str(size))
            _replace(tmp, final)
        except unpack.TooLarge:
            _discard(tmp)
            raise ImageFailed(SIZE_EXCEEDED) from None
        except unpack.LayerRefused as refused:
            _discard(tmp)
            raise ImageFailed(f"LayerRefused: layer {digest}: {refused}") from None
        except (OSError, EOFError, ValueError, tarfile.TarError, zlib.error) as error:
            _discard(tmp)
            raise ImageFailed(f"InvalidLayer: layer {digest} cannot be unpacked: {error}") from None
        except BaseException:
            _discard(tmp)
            raise
        return size
