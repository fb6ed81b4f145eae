"""Test helpers for container images: a real registry (Debian's ``docker-registry``) on a free port, images
written as OCI layers with ``tarfile`` and ``json``, pushed over the registry's HTTP API, and the two
images the tests run: a static Go Runtime API client and Python's awslambdaric made of the host's files."""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.server
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from support import free_port

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI = {"manifest": OCI_MANIFEST, "config": OCI_CONFIG, "layer": OCI_LAYER}
DOCKER = {
    "manifest": DOCKER_MANIFEST,
    "config": "application/vnd.docker.container.image.v1+json",
    "layer": "application/vnd.docker.image.rootfs.diff.tar.gzip",
}
REGISTRY_CONFIG = """version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""

# A Runtime API client in Go's standard library: it answers each event with what it sees of its sandbox
GO_CLIENT = r"""package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
)

var version = "dev"

func exists(path string) bool { _, err := os.Lstat(path); return err == nil }

func main() {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	for {
		resp, err := http.Get(api + "next")
		if err != nil {
			os.Exit(1)
		}
		event, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		id := resp.Header.Get("Lambda-Runtime-Aws-Request-Id")
		cwd, _ := os.Getwd()
		files := map[string]bool{}
		for _, path := range []string{"/etc/old.txt", "/data/keep/a", "/data/gone/b", "/data/gone/c", "/etc/kept.txt", "/tmp/extension-started"} {
			files[path] = exists(path)
		}
		body, _ := json.Marshal(map[string]any{
			"version": version, "event": json.RawMessage(event), "cwd": cwd, "args": os.Args[1:],
			"uid": os.Getuid(), "greeting": os.Getenv("GREETING"), "function": os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
			"files": files, "tmp_writable": os.WriteFile("/tmp/probe", []byte("x"), 0o600) == nil,
			"root_writable": os.WriteFile("/probe", []byte("x"), 0o600) == nil,
			"host_visible": exists("/work") || exists("/root/.pyenv"),
		})
		if reply, err := http.Post(api+id+"/response", "application/json", bytes.NewReader(body)); err == nil {
			io.Copy(io.Discard, reply.Body)
			reply.Body.Close()
		}
	}
}
"""

# An external extension in Go: it says it started in /tmp, registers through the Extensions API, waits for SHUTDOWN
GO_EXTENSION = r"""package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
)

var version = "dev"

