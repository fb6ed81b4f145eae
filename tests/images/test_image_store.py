"""The image store on its own, fed with OCI archives: what a broken image gives, and what one pull leaves."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from oci_images import OCI_LAYER, OCI_MANIFEST, layer, oci_archive

from kindling.images import ImageFailed, ImageStore, SourceMissing


def _archive(path: Path, manifest: bytes, blobs: list[bytes]) -> None:
    entry = {
        "mediaType": OCI_MANIFEST,
        "digest": "sha256:" + hashlib.sha256(manifest).hexdigest(),
        "size": len(manifest),
    }
    entry["annotations"] = {"org.opencontainers.image.ref.name": "v1"}
    files = {"index.json": json.dumps({"schemaVersion": 2, "manifests": [entry]}).encode()}
    for blob in (*blobs, manifest):
        files[f"blobs/sha256/{hashlib.sha256(blob).hexdigest()}"] = blob
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_a_pull_leaves_the_image_its_layers_and_its_root(tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    digest = oci_archive(archive, "v1", [layer({"etc/a": b"a"}), layer({"etc/.wh.a": b"", "b": b"b"})], {"Cmd": ["x"]})
    store = ImageStore(tmp_path / "store")
    image = store.pull(f"oci-archive:{archive}:v1")
    assert image.digest == digest and image.cmd == ("x",) and image.size == 2  # the layers' bytes
    assert sorted(p.name for p in image.root.iterdir()) == ["b", "etc"] and not (image.root / "etc" / "a").exists()
    assert store.pull(f"oci-archive:{archive}:v1") == image  # the second time: nothing unpacked again
    with pytest.raises(SourceMissing):
        store.pull(f"oci-archive:{archive}:v2")


def test_broken_images_fail_with_a_reason(tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "store")
    _archive(tmp_path / "garbage.tar", b'{"schemaVersion": 2, "layers": "no"}', [])
    with pytest.raises(ImageFailed, match="InvalidManifest"):
        store.pull(f"oci-archive:{tmp_path / 'garbage.tar'}:v1")
    config, blob = b'{"config": {}}', layer({"a": b"a"})
    lying = {"digest": "sha256:" + "0" * 64, "size": len(blob), "mediaType": OCI_LAYER}  # not the blob's digest
    manifest = {
        "config": {"digest": "sha256:" + hashlib.sha256(config).hexdigest(), "size": len(config)},
        "layers": [lying],
    }
    _archive(tmp_path / "lying.tar", json.dumps(manifest).encode(), [config, blob])
    with pytest.raises(SourceMissing):  # the archive has no blob by that name
        store.pull(f"oci-archive:{tmp_path / 'lying.tar'}:v1")
    zstd = {**lying, "mediaType": "application/vnd.oci.image.layer.v1.tar+zstd"}
    _archive(tmp_path / "zstd.tar", json.dumps({**manifest, "layers": [zstd]}).encode(), [config, blob])
    with pytest.raises(ImageFailed, match="UnsupportedMediaType"):
        store.pull(f"oci-archive:{tmp_path / 'zstd.tar'}:v1")
    escaping = {**lying, "digest": "sha256:../../../escaped"}  # a digest is a file name in the store: checked
    _archive(tmp_path / "escaping.tar", json.dumps({**manifest, "layers": [escaping]}).encode(), [config, blob])
    with pytest.raises(ImageFailed, match="is not a sha256 digest"):
        store.pull(f"oci-archive:{tmp_path / 'escaping.tar'}:v1")
    assert not list(tmp_path.rglob("escaped*"))
    assert not [p for p in (tmp_path / "store" / "layers").iterdir()]  # nothing half unpacked is left
