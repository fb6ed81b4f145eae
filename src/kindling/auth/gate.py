"""The front of the port: every request is authenticated here before any API sees it.

In ``iam`` mode a request must carry a valid SigV4 signature from a known key (header or presigned query);
the few public doors (``/health``, function URLs and route tables, whose own rules decide) let unsigned
requests through, but a signature shown there is still checked. The verified caller is put in a context
variable for the APIs behind (authorization, audit). In ``open`` mode nothing is checked; the caller is the
key the request claims, for the audit trail. The Invoke fast lane is wrapped the same way (``lane``).
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from ..ids import request_id as new_request_id
from .identities import Identity, IdentitySource
from .sigv4 import AuthFailure, Verifier, unrecognized

Asgi = Callable[[dict, Callable, Callable], Awaitable[None]]
Refused = Callable[["Caller", str, str, AuthFailure, str], None]  # caller, method, path, failure, request id
_XML_SERVICES = ("iam", "sts", "sqs", "sns", "ec2", "cloudformation", "ses", "monitoring")


@dataclass(frozen=True)
class Caller:
    """Who is calling, and from where: what authorization and the audit trail read."""

    identity: Identity
    source_ip: str = ""
    user_agent: str = ""
    secure: bool = False
    verified: bool = True


CALLER: ContextVar[Caller | None] = ContextVar("kindling_caller", default=None)


def current() -> Caller | None:
    return CALLER.get()


def _credential(authorization: str, query: str) -> str:
    source = authorization if "Credential=" in authorization else query.replace("X-Amz-Credential=", "Credential=")
    start = source.find("Credential=")
    return source[start + 11 :].split("/", 1)[0].split("%2F", 1)[0] if start >= 0 else ""


def signature_shown(headers: list[tuple[bytes, bytes]], query: bytes) -> bool:
    return b"X-Amz-Signature=" in query or any(name == b"authorization" for name, _ in headers)


def refusal(
    failure: AuthFailure, headers: dict[str, str], request_id: str
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """AWS's 403 in the protocol of the API asked: JSON with ``__type`` for ``X-Amz-Target`` APIs, XML for
    the query and S3 APIs, the Lambda REST JSON shape otherwise."""
    scope = headers.get("authorization", "").split("/")
    service = scope[3] if len(scope) > 3 else ""
    base = [(b"x-amzn-requestid", request_id.encode())]
    if "x-amz-target" in headers:
        body = json.dumps({"__type": failure.code, "message": failure.message}).encode()
        return 403, [(b"content-type", b"application/x-amz-json-1.1"), *base], body
    if service == "s3" or service in _XML_SERVICES or "x-www-form-urlencoded" in headers.get("content-type", ""):
        message = failure.message.replace("&", "&amp;").replace("<", "&lt;")
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>Sender</Type><Code>{failure.code}'
            f"</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        return 403, [(b"content-type", b"text/xml"), *base], body
    body = json.dumps({"message": failure.message}).encode()
    return 403, [(b"content-type", b"application/json"), (b"x-amzn-errortype", failure.code.encode()), *base], body


class Gate:
    def __init__(
        self,
        app: Asgi,
        identities: IdentitySource,
        enforce: bool,
        public: Callable[[dict], bool],
        refused: Refused | None = None,
    ) -> None:
        self.app = app
        self.identities = identities
        self.enforce = enforce
        self.public = public
        self.refused = refused
        self.verifier = Verifier(identities.secret_for)
        self._claimed: dict[str, Identity] = {}

    def claimed(self, access_key: str) -> Identity:
        """Open mode's caller: the identity of a key we know, else the root account under the key claimed."""
        found = self.identities.identity_for(access_key) or self._claimed.get(access_key)
        if found is None:
            root = self.identities.root
            found = self._claimed.setdefault(
                access_key, Identity(root.arn, root.account, "Root", "", root.principal_id, access_key)
            )
        return found

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        raw = scope["headers"]
        query: bytes = scope.get("query_string", b"")
        ip = (scope.get("client") or ("", 0))[0]
        agent = next((v.decode("latin-1") for k, v in raw if k == b"user-agent"), "")
        secure = scope.get("scheme") == "https"
        if not self.enforce:
            authorization = next((v.decode("latin-1") for k, v in raw if k == b"authorization"), "")
            key = _credential(authorization, query.decode("latin-1"))
            CALLER.set(Caller(self.claimed(key), ip, agent, secure, verified=False))
            return await self.app(scope, receive, send)
        if self.public(scope) and not signature_shown(raw, query):
            return await self.app(scope, receive, send)
        body, replay = await _buffered(receive)
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        target = raw_path + ("?" + query.decode("latin-1") if query else "")
        try:
            caller = self._verify(scope["method"], target, raw, body, ip, agent, secure)
        except AuthFailure as failure:
            request_id = new_request_id()
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw]
            self._refuse(failure, headers, scope["method"], raw_path, ip, agent, request_id)
            status, reply_headers, reply = refusal(failure, dict(headers), request_id)
            reply_headers.append((b"content-length", str(len(reply)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": reply_headers})
            await send({"type": "http.response.body", "body": reply})
            return None
        CALLER.set(caller)
        return await self.app(scope, replay, send)

    def _verify(
        self,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        ip: str,
        agent: str,
        secure: bool,
    ) -> Caller:
        signed = self.verifier.verify(method, target, headers, body)
        identity = self.identities.identity_for(signed.access_key)
        if identity is None:  # deleted between the two questions
            raise unrecognized()
        if identity.token:
            _check_session(identity, headers, target)
        return Caller(identity, ip, agent, secure)

    def _refuse(
        self,
        failure: AuthFailure,
        headers: list[tuple[str, str]],
        method: str,
        path: str,
        ip: str,
        agent: str,
        request_id: str,
    ) -> None:
        if self.refused is None:
            return
        authorization = next((v for k, v in headers if k == "authorization"), "")
        key = _credential(authorization, path)
        who = self.identities.identity_for(key) or Identity("", "", "Unknown", "", "", key)
        self.refused(Caller(who, ip, agent, verified=False), method, path, failure, request_id)

    def lane(self, lane: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """The Invoke fast lane behind the same check: a wire request that the lane takes is verified with
        its body before the lane answers it."""
        if not self.enforce:
            return lane

        def take(wire: Any) -> Any:
            respond = lane(wire)
            if respond is None:
                return None
            method = wire.method.decode("latin-1")
            target = wire.url.decode("latin-1")
            agent = next((v.decode("latin-1") for k, v in wire.headers if k == b"user-agent"), "")

            async def checked(body: bytes) -> Any:
                try:
                    caller = self._verify(method, target, wire.headers, body, wire.client, agent, wire.secure)
                except AuthFailure as failure:
                    request_id = new_request_id()
                    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in wire.headers]
                    self._refuse(failure, headers, method, target.split("?", 1)[0], wire.client, agent, request_id)
                    return refusal(failure, dict(headers), request_id)
                CALLER.set(caller)
                return await respond(body)

            return checked

        return take


def _check_session(identity: Identity, headers: list[tuple[bytes, bytes]], target: str) -> None:
    """A temporary key is good only with its session token, and only until it expires."""
    shown = next((v.decode("latin-1") for k, v in headers if k == b"x-amz-security-token"), None)
    if shown is None:
        query = target.partition("?")[2]
        shown = next((unquote(v) for k, _, v in (p.partition("=") for p in query.split("&"))
                      if k == "X-Amz-Security-Token"), "")  # fmt: skip
    if not hmac.compare_digest(shown.encode(), identity.token.encode()):
        raise unrecognized()
    if identity.expires < time.time():
        raise AuthFailure("ExpiredTokenException", "The security token included in the request is expired")


async def _buffered(receive: Callable) -> tuple[bytes, Callable]:
    """The whole body (a signature covers it), and a ``receive`` that hands it on to the API behind."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay
