"""The console's built files (``console/build/``, bundled by esbuild at install time) as a service on the port
(``api/dispatch.py``), claiming ``/console`` and everything under it.

The console is a static app: it holds no session and reaches functions only through the public Lambda and
Logs APIs, signing its calls with the key the user enters, so it can do nothing that key could not. Files are
read once and kept gzipped; nothing outside the build folder can be named, since only the files found at
start-up are served.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

from ..web import Reply, header

PREFIX = "/console"
BUILD = Path(__file__).with_name("build")
_TYPES = {
    ".html": b"text/html; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".svg": b"image/svg+xml",
    ".png": b"image/png",
    ".json": b"application/json",
}
# the app loads only its own files and calls only this origin
_POLICY = b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
_NOT_BUILT = b"The console is not built: run `make install` (it bundles src/kindling/console/web with esbuild)."


class _Asset:
    def __init__(self, path: Path) -> None:
        self.body = path.read_bytes()
        self.gzipped = gzip.compress(self.body, 9)
        self.content_type = _TYPES.get(path.suffix, b"application/octet-stream")


class ConsoleAssets:
    def __init__(self, build: Path = BUILD) -> None:
        self.assets: dict[str, _Asset] = {}
        if build.is_dir():
            for path in build.rglob("*"):
                if path.is_file():
                    self.assets["/" + path.relative_to(build).as_posix()] = _Asset(path)

    def claims(self, scope: dict) -> bool:
        path: str = scope["path"]
        return path == PREFIX or path.startswith(PREFIX + "/")

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        reply = self.reply(scope)
        length = len(reply.body)
        headers = [(b"content-type", reply.content_type), (b"content-length", str(length).encode()), *reply.headers]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else reply.body})

    def reply(self, scope: dict) -> Reply:
        path: str = scope["path"][len(PREFIX) :]
        if scope["method"] not in ("GET", "HEAD"):
            return Reply(405, b"Method Not Allowed", [(b"allow", b"GET, HEAD")], b"text/plain")
        if path == "":
            return Reply(308, b"", [(b"location", b"/console/")], b"text/plain")
        if not self.assets:
            return Reply(503, _NOT_BUILT, content_type=b"text/plain; charset=utf-8")
        asset = self.assets.get("/index.html" if path == "/" else path)
        if asset is None:
            return Reply(404, b"Not Found", content_type=b"text/plain")
        headers = [
            (b"content-security-policy", _POLICY),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"cache-control", b"no-cache"),
            (b"vary", b"accept-encoding"),
        ]
        body = asset.body
        if b"gzip" in header(scope, b"accept-encoding"):
            headers.append((b"content-encoding", b"gzip"))
            body = asset.gzipped
        return Reply(200, body, headers, asset.content_type)
