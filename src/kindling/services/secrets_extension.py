"""The AWS Parameters and Secrets Lambda Extension's local interface, for functions that add its layer.

``GET /secretsmanager/get?secretId=…[&versionId=…|&versionStage=…]`` answers what ``GetSecretValue``
answers, ``GET /systemsmanager/parameters/get?name=…[&version=…|&label=…][&withDecryption=true]`` what
``GetParameter`` answers. The ``X-Aws-Parameters-Secrets-Token`` header must be the session token of the
calling environment's role credentials; the call is authorized as that role. Answers are cached per
session for ``SECRETS_MANAGER_TTL`` / ``SSM_PARAMETER_STORE_TTL`` seconds (the function's variables,
300 by default, 0: no cache), as the real extension caches them.

Served on Kindling's port and on ``127.0.0.1:2773`` (a pipe to the port), which a function with network
reaches as ``localhost:2773``; a function without network is given ``PARAMETERS_SECRETS_EXTENSION_HTTP_PORT``
= the port its sandbox's loopback forwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import ssl
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from ..auth.directory import Directory
from ..auth.gate import Caller

log = logging.getLogger("kindling.services")
SECRETS_PATH, PARAMETERS_PATH = "/secretsmanager/get", "/systemsmanager/parameters/get"
TOKEN_HEADER = b"x-aws-parameters-secrets-token"
DEFAULT_TTL_S = 300.0
MAX_ENTRIES = 1000  # the real extension's default PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE
LAYER_NAME = "AWS-Parameters-and-Secrets-Lambda-Extension"
DEFAULT_PORT = 2773
PORT_ENV = "KINDLING_SECRETS_EXTENSION_PORT"  # where on the host's loopback to serve it (0: only on the port)


def extension_port() -> int:
    return int(os.environ.get(PORT_ENV) or DEFAULT_PORT)


class SecretsExtension:
    def __init__(self, services: Any, directory: Directory) -> None:
        self.services = services  # adapter.AwsServices
        self.directory = directory
        self._cache: dict[tuple[str, str, str], tuple[float, int, bytes]] = {}

    def claims(self, scope: dict) -> bool:
        return scope["path"] in (SECRETS_PATH, PARAMETERS_PATH)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        token = next((v.decode("latin-1") for k, v in scope["headers"] if k == TOKEN_HEADER), "")
        identity = self.directory.by_token(token) if token else None
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if scope["method"] != "GET":
            return await _reply(send, 405, b"method not allowed")
        if identity is None:
            return await _reply(send, 401, b"not authorized: the X-Aws-Parameters-Secrets-Token header must be "
                                b"the function's AWS_SESSION_TOKEN")  # fmt: skip
        secrets = scope["path"] == SECRETS_PATH
        request = _secret_request(query) if secrets else _parameter_request(query)
        if request is None:
            name = "secretId" if secrets else "name"
            return await _reply(send, 400, f"the {name} query parameter is required".encode())
        settings = self.directory.settings(token)
        ttl = _ttl(settings.get("SECRETS_MANAGER_TTL" if secrets else "SSM_PARAMETER_STORE_TTL"))
        if settings.get("PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED", "true").lower() == "false":
            ttl = 0
        key = (token, scope["path"], json.dumps(request, sort_keys=True))
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return await _reply(send, cached[1], cached[2], json_body=True)
        service, target = ("secretsmanager", "secretsmanager.GetSecretValue") if secrets else (
            "ssm", "AmazonSSM.GetParameter")  # fmt: skip
        answer = await self.services.call_as(Caller(identity), service, target, request)
        if answer.status == 200 and ttl > 0:
            if len(self._cache) >= MAX_ENTRIES:
                self._evict(now)
            self._cache[key] = (now + ttl, answer.status, answer.body)
        return await _reply(send, answer.status, answer.body, json_body=True)

    def _evict(self, now: float) -> None:
        for key, (expires, _, _) in list(self._cache.items()):
            if expires <= now:
                del self._cache[key]
        while len(self._cache) >= MAX_ENTRIES:
            del self._cache[next(iter(self._cache))]


def _ttl(text: str | None) -> float:
    try:
        return max(0.0, float(text)) if text else DEFAULT_TTL_S
    except ValueError:
        return DEFAULT_TTL_S


def _secret_request(query: dict[str, str]) -> dict[str, str] | None:
    if not query.get("secretId"):
        return None
    request = {"SecretId": query["secretId"]}
    if query.get("versionId"):
        request["VersionId"] = query["versionId"]
    if query.get("versionStage"):
        request["VersionStage"] = query["versionStage"]
    return request


def _parameter_request(query: dict[str, str]) -> dict[str, Any] | None:
    name = query.get("name")
    if not name:
        return None
    selector = query.get("version") or query.get("label")
    request: dict[str, Any] = {"Name": f"{name}:{selector}" if selector and ":" not in name else name}
    request["WithDecryption"] = query.get("withDecryption", "false").lower() == "true"
    return request


async def _reply(send: Callable, status: int, body: bytes, json_body: bool = False) -> None:
    kind = b"application/json" if json_body else b"text/plain"
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class LocalPort:
    """``127.0.0.1:2773`` on the host, piped to Kindling's port: the extension's address for functions that
    share the host's network. Functions speak plain HTTP to it, as to the real extension; under ``--tls-cert``
    the pipe speaks TLS to the port, trusting exactly that certificate (the host name is not checked: the
    target is this server's own address)."""

    def __init__(self, port: int, target: tuple[str, int], tls_cert: str = "") -> None:
        self.port = port
        self.target = target
        self.tls: ssl.SSLContext | None = None
        if tls_cert:
            self.tls = ssl.create_default_context(cafile=tls_cert)
            self.tls.check_hostname = False
            self.tls.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN  # a CA-issued leaf is trusted as itself
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> bool:
        try:
            self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)
        except OSError as error:
            log.warning("the Parameters and Secrets extension's port %d is taken (%s): functions are given "
                        "the server's port instead", self.port, error.strerror)  # fmt: skip
            return False
        return True

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target, ssl=self.tls)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_copy(reader, up_writer), _copy(up_reader, writer))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while chunk := await reader.read(1 << 16):
            writer.write(chunk)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError, RuntimeError):
        writer.close()
