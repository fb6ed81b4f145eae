"""Cold and warm latency per runtime: the built-in Python, Node, Java, Ruby, custom runtimes (shell, Go) and
the official clients (Python's awslambdaric, npm's aws-lambda-ric) as custom runtimes.

Cold is the first invoke of each of ``count`` fresh functions; warm is the p50 of ~200 sequential invokes of
one of them, on one keep-alive connection (raw HTTP, so boto3 is not what is measured). A runtime this
machine cannot serve, or whose package cannot be built, is reported with the reason instead of numbers.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from kindling_server import HOST, MEMORY_SIZE, ROLE
from kit import Progress

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PY_HANDLER = "def handler(event, context):\n    return {'hello': 'world'}\n"
RB_HANDLER = "def handler(event:, context:)\n  { 'hello' => 'world' }\nend\n"
RIC_BOOTSTRAP = "#!/bin/sh\nexec /var/lang/bin/python3.12 -m awslambdaric app.handler\n"
# npm's aws-lambda-ric, as tests/runtimes/test_runtime_api_node_ric.py caches it
NODE_RIC = Path.home() / ".cache" / "kindling" / "aws-lambda-ric-3.3.0"
NODE_RIC_BOOTSTRAP = "#!/bin/sh\nexec {node} /var/task/node_modules/aws-lambda-ric/bin/index.mjs index.handler\n"


class Unavailable(Exception):
    """This runtime's package cannot be built here: the reason is reported."""


def _zip(root: Path | None, extra: dict[str, str] | None = None) -> bytes:
    """Every file under ``root`` (modes kept, so bootstraps stay executable) plus ``extra`` (0755)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")) if root else ():
            if path.is_file():
                info = zipfile.ZipInfo(path.relative_to(root).as_posix())
                info.external_attr = (path.stat().st_mode & 0o777 | 0o100000) << 16
                archive.writestr(info, path.read_bytes())
        for name, text in (extra or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100755 << 16
            archive.writestr(info, text)
    return buf.getvalue()


def _run(argv: list[str], **options: object) -> None:
    try:
        subprocess.run(argv, check=True, capture_output=True, timeout=300, **options)  # type: ignore[call-overload]
    except (OSError, subprocess.SubprocessError) as exc:
        raise Unavailable(f"{argv[0]} failed: {exc}") from exc


def _java(work: Path) -> bytes:
    javac = shutil.which("javac")
    if javac is None:
        raise Unavailable("no javac on this machine")
    interfaces = ROOT / "src" / "kindling" / "runtimes" / "java"
    out = work / "java"
    _run([javac, "-implicit:none", "-sourcepath", str(interfaces), "-d", str(out), "example/Hello.java"],
         cwd=EXAMPLES / "java")  # fmt: skip
    return _zip(out)


def _go(work: Path) -> bytes:
    go = shutil.which("go")
    if go is None:
        raise Unavailable("go is not installed (make install adds Debian's golang-go)")
    cache = work / "go-cache"
    env = {**os.environ, "GOCACHE": str(cache), "GOPATH": str(cache / "path"), "GOPROXY": "off", "CGO_ENABLED": "0"}
    out = work / "go"
    out.mkdir()
    _run([go, "build", "-o", str(out / "bootstrap"), "main.go"], cwd=EXAMPLES / "go", env=env)
    return _zip(out)


def _awslambdaric(work: Path) -> bytes:
    out = work / "ric"
    _run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target", str(out),
          "--python-version", "3.12", "--only-binary=:all:", "--implementation", "cp",
          "--platform", "manylinux2014_x86_64", "awslambdaric"])  # fmt: skip
    return _zip(out, {"app.py": PY_HANDLER, "bootstrap": RIC_BOOTSTRAP})


def _node_ric(work: Path) -> bytes:
    node = os.path.realpath(shutil.which("node") or "")
    if not (NODE_RIC / "dist").is_dir() or not node.startswith("/usr/"):
        raise Unavailable("not built: run tests/runtimes/test_runtime_api_node_ric.py once (needs node under /usr)")
    tree = work / "node-ric"
    shutil.copytree(NODE_RIC, tree / "node_modules" / "aws-lambda-ric")
    shutil.copy2(EXAMPLES / "nodejs" / "index.mjs", tree / "index.mjs")
    return _zip(tree, {"bootstrap": NODE_RIC_BOOTSTRAP.format(node=node)})


PAUSE_S = 0.5
# label -> (runtime, handler, package builder)
TARGETS: dict[str, tuple[str, str, Callable[[Path], bytes]]] = {
    "python3.12": ("python3.12", "app.handler", lambda work: _zip(None, {"app.py": PY_HANDLER})),
    "nodejs20.x": ("nodejs20.x", "index.handler", lambda work: _zip(EXAMPLES / "nodejs")),
    "java17": ("java17", "example.Hello::handleRequest", _java),
    "ruby3.2": ("ruby3.2", "app.handler", lambda work: _zip(None, {"app.rb": RB_HANDLER})),
    "provided.al2023 (sh)": ("provided.al2023", "function.handler", lambda work: _zip(EXAMPLES / "provided-shell")),
    "provided.al2023 (Go)": ("provided.al2023", "bootstrap", _go),
    "provided.al2023 (awslambdaric)": ("provided.al2023", "app.handler", _awslambdaric),
    "provided.al2023 (aws-lambda-ric, Node)": ("provided.al2023", "index.handler", _node_ric),
}


def server_flags() -> tuple[str, ...]:
    """The bench's server maps ruby3.2 to the host's Ruby, as the tests do: Debian 12's is 3.1, a version no
    Lambda runtime name has, so without the mapping no Ruby runtime would be measured."""
    ruby = shutil.which("ruby")
    return ("--runtime", f"ruby3.2={ruby}") if ruby else ()


class _Connection:
    """One keep-alive connection with TCP_NODELAY: the time of an invoke, request sent to body read."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)
        self.conn.connect()
        assert self.conn.sock is not None
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def invoke(self, name: str) -> float:
        began = time.perf_counter()
        self.conn.request("POST", f"/2015-03-31/functions/{name}/invocations", body=b'{"name": "bench"}')
        reply = self.conn.getresponse()
        body = reply.read()
        elapsed = (time.perf_counter() - began) * 1000
        if reply.status != 200 or reply.getheader("X-Amz-Function-Error"):
            raise RuntimeError(f"{name}: status {reply.status}: {body[:200]!r}")
        return elapsed

    def close(self) -> None:
        self.conn.close()


