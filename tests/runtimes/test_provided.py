"""Custom runtimes (``provided.al2023``, ``provided.al2``): an executable ``bootstrap`` that talks the
HTTP Runtime API, in shell + curl and as Python's official client (awslambdaric)."""

from __future__ import annotations

import contextlib
import itertools
import socket

import pytest

from runtime_helpers import CLIENT_CONTEXT, create, invoke, pip_target, zip_tree
from support import deleting, make_zip, running

_names = itertools.count()

# A bootstrap in shell + curl. It reports what the Runtime API told it and, in its next response, the
# status codes of the calls it made: a wrong request id, the real response, a second response for it.
CURL_BOOTSTRAP = r"""#!/bin/sh
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
echo "bootstrap started in $(pwd)"
while :; do
  curl -sS -D /tmp/headers -o /tmp/event "$api/invocation/next"
  header() { sed -n "s/^$1: *//Ip" /tmp/headers | tr -d '\r'; }
  id=$(header Lambda-Runtime-Aws-Request-Id)
  case "$(cat /tmp/event)" in
    *crash*) exit 3 ;;
    *sleep*) sleep 30 ;;
    *fail*)
      curl -sS -o /dev/null -X POST -H "Lambda-Runtime-Function-Error-Type: Unhandled" \
        -d '{"errorType":"MyError","errorMessage":"it failed","stackTrace":["line 1"]}' "$api/invocation/$id/error"
      continue ;;
    *big*)
      head -c 7000000 /dev/zero | tr '\0' a > /tmp/body
      curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @/tmp/body "$api/invocation/$id/response" > /tmp/statuses
      continue ;;
  esac
  context=$(header Lambda-Runtime-Client-Context)
  printf '{"event":%s,"request_id":"%s","deadline":%s,"arn":"%s","trace":"%s","client_context":%s,"api":"%s","cwd":"%s","exec_env":"%s","handler":"%s","previous":"%s"}' \
    "$(cat /tmp/event)" "$id" "$(header Lambda-Runtime-Deadline-Ms)" "$(header Lambda-Runtime-Invoked-Function-Arn)" \
    "$(header Lambda-Runtime-Trace-Id)" "${context:-null}" "$AWS_LAMBDA_RUNTIME_API" "$(pwd)" \
    "${AWS_EXECUTION_ENV:-unset}" "$_HANDLER" "$(cat /tmp/statuses 2>/dev/null)" > /tmp/body
  wrong=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "$api/invocation/not-$id/response")
  ok=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary @/tmp/body "$api/invocation/$id/response")
  again=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d '{}' "$api/invocation/$id/response")
  echo "$wrong $ok $again" > /tmp/statuses
done
"""

INIT_ERROR_BOOTSTRAP = r"""#!/bin/sh
curl -sS -X POST -H "Lambda-Runtime-Function-Error-Type: Runtime.ConfigError" \
  -d '{"errorType":"Runtime.ConfigError","errorMessage":"missing setting"}' \
  "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/init/error"
exit 1
"""

# the same handler runs on the built-in python3.12 runtime and on awslambdaric: results must match
PY_APP = """import os

def handler(event, context):
    if event.get("fail"):
        raise ValueError("boom " + event["fail"])
    print("hello from", context.function_name)
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "remaining_ok": 0 < context.get_remaining_time_in_millis() <= 3000,
        "custom": context.client_context.custom if context.client_context else None,
        "cwd": os.getcwd(),
        "handler": os.environ["_HANDLER"],
        "task_root": os.environ["LAMBDA_TASK_ROOT"],
    }
"""
RIC_BOOTSTRAP = "#!/bin/sh\nexec /var/lang/bin/python3.12 -m awslambdaric app.handler\n"


@pytest.fixture
def functions(lam):  # type: ignore[no-untyped-def]
    with deleting(lam) as created:

        def _create(runtime: str, code: bytes, **settings: object) -> str:
            name = create(lam, f"custom-{next(_names)}", runtime, code, **settings)
            created.append(name)
            return name

        yield _create


def curl_function(functions, runtime: str = "provided.al2023", **settings: object) -> str:  # type: ignore[no-untyped-def]
    return functions(runtime, make_zip({"bootstrap": CURL_BOOTSTRAP}, {"bootstrap": 0o755}), **settings)


@pytest.mark.parametrize("runtime", ["provided.al2023", "provided.al2"])
def test_curl_bootstrap_gets_the_event_and_every_header(lam, functions, runtime):
    name = curl_function(functions, runtime)
    body, error, log = invoke(lam, name, {"n": 1}, ClientContext=CLIENT_CONTEXT)
    assert error is None, body
    assert body["event"] == {"n": 1}
    assert body["arn"].endswith(f":function:{name}")
    assert body["client_context"] == {"custom": {"k": "v"}}
    assert body["api"].startswith("127.0.0.1:") and body["cwd"] == "/var/task"
    assert body["exec_env"] == "unset"  # Lambda sets no AWS_EXECUTION_ENV for custom runtimes
    assert body["handler"] == "app.handler"
    assert len(str(body["deadline"])) == 13  # epoch milliseconds
    assert "bootstrap started in /var/task" in log
    assert f"START RequestId: {body['request_id']}" in log  # the id the runtime was given
    again, error, _ = invoke(lam, name, {"n": 2})
    assert error is None and again["event"] == {"n": 2} and again["request_id"] != body["request_id"]
    assert again["previous"] == "400 202 403"  # wrong id, the response, a second response for the same id


