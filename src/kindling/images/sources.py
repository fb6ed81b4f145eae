"""Where an image's manifests and blobs come from: a registry speaking the OCI distribution API (Docker
Registry HTTP API v2), anonymously or with the Bearer token its ``WWW-Authenticate`` challenge asks for, or an
archive on the server's disk (``oci-archive:`` an OCI image layout in a tar, ``docker-archive:`` what
``docker save`` writes)."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import os
import re
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from http.client import HTTPMessage, HTTPResponse
from typing import IO, Protocol

from .reference import DOCKER_HUB, Reference

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
INDEXES = (OCI_INDEX, DOCKER_LIST)
ACCEPT = ", ".join((OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST))
_TIMEOUT = 60
# registries reached over plain HTTP besides loopback ones: host[:port], comma separated
INSECURE_ENV = "KINDLING_INSECURE_REGISTRIES"


class SourceMissing(Exception):
    """The image (or the registry or archive holding it) cannot be read."""


class Source(Protocol):
    def manifest(self, wanted: str) -> tuple[bytes, str, str]:
        """The manifest (or index) a tag or digest names: its bytes, media type and digest."""
        ...

    def blob(self, digest: str) -> IO[bytes]:
        """A blob's bytes, as a stream (the caller checks the digest)."""
        ...

    def close(self) -> None: ...


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _plain_http(host: str) -> bool:
    name = host.rsplit(":", 1)[0].strip("[]") if not host.startswith("[") else host[1:].split("]")[0]
    insecure = {h.strip() for h in os.environ.get(INSECURE_ENV, "").split(",") if h.strip()}
    if host in insecure or name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class _KeepAuthAtHome(urllib.request.HTTPRedirectHandler):
    """Blobs are often redirected to a storage service with a signed URL (ECR to S3): the registry's token stays
    with the registry, or the storage refuses a second credential."""

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage, newurl: str
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc:
            new.remove_header("Authorization")
        return new


_OPENER = urllib.request.build_opener(_KeepAuthAtHome)


def docker_credentials(registry: str) -> str:
    """The ``auth`` (base64 ``user:password``) ``docker login`` saved for the registry, in
    ``$DOCKER_CONFIG/config.json`` (``~/.docker/config.json``), or ""."""
    folder = os.environ.get("DOCKER_CONFIG") or os.path.expanduser("~/.docker")
    try:
        with open(os.path.join(folder, "config.json")) as handle:
            auths = json.load(handle).get("auths") or {}
    except (OSError, ValueError, AttributeError):
        return ""
    keys = [registry, f"https://{registry}", f"http://{registry}"]
    if registry == DOCKER_HUB:
        keys.append("https://index.docker.io/v1/")
    for key in keys:
        entry = auths.get(key) or {}
        if entry.get("auth"):
            return str(entry["auth"])
        if entry.get("username"):
            return base64.b64encode(f"{entry['username']}:{entry.get('password', '')}".encode()).decode()
    return ""


class Registry:
    """A repository of an OCI distribution registry: anonymous, or with what ``docker login`` saved, sent as
    Basic authentication or traded for the Bearer token the registry's challenge asks for."""

    def __init__(self, ref: Reference) -> None:
        scheme = "http" if _plain_http(ref.registry) else "https"
        self.ref = ref
        self.base = f"{scheme}://{ref.registry}/v2/{ref.repository}"
        self.credentials = docker_credentials(ref.registry)
        self.authorization = ""

    def _open(self, url: str, accept: str = "") -> HTTPResponse:
        for attempt in range(2):
            request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
            if self.authorization:
                request.add_header("Authorization", self.authorization)
            try:
                reply: HTTPResponse = _OPENER.open(request, timeout=_TIMEOUT)
                return reply
            except urllib.error.HTTPError as error:
                challenge = error.headers.get("WWW-Authenticate", "")
                if error.code == 401 and attempt == 0 and challenge.lower().startswith("bearer "):
                    self.authorization = f"Bearer {self._token(challenge)}"
                    continue
                if error.code == 401 and attempt == 0 and challenge.lower().startswith("basic ") and self.credentials:
                    self.authorization = f"Basic {self.credentials}"
                    continue
                if error.code in (401, 403, 404):
                    raise SourceMissing(f"the registry answered {error.code}") from None
                raise SourceMissing(f"the registry answered {error.code} {error.reason}") from None
            except (urllib.error.URLError, OSError) as error:
                raise SourceMissing(f"the registry {self.ref.registry} cannot be reached: {error}") from None
        raise SourceMissing("the registry refused the credentials it asked for")

    def _token(self, challenge: str) -> str:
        """A pull token from the realm the challenge names (for the saved credentials, if any)."""
        fields = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        realm = fields.pop("realm", "")
        if not realm:
            raise SourceMissing("the registry asks for a token without naming where to get one")
        fields.setdefault("scope", f"repository:{self.ref.repository}:pull")
        request = urllib.request.Request(f"{realm}?{urllib.parse.urlencode(fields)}")
        if self.credentials:
            request.add_header("Authorization", f"Basic {self.credentials}")
        try:
            with _OPENER.open(request, timeout=_TIMEOUT) as reply:
                body = json.load(reply)
        except (OSError, ValueError) as error:
            raise SourceMissing(f"no token from {realm}: {error}") from None
        return str(body.get("token") or body.get("access_token") or "")

    def manifest(self, wanted: str) -> tuple[bytes, str, str]:
        with self._open(f"{self.base}/manifests/{wanted}", ACCEPT) as reply:
            data = reply.read()
            media = reply.headers.get("Content-Type", "").split(";")[0].strip()
        return data, media or json.loads(data).get("mediaType", ""), _sha256(data)

    def blob(self, digest: str) -> IO[bytes]:
        return self._open(f"{self.base}/blobs/{digest}")

    def close(self) -> None:
        """Nothing is held between requests."""