func main() {
	base := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2020-01-01/extension"
	os.WriteFile("/tmp/extension-started", []byte(version), 0o644) // before the runtime may start: it waits for this registration
	request, _ := http.NewRequest("POST", base+"/register", bytes.NewBufferString(`{"events":["INVOKE","SHUTDOWN"]}`))
	request.Header.Set("Lambda-Extension-Name", "probe")
	reply, err := http.DefaultClient.Do(request)
	if err != nil || reply.StatusCode != 200 {
		os.Exit(1)
	}
	id := reply.Header.Get("Lambda-Extension-Identifier")
	io.Copy(io.Discard, reply.Body)
	reply.Body.Close()
	for {
		next, _ := http.NewRequest("GET", base+"/event/next", nil)
		next.Header.Set("Lambda-Extension-Identifier", id)
		event, err := http.DefaultClient.Do(next)
		if err != nil {
			os.Exit(1)
		}
		body, _ := io.ReadAll(event.Body)
		event.Body.Close()
		if bytes.Contains(body, []byte("SHUTDOWN")) {
			os.Exit(0)
		}
	}
}
"""


class Registry:
    """``docker-registry`` serving from a temporary directory on a free loopback port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Registry:
        config = self.root / "config.yml"
        config.write_text(REGISTRY_CONFIG.format(root=self.root / "storage", port=self.port))
        log = open(self.root / "registry.log", "ab")  # noqa: SIM115  (the child's)
        self.process = subprocess.Popen(
            ["/usr/bin/docker-registry", "serve", str(config)], stdout=log, stderr=log, stdin=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=2):
                    return self
            except OSError:
                assert self.process.poll() is None, (self.root / "registry.log").read_text()
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)

    def _request(self, method: str, url: str, data: bytes = b"", headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        request = urllib.request.Request(url, data=data or None, method=method, headers=headers or {})
        return urllib.request.urlopen(request, timeout=60)

    def push_blob(self, repository: str, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with self._request("POST", f"http://{self.host}/v2/{repository}/blobs/uploads/") as reply:
            location = reply.headers["Location"]
        if location.startswith("/"):
            location = f"http://{self.host}{location}"
        separator = "&" if "?" in location else "?"
        headers = {"Content-Type": "application/octet-stream"}
        self._request("PUT", f"{location}{separator}digest={digest}", data, headers).close()
        return digest

    def push(
        self,
        repository: str,
        tag: str,
        layers: list[bytes],
        config: dict,
        claimed_sizes: list[int] | None = None,
        docker: bool = False,
        architecture: str = "amd64",
    ) -> str:
        """Push an image (in Docker's v2 schema 2 media types with ``docker``); ``claimed_sizes``: what the
        manifest says the layers weigh (to fake a huge image); ``architecture``: what its config says.
        Returns the manifest's digest."""
        media = DOCKER if docker else OCI
        descriptors = []
        for index, layer in enumerate(layers):
            self.push_blob(repository, layer)
            descriptors.append(_descriptor(media["layer"], layer, claimed_sizes[index] if claimed_sizes else None))
        config_blob = _config_blob(layers, config, architecture)
        self.push_blob(repository, config_blob)
        manifest = {
            "schemaVersion": 2,
            "mediaType": media["manifest"],
            "config": _descriptor(media["config"], config_blob),
        }
        return self.push_manifest(
            repository, tag, json.dumps(manifest | {"layers": descriptors}).encode(), media["manifest"]
        )

    def push_manifest(self, repository: str, reference: str, manifest: bytes, media: str) -> str:
        url = f"http://{self.host}/v2/{repository}/manifests/{reference}"
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        with self._request("PUT", url, manifest, {"Content-Type": media}) as reply:
            assert reply.headers["Docker-Content-Digest"] == digest
        return digest

    def push_index(self, repository: str, tag: str, platforms: dict[str, str]) -> str:
        """An image index (multi-platform) naming manifests already pushed: architecture -> their digest."""
        entries = []
        for architecture, digest in platforms.items():
            with self._request(
                "GET",
                f"http://{self.host}/v2/{repository}/manifests/{digest}",
                headers={"Accept": f"{OCI_MANIFEST}, {DOCKER_MANIFEST}"},
            ) as reply:
                body, media = reply.read(), reply.headers["Content-Type"]
            entries.append(_descriptor(media, body) | {"platform": {"architecture": architecture, "os": "linux"}})
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}).encode()
        return self.push_manifest(repository, tag, index, OCI_INDEX)


@contextmanager
def registry(root: Path) -> Iterator[Registry]:
    running = Registry(root).start()
    try:
        yield running
    finally:
        running.stop()