def test_errors_init_errors_and_oversized_responses(lam, functions):
    name = curl_function(functions, MemorySize=1769)  # a whole CPU to write 7 MB with tr
    body, error, _ = invoke(lam, name, {"fail": True})
    assert error == "Unhandled"
    assert body == {"errorType": "MyError", "errorMessage": "it failed", "stackTrace": ["line 1"]}
    body, error, _ = invoke(lam, name, {"big": True})
    assert error == "Unhandled" and body["errorType"] == "Function.ResponseSizeTooLarge"
    body, _, _ = invoke(lam, name, {"n": 3})
    assert body["event"] == {"n": 3}  # the same runtime goes on serving
    assert body["previous"] == "413"  # what the Runtime API told it about the oversized response

    broken = functions("provided.al2023", make_zip({"bootstrap": INIT_ERROR_BOOTSTRAP}, {"bootstrap": 0o755}))
    body, error, _ = invoke(lam, broken)
    assert error == "Unhandled"
    assert body == {"errorType": "Runtime.ConfigError", "errorMessage": "missing setting"}


def test_a_runtime_that_dies_holding_an_invocation_fails_it_at_once(lam, functions):
    name = curl_function(functions, Timeout=30)
    body, error, _ = invoke(lam, name, {"crash": True})
    assert error == "Unhandled" and body["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in body["errorMessage"]
    assert invoke(lam, name, {"n": 4})[0]["event"] == {"n": 4}  # a fresh runtime takes the next event


def test_timeouts_restart_the_custom_runtime(lam, functions):
    name = curl_function(functions, Timeout=1)
    body, error, _ = invoke(lam, name, {"sleep": True})
    assert error == "Unhandled" and body["errorType"] == "Sandbox.Timedout"
    assert invoke(lam, name, {"n": 5})[0]["event"] == {"n": 5}


def test_a_missing_or_unexecutable_bootstrap_is_an_invalid_entrypoint(lam, functions):
    missing = functions("provided.al2023", make_zip({"readme.txt": "no bootstrap here"}))
    body, error, _ = invoke(lam, missing)
    assert error == "Unhandled" and body == {
        "errorType": "Runtime.InvalidEntrypoint",
        "errorMessage": "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]",
    }
    plain = functions("provided.al2023", make_zip({"bootstrap": "#!/bin/sh\n"}))  # mode 0644
    body, _, _ = invoke(lam, plain)
    assert body["errorMessage"] == "fork/exec /var/task/bootstrap: permission denied"


@pytest.fixture(scope="module")
def ric_package(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    target = pip_target(tmp_path_factory.mktemp("ric"), "awslambdaric")
    return zip_tree(target, {"app.py": PY_APP, "bootstrap": RIC_BOOTSTRAP}, executable=("bootstrap",))


def test_awslambdaric_behaves_like_the_builtin_python_runtime(lam, functions, server, ric_package):
    if "python3.12" not in server.health()["runtimes"]:
        pytest.skip("no python3.12 on this machine")
    builtin = functions("python3.12", make_zip({"app.py": PY_APP}))
    ric = functions("provided.al2023", ric_package)
    results = {}
    for name in (builtin, ric):
        body, error, log = invoke(lam, name, {"x": [1, 2]}, ClientContext=CLIENT_CONTEXT)
        assert error is None, body
        assert f"hello from {name}" in log and f"START RequestId: {body['request_id']}" in log
        assert body.pop("function_name") == name and body.pop("arn").endswith(f":function:{name}")
        body.pop("request_id")
        failure, error, failure_log = invoke(lam, name, {"fail": "x"})
        assert error == "Unhandled" and failure["requestId"] in failure_log
        failure.pop("requestId")
        results[name] = (body, failure)
    assert results[builtin] == results[ric]
    body, failure = results[ric]
    assert body == {
        "event": {"x": [1, 2]}, "memory": "128", "remaining_ok": True, "custom": {"k": "v"},
        "cwd": "/var/task", "handler": "app.handler", "task_root": "/var/task",
    }  # fmt: skip
    assert failure["errorType"] == "ValueError" and failure["errorMessage"] == "boom x"
    assert 'raise ValueError("boom " + event["fail"])' in failure["stackTrace"][0]


def test_the_runtime_api_serves_only_the_environments_own_uid(lam, functions):
    name = curl_function(functions)
    address = invoke(lam, name)[0]["api"]
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:  # we are root, not the sandbox's uid
        sock.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
        with contextlib.suppress(ConnectionResetError):
            assert sock.recv(100) == b""  # closed unanswered
    assert invoke(lam, name, {"n": 6})[0]["event"] == {"n": 6}  # the event was not stolen


def test_runtime_api_runtimes_are_refused_without_a_network(tmp_path):
    with running(tmp_path / "data", "--no-network") as server:
        lam = server.client()
        with pytest.raises(lam.exceptions.InvalidParameterValueException, match="--no-network"):
            create(lam, "offline-custom", "provided.al2023", make_zip({"bootstrap": CURL_BOOTSTRAP}))
