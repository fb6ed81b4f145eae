"""Invoke as boto3 sees it: results, errors in Lambda's shapes, logs, context, environment."""

from __future__ import annotations

import base64
import contextlib
import json
import time
from urllib.parse import quote

import pytest

HELLO = {"app.py": "def handler(event, context):\n    return {'ok': True, 'event': event}\n"}


def invoke(lam, name: str, payload: bytes | str = b"{}", **kwargs):  # type: ignore[no-untyped-def]
    reply = lam.invoke(FunctionName=name, Payload=payload, **kwargs)
    return reply, json.loads(reply["Payload"].read() or b"null")


def log_tail(reply: dict) -> str:
    return base64.b64decode(reply["LogResult"]).decode()


def test_request_response_returns_the_handler_result(lam, deploy):
    name = deploy(HELLO)
    reply, body = invoke(lam, name, b'{"x": [1, 2]}')
    assert reply["StatusCode"] == 200
    assert reply["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in reply
    assert body == {"ok": True, "event": {"x": [1, 2]}}


def test_empty_payload_is_an_empty_event(lam, deploy):
    name = deploy(HELLO)
    _, body = invoke(lam, name, b"")
    assert body["event"] == {}


def function_log(server, name: str) -> str:  # type: ignore[no-untyped-def]
    """Everything the function's log streams hold so far (the Logs API is a later part)."""
    group = server.data_dir / "logs" / quote(f"/aws/lambda/{name}", safe="")
    return "".join(stream.read_text() for stream in group.glob("*")) if group.exists() else ""


def test_dry_run_and_event(lam, deploy, server):
    name = deploy({"app.py": "def handler(event, context):\n    print('event ran:', event['mark'])\n"})
    assert lam.invoke(FunctionName=name, InvocationType="DryRun")["StatusCode"] == 204
    assert "START" not in function_log(server, name)
    assert lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"mark": "m-42"}')["StatusCode"] == 202
    deadline = time.monotonic() + 10
    while "event ran: m-42" not in function_log(server, name) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "event ran: m-42" in function_log(server, name)


def test_log_tail_has_start_end_report_and_prints(lam, deploy):
    name = deploy(
        {
            "app.py": (
                "import logging\n"
                "print('cold init line')\n"
                "def handler(event, context):\n"
                "    print('hello from the handler')\n"
                "    logging.getLogger().warning('careful')\n"
                "    return 1\n"
            )
        },
        MemorySize=256,
    )
    first, _ = invoke(lam, name, LogType="Tail")
    text = log_tail(first)
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("START RequestId: "))
    assert lines[start].endswith("Version: $LATEST")
    assert "hello from the handler" in lines[start + 1]
    warning = next(line for line in lines if "careful" in line)
    request_id = lines[start].split()[2]
    assert warning.startswith("[WARNING]\t") and f"\t{request_id}\tcareful" in warning
    assert any(line == f"END RequestId: {request_id}" for line in lines)
    report = next(line for line in lines if line.startswith("REPORT"))
    fields = dict(part.split(": ", 1) for part in report.split("\t"))
    assert fields["REPORT RequestId"] == request_id
    assert fields["Memory Size"] == "256 MB"
    assert float(fields["Duration"].removesuffix(" ms")) >= 0
    assert int(fields["Max Memory Used"].removesuffix(" MB")) >= 5
    assert "Init Duration" in fields
    second, _ = invoke(lam, name, LogType="Tail")
    assert "Init Duration" not in log_tail(second)


