"""Plain-HTTP helpers for the function URL, route table and streaming tests (no tests here)."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from support import Server


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):  # type: ignore[no-untyped-def]
        return json.loads(self.body)


def request(
    server: Server,
    method: str,
    path: str,
    *,
    host: str | None = None,
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
    timeout: float = 60,
) -> Response:
    """One request to the server on 127.0.0.1, with any Host header (``*.localhost`` need not resolve)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        connection.putrequest(method, path, skip_host=host is not None, skip_accept_encoding=True)
        if host is not None:
            connection.putheader("Host", host)
        for name, value in headers or []:
            connection.putheader(name, value)
        if body or method in ("POST", "PUT", "PATCH"):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        reply = connection.getresponse()
        return Response(reply.status, reply.getheaders(), reply.read())
    finally:
        connection.close()


def url_parts(function_url: str) -> tuple[str, str]:
    """(Host header, url id) of a FunctionUrl such as http://<id>.lambda-url.us-east-1.localhost:9000/."""
    netloc = urlsplit(function_url).netloc
    return netloc, netloc.split(".", 1)[0]


def public_url(lam, name: str, qualifier: str | None = None, **config: object) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A function URL anyone may call (AuthType NONE plus the permission AWS requires for it)."""
    extra = {"Qualifier": qualifier} if qualifier else {}
    created = lam.create_function_url_config(FunctionName=name, AuthType="NONE", **extra, **config)
    lam.add_permission(
        FunctionName=name,
        StatementId="FunctionURLAllowPublicAccess",
        Action="lambda:InvokeFunctionUrl",
        Principal="*",
        FunctionUrlAuthType="NONE",
        **extra,
    )
    return url_parts(created["FunctionUrl"])
