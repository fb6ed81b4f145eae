"""Image references as ``docker pull`` reads them (``host[:port]/path[:tag][@sha256:…]``), plus the air-gapped
forms ``oci-archive:PATH[:tag]`` and ``docker-archive:PATH``."""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "registry-1.docker.io"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_PATH = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
ARCHIVES = ("oci-archive", "docker-archive")


class BadReference(ValueError):
    """Not an image reference this server can read."""


@dataclass(frozen=True)
class Reference:
    registry: str  # host[:port]; for an archive, its kind (``oci-archive``, ``docker-archive``)
    repository: str  # the path in the registry; for an archive, the file
    tag: str = ""
    digest: str = ""  # ``sha256:…``, when the reference pins one

    @property
    def archive(self) -> bool:
        return self.registry in ARCHIVES

    @property
    def wanted(self) -> str:
        """What the manifest is asked for: the digest when pinned, else the tag (``latest`` by default)."""
        return self.digest or self.tag or "latest"

    def resolved(self, digest: str) -> str:
        """``ResolvedImageUri``: the repository at the digest actually pulled."""
        if self.archive:
            return f"{self.registry}:{self.repository}@{digest}"
        return f"{self.registry}/{self.repository}@{digest}"


def parse(uri: str) -> Reference:
    for kind in ARCHIVES:
        if uri.startswith(kind + ":"):
            path, _, tag = uri[len(kind) + 1 :].partition(":")
            if not path.startswith("/"):
                raise BadReference(f"{kind} needs an absolute path: {uri}")
            return Reference(kind, path, tag)
    rest, _, digest = uri.partition("@")
    if digest and not _DIGEST.fullmatch(digest):
        raise BadReference(f"not a sha256 digest: {digest}")
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = DOCKER_HUB, rest if "/" in rest else f"library/{rest}"
    tag = ""
    if ":" in path.rsplit("/", 1)[-1]:
        path, _, tag = path.rpartition(":")
        if not _TAG.fullmatch(tag):
            raise BadReference(f"not a tag: {tag}")
    if not _PATH.fullmatch(path):
        raise BadReference(f"not a repository name: {path}")
    return Reference(registry, path, tag, digest)