def test_context_and_environment(lam, deploy):
    name = deploy(
        {
            "app.py": (
                "import os\n"
                "def handler(event, context):\n"
                "    keys = ['AWS_REGION', 'AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',\n"
                "            'AWS_LAMBDA_FUNCTION_VERSION', 'AWS_EXECUTION_ENV', 'AWS_LAMBDA_LOG_GROUP_NAME',\n"
                "            'AWS_LAMBDA_LOG_STREAM_NAME', 'LAMBDA_TASK_ROOT', '_HANDLER', 'MY_SETTING', 'TZ',\n"
                "            'AWS_LAMBDA_INITIALIZATION_TYPE']\n"
                "    cc = context.client_context\n"
                "    return {'env': {k: os.environ.get(k) for k in keys}, 'cwd': os.getcwd(),\n"
                "            'ctx': [context.function_name, context.function_version, context.memory_limit_in_mb,\n"
                "                    context.invoked_function_arn, context.log_group_name, context.log_stream_name,\n"
                "                    len(context.aws_request_id)],\n"
                "            'remaining': context.get_remaining_time_in_millis(),\n"
                "            'identity': [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],\n"
                "            'client': cc and [cc.client.app_title, cc.custom, cc.env]}\n"
            )
        },
        Timeout=7,
        MemorySize=512,
        Environment={"Variables": {"MY_SETTING": "on"}},
    )
    context = base64.b64encode(
        json.dumps({"client": {"app_title": "demo"}, "custom": {"k": "v"}, "env": {"locale": "en"}}).encode()
    ).decode()
    _, body = invoke(lam, name, ClientContext=context)
    env = body["env"]
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert "/[$LATEST]" in env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert env["LAMBDA_TASK_ROOT"] == "/var/task" and body["cwd"] == "/var/task"
    assert env["_HANDLER"] == "app.handler"
    assert env["MY_SETTING"] == "on"
    assert env["TZ"] == ":UTC"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    fn_name, version, memory, arn, group, stream, id_length = body["ctx"]
    assert (fn_name, version, memory) == (name, "$LATEST", "512")
    assert arn == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert group == env["AWS_LAMBDA_LOG_GROUP_NAME"] and stream == env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert id_length == 36
    assert 6000 < body["remaining"] <= 7000
    assert body["identity"] == [None, None]
    assert body["client"] == ["demo", {"k": "v"}, {"locale": "en"}]


def test_module_state_survives_between_warm_invocations(lam, deploy):
    name = deploy(
        {"app.py": "count = 0\ndef handler(event, context):\n    global count\n    count += 1\n    return count\n"}
    )
    assert [invoke(lam, name)[1] for _ in range(3)] == [1, 2, 3]


def test_handler_exception_has_lambdas_shape(lam, deploy):
    name = deploy({"app.py": "def handler(event, context):\n    raise ValueError('bad value')\n"})
    reply, body = invoke(lam, name, LogType="Tail")
    assert reply["StatusCode"] == 200
    assert reply["FunctionError"] == "Unhandled"
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "bad value"
    assert len(body["requestId"]) == 36
    assert any("raise ValueError('bad value')" in frame for frame in body["stackTrace"])
    assert all("bootstrap.py" not in frame for frame in body["stackTrace"])
    assert "[ERROR] ValueError: bad value" in log_tail(reply)
    assert invoke(lam, name)[0]["FunctionError"] == "Unhandled"  # still serving


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        (
            {"app.py": "x = 1\n"},
            "missing.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'missing': No module named 'missing'",
        ),
        (
            {"app.py": "x = 1\n"},
            "app.handler",
            "Runtime.HandlerNotFound",
            "Handler 'handler' missing on module 'app'",
        ),
        (
            {"app.py": "def handler(:\n"},
            "app.handler",
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module 'app'",
        ),
        ({"app.py": "x = 1\n"}, "nodot", "Runtime.MalformedHandlerName", "Bad handler 'nodot'"),
        ({"app.py": "raise RuntimeError('init failed')\n"}, "app.handler", "RuntimeError", "init failed"),
    ],
)
def test_init_errors(lam, deploy, files, handler, error_type, message):
    name = deploy(files, handler=handler)
    for _ in range(2):  # the next invoke retries init and fails the same way
        reply, body = invoke(lam, name)
        assert reply["FunctionError"] == "Unhandled"
        assert body["errorType"] == error_type
        assert body["errorMessage"].startswith(message)