def _available(port: int) -> set[str]:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", "/health")
        return set(json.loads(conn.getresponse().read())["runtimes"])
    finally:
        conn.close()


def measure_created(client: BaseClient, port: int, names: list[str], warm: int) -> dict:
    """The functions ``names`` (just created) timed, then deleted: ``len(names) - 1`` cold starts ``PAUSE_S``
    apart (cold starts come one by one, not back to back) after the first, which is not counted: the first
    of a kind since the server started is what seeds its pre-started pool; then ``warm`` warm invokes."""
    try:
        connection = _Connection(port)
        try:
            connection.invoke(names[0])
            cold = []
            for name in names[1:]:
                time.sleep(PAUSE_S)
                cold.append(connection.invoke(name))
            warm_ms = [connection.invoke(names[1]) for _ in range(warm)]
        finally:
            connection.close()
    finally:
        for name in names:
            client.delete_function(FunctionName=name)
    return {
        "cold_p50_ms": round(statistics.median(cold), 2),
        "cold_max_ms": round(max(cold), 2),
        "cold_n": len(cold),
        "warm_p50_ms": round(statistics.median(warm_ms), 3),
        "warm_n": len(warm_ms),
    }


def _measure_one(client: BaseClient, port: int, label: str, code: bytes, count: int, warm: int) -> dict:
    runtime, handler, _ = TARGETS[label]
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    names = [f"rt-{slug}-{i}" for i in range(count + 1)]
    for name in names:
        client.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler,
                               Code={"ZipFile": code}, MemorySize=MEMORY_SIZE, Timeout=30)  # fmt: skip
    return measure_created(client, port, names, warm)


def measure_runtimes(client: BaseClient, port: int, progress: Progress, count: int = 5, warm: int = 200) -> dict:
    """{label: {cold_p50_ms, cold_max_ms, cold_n, warm_p50_ms, warm_n} or {unavailable: reason}} per runtime."""
    results: dict[str, dict] = {}
    available = _available(port)
    with tempfile.TemporaryDirectory(prefix="kindling-bench-runtimes.") as tmp:
        for label, (runtime, _, build) in TARGETS.items():
            if runtime not in available:
                results[label] = {"unavailable": f"{runtime} is not available on this server"}
                progress(f"runtimes: {label}: not available")
                continue
            try:
                code = build(Path(tmp))
                progress(f"runtimes: {label}: {count} cold starts, {warm} warm invokes")
                results[label] = _measure_one(client, port, label, code, count, warm)
            except (Unavailable, BotoCoreError, ClientError, OSError, RuntimeError) as exc:
                results[label] = {"unavailable": str(exc)}
                progress(f"runtimes: {label}: {exc}")
                continue
            row = results[label]
            progress(f"runtimes: {label}: cold p50 {row['cold_p50_ms']} ms, warm p50 {row['warm_p50_ms']} ms")
    return results
