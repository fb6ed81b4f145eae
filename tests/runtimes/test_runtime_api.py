"""The Runtime API's contract as a custom runtime sees it: status codes and error bodies of every call."""

from __future__ import annotations

import os
import socket

from kindling.invoke.connection import socket_owner
from runtime_helpers import invoke
from support import ROLE, make_zip

# A bootstrap on Python's standard library (a fresh interpreter at /var/lang) that tries the calls a
# runtime can get wrong and returns what each answered: (status, errorType or body).
PROBE = r"""import http.client, json, os
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
conn = http.client.HTTPConnection(host, int(port))

def call(method, path, body=None, headers=None):
    conn.request(method, "/2018-06-01/runtime" + path, body=body, headers=headers or {})
    reply = conn.getresponse()
    data = reply.read()
    try:
        data = json.loads(data).get("errorType") or json.loads(data)
    except ValueError:
        data = data.decode()
    return [reply.status, data]

seen = {"unknown path": call("GET", "/nothing/here")}
while True:
    conn.request("GET", "/2018-06-01/runtime/invocation/next")
    reply = conn.getresponse()
    event, rid = json.loads(reply.read()), reply.headers["Lambda-Runtime-Aws-Request-Id"]
    seen["next while holding"] = call("GET", "/invocation/next")
    seen["init error after next"] = call("POST", "/init/error", b"{}")
    seen["bad mode"] = call("POST", f"/invocation/{rid}/response", b"1", {"Lambda-Runtime-Function-Response-Mode": "sideways"})
    seen["unknown id"] = call("POST", "/invocation/nope/error", b"{}")
    if event.get("plain_error"):
        seen["error"] = call("POST", f"/invocation/{rid}/error", b"not json", {"Lambda-Runtime-Function-Error-Type": "Custom.Kind"})
        continue
    body = json.dumps(seen).encode()
    seen = {"response": call("POST", f"/invocation/{rid}/response", body)}
    seen["after response"] = call("POST", f"/invocation/{rid}/error", b"{}")
"""


def test_status_codes_of_the_runtime_api(lam):
    name = "runtime-api-probe"
    code = make_zip(
        {"bootstrap": "#!/bin/sh\nexec /var/lang/bin/python3 /var/task/probe.py\n", "probe.py": PROBE},
        {"bootstrap": 0o755},
    )
    lam.create_function(FunctionName=name, Runtime="provided.al2023", Role=ROLE, Handler="x", Code={"ZipFile": code})
    try:
        first, error, _ = invoke(lam, name)
        assert error is None, first
        assert first == {
            "unknown path": [404, "InvalidRequest"],
            "next while holding": [403, "InvalidStateTransition"],
            "init error after next": [403, "InvalidStateTransition"],
            "bad mode": [400, "InvalidFunctionResponseMode"],
            "unknown id": [400, "InvalidRequestID"],
        }
        body, error, _ = invoke(lam, name, {"plain_error": True})
        # a body that is not Lambda's error shape is wrapped in one, typed by the header
        assert error == "Unhandled" and body == {"errorMessage": "not json", "errorType": "Custom.Kind"}
        later, _, _ = invoke(lam, name)  # what the first two answers were told
        assert later["response"] == [202, {"status": "OK"}] and later["error"] == [202, {"status": "OK"}]
        assert later["after response"] == [403, "InvalidStateTransition"]  # one answer per request id
    finally:
        lam.delete_function(FunctionName=name)


def test_socket_owner_finds_the_uid_behind_a_loopback_connection():
    with socket.create_server(("127.0.0.1", 0)) as listener, socket.create_connection(listener.getsockname()):
        accepted, peer = listener.accept()
        with accepted:
            assert socket_owner(peer, accepted.getsockname()) == os.getuid()
            assert socket_owner(peer, ("127.0.0.1", 1)) is None