def test_unserialisable_result(lam, deploy):
    name = deploy({"app.py": "def handler(event, context):\n    return {1, 2}\n"})
    reply, body = invoke(lam, name)
    assert reply["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.MarshalError"


def test_timeout_resets_the_runtime_but_keeps_tmp(lam, deploy):
    name = deploy(
        {
            "app.py": (
                "import os, time\n"
                "started = time.time()\n"
                "def handler(event, context):\n"
                "    if event.get('sleep'):\n"
                "        open('/tmp/survivor', 'w').write('yes')\n"
                "        time.sleep(event['sleep'])\n"
                "    return {'tmp': os.path.exists('/tmp/survivor'), 'started': started}\n"
            )
        },
        Timeout=1,
    )
    _, before = invoke(lam, name)
    reply, body = invoke(lam, name, b'{"sleep": 5}', LogType="Tail")
    assert reply["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert "Task timed out after 1.00 seconds" in log_tail(reply)
    _, after = invoke(lam, name)
    assert after["tmp"] is True  # same environment, /tmp kept
    assert after["started"] != before["started"]  # but a fresh runtime (init ran again)


def test_process_exit_is_a_runtime_exit_error(lam, deploy):
    name = deploy(
        {
            "app.py": "import os\ndef handler(event, context):\n    if event.get('die'):\n        os._exit(3)\n    return 'alive'\n"
        }
    )
    reply, body = invoke(lam, name, b'{"die": true}')
    assert reply["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"].endswith("Runtime exited with error: exit status 3")
    assert invoke(lam, name)[1] == "alive"


def test_running_out_of_memory(lam, deploy):
    name = deploy(
        {
            "app.py": (
                "def handler(event, context):\n"
                "    if event.get('hog'):\n"
                "        blocks = [bytearray(16 * 1024 * 1024) for _ in range(64)]\n"
                "        return len(blocks)\n"
                "    return 'fine'\n"
            )
        },
        MemorySize=128,
        Timeout=15,  # 128 MB gets a sliver of a core: on a loaded machine the kill can take seconds
    )
    reply, body = invoke(lam, name, b'{"hog": true}')
    assert reply["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.OutOfMemory"
    assert "signal: killed" in body["errorMessage"]
    assert invoke(lam, name)[1] == "fine"


def test_response_too_large(lam, deploy):
    name = deploy({"app.py": "def handler(event, context):\n    return 'x' * (7 * 1024 * 1024)\n"}, MemorySize=512)
    reply, body = invoke(lam, name)
    assert reply["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Function.ResponseSizeTooLarge"


def test_concurrent_invocations_get_separate_environments(lam, deploy):
    from concurrent.futures import ThreadPoolExecutor

    name = deploy(
        {
            "app.py": (
                "import os, time\n"
                "env = os.urandom(8).hex()\n"
                "def handler(event, context):\n"
                "    time.sleep(0.5)\n"
                "    return env\n"
            )
        }
    )
    with ThreadPoolExecutor(4) as pool:
        seen = list(pool.map(lambda _: invoke(lam, name)[1], range(4)))
    assert len(set(seen)) == 4


def test_the_whole_standard_library_is_importable(lam, deploy):
    name = deploy(
        {
            "app.py": (
                "import sys\n"
                "def handler(event, context):\n"
                "    import csv, decimal, sqlite3, ssl, hashlib, uuid, urllib.request, encodings.idna, zoneinfo\n"
                "    'x'.encode('idna')\n"
                "    return [sys.executable, sqlite3.sqlite_version > '3', csv.__name__]\n"
            )
        }
    )
    reply, body = invoke(lam, name)
    assert "FunctionError" not in reply, body
    executable, has_sqlite, module = body
    assert has_sqlite is True and module == "csv"
    assert executable.startswith("/var/lang/bin/") or executable.startswith("/usr/bin/")


REQUEST_ID = {
    "app.py": "def handler(event, context):\n    print('seen', context.aws_request_id)\n    return context.aws_request_id\n"
}


def test_a_sync_invoke_has_one_request_id_in_the_reply_the_context_and_the_log(lam, deploy):
    name = deploy(REQUEST_ID)
    for _ in range(2):  # cold, then warm
        reply = lam.invoke(FunctionName=name, LogType="Tail")
        request_id = reply["ResponseMetadata"]["RequestId"]
        assert json.loads(reply["Payload"].read()) == request_id
        tail = base64.b64decode(reply["LogResult"]).decode()
        assert f"START RequestId: {request_id} " in tail and f"REPORT RequestId: {request_id}\t" in tail


def test_an_async_invoke_runs_under_the_request_id_of_its_202(server, lam, deploy):
    name = deploy(REQUEST_ID)
    accepted = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
    assert accepted["StatusCode"] == 202
    request_id = accepted["ResponseMetadata"]["RequestId"]
    logs = server.client("logs")
    deadline = time.monotonic() + 20
    messages: list[str] = []
    while time.monotonic() < deadline and not any("seen" in m for m in messages):
        time.sleep(0.2)
        with contextlib.suppress(logs.exceptions.ResourceNotFoundException):
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
            messages = [event["message"] for event in events]
    assert f"seen {request_id}" in messages
    assert any(m.startswith(f"START RequestId: {request_id} ") for m in messages)
