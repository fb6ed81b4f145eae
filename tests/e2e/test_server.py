"""The server process: restarts keep everything, the CLI works against it, both backends run code."""

from __future__ import annotations

import json
import signal

from support import ROLE, aws_cli, make_zip, running

HELLO = {"app.py": "def handler(event, context):\n    return {'hello': event.get('name', 'world')}\n"}


def test_functions_survive_a_restart(tmp_path):
    data = tmp_path / "data"
    with running(data) as first:
        lam = first.client()
        lam.create_function(
            FunctionName="durable",
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": make_zip(HELLO)},
            MemorySize=256,
            Environment={"Variables": {"KEPT": "yes"}},
        )
        lam.publish_version(FunctionName="durable")
        lam.create_alias(FunctionName="durable", Name="live", FunctionVersion="1")
        lam.put_function_concurrency(FunctionName="durable", ReservedConcurrentExecutions=5)
        before = lam.get_function_configuration(FunctionName="durable")
        assert json.loads(lam.invoke(FunctionName="durable")["Payload"].read()) == {"hello": "world"}
    with running(data) as second:
        lam = second.client()
        after = lam.get_function_configuration(FunctionName="durable")
        assert after == {**before, "ResponseMetadata": after["ResponseMetadata"]}
        reply = lam.invoke(FunctionName="durable", Payload=b'{"name": "again"}')
        assert json.loads(reply["Payload"].read()) == {"hello": "again"}
        assert lam.invoke(FunctionName="durable", Qualifier="live")["ExecutedVersion"] == "1"
        assert lam.get_function_concurrency(FunctionName="durable")["ReservedConcurrentExecutions"] == 5
        assert lam.publish_version(FunctionName="durable")["Version"] == "1"


def test_sigkill_then_restart_leaves_no_stale_state(tmp_path):
    data = tmp_path / "data"
    with running(data) as first:
        lam = first.client()
        lam.create_function(
            FunctionName="crashy",
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": make_zip(HELLO)},
        )
        lam.invoke(FunctionName="crashy")
        first.stop(signal.SIGKILL)
        first.process = None
        with running(data) as second:
            reply = second.client().invoke(FunctionName="crashy")
            assert json.loads(reply["Payload"].read()) == {"hello": "world"}
        first.process = second.process  # already stopped; keeps running()'s cleanup harmless


def test_process_backend_runs_functions(tmp_path):
    with running(tmp_path / "data", "--sandbox", "process") as server:
        assert server.health()["sandbox"] == "process"
        lam = server.client()
        lam.create_function(
            FunctionName="plain",
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": make_zip(HELLO)},
        )
        assert json.loads(lam.invoke(FunctionName="plain")["Payload"].read()) == {"hello": "world"}


def test_aws_cli(server, tmp_path):
    package = tmp_path / "hello.zip"
    package.write_bytes(make_zip(HELLO))
    created = aws_cli(
        server.endpoint,
        "lambda",
        "create-function",
        "--function-name",
        "cli-hello",
        "--runtime",
        "python3.12",
        "--role",
        ROLE,
        "--handler",
        "app.handler",
        "--zip-file",
        f"fileb://{package}",
    )
    assert json.loads(created.stdout)["FunctionName"] == "cli-hello"
    try:
        aws_cli(server.endpoint, "lambda", "wait", "function-active-v2", "--function-name", "cli-hello")
        out = tmp_path / "out.json"
        invoked = aws_cli(
            server.endpoint,
            "lambda",
            "invoke",
            "--function-name",
            "cli-hello",
            "--payload",
            '{"name": "cli"}',
            "--log-type",
            "Tail",
            str(out),
        )
        assert json.loads(invoked.stdout)["StatusCode"] == 200
        assert json.loads(out.read_text()) == {"hello": "cli"}
        listed = json.loads(aws_cli(server.endpoint, "lambda", "list-functions").stdout)
        assert "cli-hello" in {f["FunctionName"] for f in listed["Functions"]}
        missing = aws_cli(server.endpoint, "lambda", "get-function", "--function-name", "nope", check=False)
        assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr
    finally:
        aws_cli(server.endpoint, "lambda", "delete-function", "--function-name", "cli-hello")