class _Archive:
    """A tar on the server's disk, its members read by name."""

    def __init__(self, path: str) -> None:
        try:
            self.tar = tarfile.open(path)  # noqa: SIM115  (read for as long as the pull lasts)
        except (OSError, tarfile.TarError) as error:
            raise SourceMissing(f"{path} cannot be read as an archive: {error}") from None
        self.path = path

    def close(self) -> None:
        self.tar.close()

    def read(self, name: str) -> IO[bytes]:
        for candidate in (name, f"./{name}"):
            try:
                found = self.tar.extractfile(candidate)
            except KeyError:
                continue
            if found is not None:
                return found
        raise SourceMissing(f"{self.path} holds no {name}")


class OciArchive(_Archive):
    """An OCI image layout in a tar: ``index.json`` and ``blobs/sha256/…``; the tag picks an entry of the index
    by its ``org.opencontainers.image.ref.name``."""

    def manifest(self, wanted: str) -> tuple[bytes, str, str]:
        if wanted.startswith("sha256:"):
            data = self.read(f"blobs/sha256/{wanted[7:]}").read()
            return data, json.loads(data).get("mediaType", OCI_MANIFEST), _sha256(data)
        entries = json.loads(self.read("index.json").read()).get("manifests", [])
        named = [e for e in entries if e.get("annotations", {}).get("org.opencontainers.image.ref.name") == wanted]
        chosen = named or (entries if wanted == "latest" and len(entries) == 1 else [])
        if not chosen:
            raise SourceMissing(f"{self.path} has no image tagged {wanted}")
        data = self.read(f"blobs/sha256/{str(chosen[0]['digest']).split(':')[-1]}").read()
        return data, chosen[0]["mediaType"], _sha256(data)  # what the bytes are, whatever the index says

    def blob(self, digest: str) -> IO[bytes]:
        return self.read(f"blobs/sha256/{digest.split(':')[-1]}")


class DockerArchive(_Archive):
    """``docker save``'s format: ``manifest.json`` names the config and the layers by path; a manifest in
    Docker's v2 schema is made from it, the blobs named by their digests."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.paths: dict[str, str] = {}

    def _digest(self, name: str) -> tuple[str, int]:
        digest, size = hashlib.sha256(), 0
        with self.read(name) as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        self.paths["sha256:" + digest.hexdigest()] = name
        return "sha256:" + digest.hexdigest(), size

    def manifest(self, wanted: str) -> tuple[bytes, str, str]:
        entries = json.loads(self.read("manifest.json").read())
        tagged = [e for e in entries if any(t.endswith(f":{wanted}") for t in e.get("RepoTags") or [])]
        chosen = tagged or (entries if wanted == "latest" and len(entries) == 1 else [])
        if not chosen:
            raise SourceMissing(f"{self.path} has no image tagged {wanted}")
        config_digest, config_size = self._digest(chosen[0]["Config"])
        layers = []
        for name in chosen[0]["Layers"]:
            digest, size = self._digest(name)
            layers.append({"mediaType": DOCKER_LAYER, "digest": digest, "size": size})
        manifest = {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": DOCKER_CONFIG, "digest": config_digest, "size": config_size},
            "layers": layers,
        }
        data = json.dumps(manifest).encode()
        return data, DOCKER_MANIFEST, _sha256(data)

    def blob(self, digest: str) -> IO[bytes]:
        if digest not in self.paths:
            raise SourceMissing(f"{self.path} holds no blob {digest}")
        return self.read(self.paths[digest])


def open_source(ref: Reference) -> Source:
    if ref.registry == "oci-archive":
        return OciArchive(ref.repository)
    if ref.registry == "docker-archive":
        return DockerArchive(ref.repository)
    return Registry(ref)
