"""HTTP requests/s through a Kindling function URL, 4 concurrent clients, beside serverless-offline's HTTP
endpoint (an ``httpApi`` event) and the floor, in the same run.

    measure_http(kit, client, port, code, kit_path, workdir, progress) -> dict

serverless-offline's HTTP endpoint needs an ``httpApi`` event, which the kit's serverless.yml does not have:
this module writes a service folder of its own (that serverless.yml, the kit's handler, a link to the
installed node_modules) and runs the serverless-offline the kit installed, exactly as the kit's start.sh
does for its Lambda endpoint. The floor is the kit's own (start.sh floor), driven with its invoke request.
Every target runs the kit's hello handler, and each client process keeps one connection alive.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import ModuleType

from botocore.client import BaseClient

import kindling_server
from kit import Progress

CLIENTS = 4
TARGET_RATIO = 2.0  # Kindling's URL at least 2x serverless-offline's HTTP endpoint
SERVERLESS_YML = """service: bench
frameworkVersion: "3"
provider:
  name: aws
  runtime: python3.11
  stage: dev
  region: us-east-1
  timeout: 30
plugins:
  - serverless-offline
functions:
  fn:
    handler: handler.handler
    events:
      - httpApi:
          path: /hello
          method: get
"""
# (host, port, method, path, headers, body): one request as a client sends it
Request = tuple[str, int, str, str, dict[str, str], bytes]


def _client(request: Request, seconds: float, start: float, out: multiprocessing.Queue) -> None:
    host, port, method, path, headers, body = request
    connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.connect()
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while time.time() < start:
        time.sleep(0.001)
    ok = errors = 0
    deadline = start + seconds
    while time.time() < deadline:
        try:
            connection.request(method, path, body=body or None, headers=headers)
            reply = connection.getresponse()
            answer = reply.read()
            if reply.status == 200 and b"hello" in answer:
                ok += 1
            else:
                errors += 1
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.close()
    out.put((ok, errors))


def load(request: Request, seconds: float, clients: int = CLIENTS) -> dict:
    """Requests/s of ``clients`` processes sending ``request`` back to back for ``seconds``."""
    context = multiprocessing.get_context("fork")
    out: multiprocessing.Queue = context.Queue()
    start = time.time() + 0.5  # every client connected before the clock starts
    workers = [context.Process(target=_client, args=(request, seconds, start, out)) for _ in range(clients)]
    for worker in workers:
        worker.start()
    totals = [out.get(timeout=seconds + 60) for _ in workers]
    for worker in workers:
        worker.join()
    ok = sum(t[0] for t in totals)
    return {
        "clients": clients,
        "seconds": seconds,
        "ok": ok,
        "errors": sum(t[1] for t in totals),
        "rps": round(ok / seconds, 1),
    }


def _warm(request: Request, count: int = 20) -> None:
    host, port, method, path, headers, body = request
    for _ in range(count):
        connection = http.client.HTTPConnection(host, port, timeout=60)
        connection.request(method, path, body=body or None, headers=headers)
        connection.getresponse().read()
        connection.close()


def _kindling_url(client: BaseClient, port: int, code: bytes) -> Request:
    kindling_server.deploy(client, "http-hello", code)
    url = client.create_function_url_config(FunctionName="http-hello", AuthType="NONE")["FunctionUrl"]
    client.add_permission(
        FunctionName="http-hello",
        StatementId="public",
        Action="lambda:InvokeFunctionUrl",
        Principal="*",
        FunctionUrlAuthType="NONE",
    )
    host = url.split("//", 1)[1].rstrip("/")
    return (kindling_server.HOST, port, "GET", "/", {"Host": host}, b"")


def _start_serverless(kit: ModuleType, kit_path: Path, workdir: Path) -> tuple[subprocess.Popen, int] | str:
    """serverless-offline with an httpApi route to the kit's handler; (process, HTTP port) or why not."""
    node_modules = Path(kit.default_peers_dir()) / "serverless-offline" / "node_modules"
    node = shutil.which("node")
    if node is None or not (node_modules / "serverless" / "bin" / "serverless.js").is_file():
        return "not installed: node or the kit's serverless-offline is missing"
    service = workdir / "sls-http"
    service.mkdir()
    shutil.copy(kit_path / "handler" / "handler.py", service / "handler.py")
    (service / "serverless.yml").write_text(SERVERLESS_YML)
    (service / "node_modules").symlink_to(node_modules)
    venv = Path(kit.default_peers_dir()) / "venv"
    http_port, lambda_port, ws_port, alb_port = (kit.free_port() for _ in range(4))
    env = dict(
        os.environ,
        PATH=f"{venv / 'bin'}:{os.environ.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        SLS_TELEMETRY_DISABLED="1",
        SLS_NOTIFICATIONS_MODE="off",
        SLS_DEPRECATION_DISABLE="*",
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
    )
    argv = [node, str(node_modules / "serverless" / "bin" / "serverless.js"), "offline", "start", "--host",
            "127.0.0.1", "--httpPort", str(http_port), "--lambdaPort", str(lambda_port), "--websocketPort",
            str(ws_port), "--albPort", str(alb_port)]  # fmt: skip
    with open(workdir / "sls-http.log", "wb") as log:
        proc = subprocess.Popen(
            argv, cwd=service, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"not started: serverless-offline exited ({proc.returncode}), see {workdir / 'sls-http.log'}"
        try:
            socket.create_connection(("127.0.0.1", http_port), timeout=1).close()
            return proc, http_port
        except OSError:
            time.sleep(0.2)
    kit.stop_process_tree(proc)
    return "not started: serverless-offline's HTTP port did not open within 60 s"


def measure_http(
    kit: ModuleType,
    client: BaseClient,
    port: int,
    code: bytes,
    kit_path: Path,
    workdir: Path,
    progress: Progress,
    seconds: float = 5.0,
) -> dict:
    """{"kindling_url", "serverless_offline_http", "floor": {rps...} or {"unmeasured": why}, "ratios", "target"}."""
    results: dict[str, dict] = {}
    url = _kindling_url(client, port, code)
    _warm(url)
    progress(f"http: kindling function URL, {CLIENTS} clients, {seconds:.0f} s")
    results["kindling_url"] = load(url, seconds)

    started = _start_serverless(kit, kit_path, workdir)
    if isinstance(started, str):
        results["serverless_offline_http"] = {"unmeasured": started}
    else:
        proc, http_port = started
        try:
            request = ("127.0.0.1", http_port, "GET", "/hello", {}, b"")
            _warm(request)
            progress(f"http: serverless-offline httpApi endpoint, {CLIENTS} clients, {seconds:.0f} s")
            results["serverless_offline_http"] = load(request, seconds)
        finally:
            kit.stop_process_tree(proc)

    try:
        floor = kit.start_peer("floor", kit.default_peers_dir(), str(kit_path / "handler"), 60, str(workdir))
    except Exception as exc:  # the kit raises its own PeerError
        results["floor"] = {"unmeasured": f"not started: {exc}"}
    else:
        try:
            request = ("127.0.0.1", floor.port, "POST", "/2015-03-31/functions/fn/invocations", {}, b"{}")
            _warm(request)
            progress(f"http: floor, {CLIENTS} clients, {seconds:.0f} s")
            results["floor"] = load(request, seconds)
        finally:
            kit.stop_process_tree(floor.proc)

    mine = results["kindling_url"]["rps"]
    ratios = {
        name: round(mine / other["rps"], 2) if other.get("rps") else None
        for name, other in results.items()
        if name != "kindling_url"
    }
    versus = ratios.get("serverless_offline_http")
    results["ratios"] = ratios  # type: ignore[assignment]
    results["target"] = {
        "target": f"function URL rps c={CLIENTS} >= {TARGET_RATIO:g}x serverless-offline's HTTP endpoint",
        "limit": TARGET_RATIO,
        "measured": versus,
        "pass": None if versus is None else versus >= TARGET_RATIO,
    }
    return results
