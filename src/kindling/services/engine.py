"""The synchronous side: moto's WSGI apps, one per service, called from the adapter's one thread.

Requests run one at a time, in the order the journal records them, and each starts from a seed of moto's
random source that the journal keeps: running the journal again after a restart recreates the same
queue URLs, instance ids, receipt handles and upload ids. Nothing here touches the event loop.
"""

from __future__ import annotations

import datetime
import gc
import json
import logging
import sys
from dataclasses import dataclass
from html import escape
from typing import IO, Any
from urllib.parse import unquote_to_bytes

from moto.backends import get_backend
from moto.core.base_backend import BackendDict
from moto.moto_api._internal import mock_random
from moto.moto_server.werkzeug_app import create_backend_app

from . import moto_patches
from .routing import JSON_SERVICES

log = logging.getLogger("kindling.services")
_FORM = "application/x-www-form-urlencoded"
LARGE_BODY = 1024 * 1024


@dataclass
class Call:
    service: str
    method: str
    path: str  # raw, percent-encoded as received (latin-1)
    query: str
    headers: list[tuple[str, str]]
    client: str = ""  # the caller's address
    caller: Any = None  # who the gate verified (auth.gate.Caller), for authorization; None when replayed


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class Engine:
    def __init__(self, account_id: str, host: str) -> None:
        moto_patches.apply()
        self.account_id = account_id
        self.host = host
        self.apps: dict[str, Any] = {}
        self.used: set[str] = set()  # the services whose state is kept in snapshots

    def run(self, call: Call, body: IO[bytes], size: int, seed: int) -> Answer:
        app = self.apps.get(call.service)
        if app is None:
            if call.service in ("iam", "sts"):
                moto_patches.managed_policies()
            app = self.apps[call.service] = create_backend_app(call.service)
        self.used.add(call.service)
        mock_random.seed(seed)
        moto_patches.CALL.reset(_access_key(call.headers), call.client, _signed_at(call.headers))
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            started[:] = [status, headers]

        try:
            chunks = app(self._environ(call, body, size), start_response)
            try:
                payload = b"".join(chunks)
            finally:
                getattr(chunks, "close", lambda: None)()
        except Exception as error:  # moto's own bugs become an AWS-shaped 500, never a stack trace
            log.exception("%s %s %s failed in the emulator", call.service, call.method, call.path)
            return _internal_error(call.service, error)
        finally:
            if size > LARGE_BODY:
                gc.collect()  # the request's body sits in reference cycles of werkzeug's: free it now, not later
        status, headers = started
        code = int(status.split(" ", 1)[0])
        if code == 404 and not payload and call.service != "s3":
            return _unknown_operation(call.service)  # moto's bare 404 for an operation it has no route for
        encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        return Answer(code, encoded, payload)

    def _environ(self, call: Call, body: IO[bytes], size: int) -> dict[str, Any]:
        host, _, port = self.host.partition(":")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": call.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(call.path).decode("latin-1"),
            "RAW_URI": call.path + (f"?{call.query}" if call.query else ""),
            "QUERY_STRING": call.query,
            "SERVER_NAME": host,
            "SERVER_PORT": port or "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": body,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(size),
        }
        for name, value in call.headers:
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                if key == "CONTENT_TYPE":
                    environ[key] = value
                continue
            key = "HTTP_" + key
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        if call.service == "s3" and call.method == "PUT" and environ.get("CONTENT_TYPE", "").startswith(_FORM):
            # curl -d and urllib label any body a form: werkzeug would parse it away and store an empty object
            environ["CONTENT_TYPE"] = "binary/octet-stream"
        environ.setdefault("HTTP_HOST", self.host)
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = self.account_id  # every service answers for Kindling's account
        return environ

    def state(self) -> dict[str, Any]:
        """service -> account -> region -> backend, of the services used so far."""
        return {
            service: {account: dict(regions) for account, regions in get_backend(service).items()}
            for service in sorted(self.used)
        }

    def restore(self, state: dict[str, Any]) -> None:
        for service, accounts in state.items():
            backends = get_backend(service)
            assert isinstance(backends, BackendDict)
            for account, regions in accounts.items():
                for region, backend in regions.items():
                    dict.__setitem__(backends[account], region, backend)
            self.used.add(service)


def _access_key(headers: list[tuple[str, str]]) -> str:
    for name, value in headers:
        if name.lower() == "authorization" and "Credential=" in value:
            return value.split("Credential=", 1)[1].split("/", 1)[0]
    return ""


def _signed_at(headers: list[tuple[str, str]]) -> datetime.datetime | None:
    for name, value in headers:
        if name.lower() == "x-amz-date":
            try:
                return datetime.datetime.strptime(value, "%Y%m%dT%H%M%SZ")
            except ValueError:
                return None
    return None


def _error(service: str, status: int, json_code: str, xml_code: str, message: str) -> Answer:
    """An error in the service's wire protocol: JSON for the X-Amz-Target APIs, XML for the query ones."""
    if service in JSON_SERVICES:
        body = json.dumps({"__type": json_code, "message": message}).encode()
        return Answer(status, [(b"content-type", b"application/x-amz-json-1.1")], body)
    kind = "Sender" if status < 500 else "Receiver"
    error = f"<Type>{kind}</Type><Code>{xml_code}</Code><Message>{message}</Message>"
    xml = f"<ErrorResponse><Error>{error}</Error></ErrorResponse>"
    return Answer(status, [(b"content-type", b"text/xml")], xml.encode())


def _internal_error(service: str, error: Exception) -> Answer:
    if isinstance(error, (KeyError, TypeError, ValueError)):  # moto reading a member the request lacks or garbles
        message = f"The request is not valid for this operation ({type(error).__name__}: {error})."
        return _error(service, 400, "ValidationException", "ValidationError", escape(message))
    message = f"The service had an internal error ({type(error).__name__})."
    return _error(service, 500, "InternalFailure", "InternalError", message)


def _unknown_operation(service: str) -> Answer:
    return _error(
        service, 400, "UnknownOperationException", "InvalidAction", "The action is not valid for this service."
    )