def layer(
    entries: dict[str, bytes | str | None], modes: dict[str, int] | None = None, mtimes: dict[str, int] | None = None
) -> bytes:
    """A gzipped layer: ``bytes`` a file, ``None`` a directory, ``"->target"`` a symbolic link."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in entries.items():
            info = tarfile.TarInfo(name)
            info.mtime = (mtimes or {}).get(name, 1_700_000_000)
            if content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif isinstance(content, str):
                info.type, info.linkname = tarfile.SYMTYPE, content.removeprefix("->")
                tar.addfile(info)
            else:
                info.size, info.mode = len(content), (modes or {}).get(name, 0o644)
                tar.addfile(info, io.BytesIO(content))
    return gzip.compress(buffer.getvalue(), compresslevel=1, mtime=0)


def go_binary(work: Path, version: str, program: str = GO_CLIENT, name: str = "handler") -> bytes:
    """A Go program (the client by default), built static (no libc in its image) with ``version`` baked in."""
    folder = work / name
    folder.mkdir(exist_ok=True)
    source = folder / "main.go"
    source.write_text(program)
    out = folder / f"{name}-{version}"
    env = {**os.environ, "CGO_ENABLED": "0", "GOCACHE": str(Path.home() / ".cache" / "go-build"), "GO111MODULE": "off"}
    subprocess.run(
        ["go", "build", "-ldflags", f"-X main.version={version}", "-o", str(out), str(source)],
        check=True,
        cwd=work,
        env=env,
        capture_output=True,
        timeout=300,
    )
    return out.read_bytes()


def _libraries(binaries: list[str]) -> dict[str, bytes | str]:
    """The shared libraries (and their loader) the binaries need, with the links ``ldd`` names them by."""
    found: dict[str, bytes | str] = {}
    for binary in binaries:
        out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
        for line in out.splitlines():
            path = line.split("=>")[-1].split("(")[0].strip()
            while path.startswith("/"):
                path = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
                if not os.path.islink(path):
                    found[path.lstrip("/")] = Path(path).read_bytes()
                    break
                found[path.lstrip("/")] = "->" + os.readlink(path)
                path = os.path.join(os.path.dirname(path), os.readlink(path))
    return found


_SKIP = {
    "test",
    "idlelib",
    "tkinter",
    "turtledemo",
    "ensurepip",
    "lib2to3",
    "pydoc_data",
    "config-3.11-x86_64-linux-gnu",
}


def python_layer() -> bytes:
    """Debian's Python 3.11 with its standard library (and its ``.pyc``, valid since the layer keeps the sources'
    mtimes) and the shared libraries it needs, plus awslambdaric (and what it imports) from this virtualenv at
    ``/var/runtime``: a Python base image made of the host's files."""
    python = "/usr/bin/python3.11"
    stdlib = Path("/usr/lib/python3.11")
    site = Path(sys.prefix) / "lib" / "python3.11" / "site-packages"
    entries: dict[str, bytes | str | None] = {}
    mtimes: dict[str, int] = {}

    def add(name: str, path: Path) -> None:
        entries[name], mtimes[name] = path.read_bytes(), int(path.stat().st_mtime)

    def wanted(path: Path, parts: tuple[str, ...]) -> bool:
        skipped = _SKIP.intersection(parts) or path.name.endswith((".opt-1.pyc", ".opt-2.pyc"))
        return path.is_file() and not skipped

    dynload = [str(p) for p in (stdlib / "lib-dynload").glob("*.so")]
    ric = [str(p) for p in site.glob("runtime_client*.so")]
    entries.update(_libraries([python, *dynload, *ric]))
    for top in ("lib", "lib64", "bin"):
        if os.path.islink(f"/{top}"):
            entries[top] = "->" + os.readlink(f"/{top}")
    add("usr/bin/python3.11", Path(python))
    for path in stdlib.rglob("*"):
        if wanted(path, path.relative_to(stdlib).parts):
            add(str(path).lstrip("/"), path)
    for name in ("awslambdaric", "simplejson"):
        for path in (site / name).rglob("*"):
            if wanted(path, path.relative_to(site).parts):
                add(f"var/runtime/{path.relative_to(site)}", path)
    for path in [*site.glob("runtime_client*.so"), site / "snapshot_restore_py.py"]:
        add(f"var/runtime/{path.name}", path)
    modes = {name: 0o755 for name in entries if name.endswith((".so", "python3.11")) or ".so." in name}
    return layer(entries, modes, mtimes)


def _config_blob(layers: list[bytes], config: dict, architecture: str = "amd64") -> bytes:
    diff_ids = ["sha256:" + hashlib.sha256(gzip.decompress(layer)).hexdigest() for layer in layers]
    rootfs = {"type": "layers", "diff_ids": diff_ids}
    return json.dumps({"architecture": architecture, "os": "linux", "config": config, "rootfs": rootfs}).encode()


def _descriptor(media: str, data: bytes, size: int | None = None) -> dict:
    return {"mediaType": media, "digest": "sha256:" + hashlib.sha256(data).hexdigest(), "size": size or len(data)}


def oci_archive(path: Path, tag: str, layers: list[bytes], config: dict) -> str:
    """An OCI image layout in a tar (what ``skopeo copy … oci-archive:`` writes); returns the manifest digest."""
    config_blob = _config_blob(layers, config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": _descriptor(OCI_CONFIG, config_blob),
            "layers": [_descriptor(OCI_LAYER, layer) for layer in layers],
        }
    ).encode()
    entry = _descriptor(OCI_MANIFEST, manifest) | {"annotations": {"org.opencontainers.image.ref.name": tag}}
    files = {
        "oci-layout": b'{"imageLayoutVersion": "1.0.0"}',
        "index.json": json.dumps({"schemaVersion": 2, "manifests": [entry]}).encode(),
    }
    for blob in (*layers, config_blob, manifest):
        files[f"blobs/sha256/{hashlib.sha256(blob).hexdigest()}"] = blob
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return entry["digest"]


def docker_archive(path: Path, tag: str, layers: list[bytes], config: dict) -> None:
    """What ``docker save`` writes: ``manifest.json``, the config and each layer (uncompressed) by path."""
    config_blob = _config_blob(layers, config)
    files = {"config.json": config_blob}
    for index, blob in enumerate(layers):
        files[f"layer{index}/layer.tar"] = gzip.decompress(blob)
    manifest = [
        {"Config": "config.json", "RepoTags": [tag], "Layers": [f"layer{i}/layer.tar" for i in range(len(layers))]}
    ]
    files["manifest.json"] = json.dumps(manifest).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


class _FrontHandler(http.server.BaseHTTPRequestHandler):
    """What the registry fronts below share: passing a request on to ``registry`` and answering."""

    registry: Registry

    def log_message(self, *args: object) -> None:
        pass

    def _proxy(self, path: str) -> None:
        request = urllib.request.Request(
            f"http://{self.registry.host}{path}", headers={"Accept": self.headers.get("Accept", "")}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as reply:
                keys = ("Content-Type", "Docker-Content-Digest")
                self._send(reply.status, reply.read(), {k: reply.headers[k] for k in keys if reply.headers[k]})
        except urllib.error.HTTPError as error:
            self._send(error.code, error.read(), {})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class TokenGate:
    """A registry front that wants a Bearer token, as Docker Hub and ECR do: ``/v2/…`` answers 401 with a
    ``WWW-Authenticate`` challenge until the token its ``/token`` realm hands out comes back; blobs are
    redirected to a "storage" on another host name that refuses a request still carrying the token."""

    TOKEN = "token-for-tests"

    def __init__(self, upstream: Registry, credentials: tuple[str, str] | None = None) -> None:
        self.upstream = upstream
        basic = "Basic " + base64.b64encode(":".join(credentials).encode()).decode() if credentials else None
        self.token_requests: list[str] = []
        gate = self

        class Handler(_FrontHandler):
            registry = upstream

            def do_GET(self) -> None:
                if self.path.startswith("/token"):
                    if basic and self.headers.get("Authorization") != basic:  # a private repository
                        return self._send(401, b"{}", {"WWW-Authenticate": 'Basic realm="tests"'})
                    gate.token_requests.append(self.path)
                    return self._send(
                        200, json.dumps({"token": gate.TOKEN}).encode(), {"Content-Type": "application/json"}
                    )
                if self.path.startswith("/storage/"):  # where blobs are redirected: a second credential is refused
                    if self.headers.get("Authorization"):
                        return self._send(400, b"only one auth mechanism allowed", {})
                    return self._proxy(self.path.removeprefix("/storage"))
                if self.headers.get("Authorization") != f"Bearer {gate.TOKEN}":
                    realm = f"http://127.0.0.1:{gate.port}/token"
                    challenge = f'Bearer realm="{realm}",service="tests",scope="repository:gated:pull"'
                    return self._send(401, b"{}", {"WWW-Authenticate": challenge})
                if "/blobs/" in self.path:  # as ECR sends blobs to S3: another host, a signed URL
                    return self._send(307, b"", {"Location": f"http://localhost:{gate.port}/storage{self.path}"})
                return self._proxy(self.path)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class HeldFront:
    """A registry front that lets the first manifest request through (CreateFunction's check that the image
    exists) and holds every later request until ``release()``: the pull that follows stays in progress as long
    as a test needs. ``gone`` makes the held manifests 404, as an image deleted meanwhile."""

    def __init__(self, upstream: Registry) -> None:
        self.released = threading.Event()
        self.gone = False
        self.checked = 0
        front = self

        class Handler(_FrontHandler):
            registry = upstream

            def do_GET(self) -> None:
                first = "/manifests/" in self.path and front.checked == 0
                if "/manifests/" in self.path:
                    front.checked += 1
                if not first and self.path != "/v2/":
                    front.released.wait(60)
                    if front.gone and "/manifests/" in self.path:
                        return self._send(404, b'{"errors": [{"code": "MANIFEST_UNKNOWN"}]}', {})
                return self._proxy(self.path)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
