"""The server process: restarts keep everything, the CLI works against it, both backends run code."""

from __future__ import annotations

import json
import signal

from support import ROLE, aws_cli, create_function, make_zip, running

HELLO = {"app.py": "def handler(event, context):\n    return {'hello': event.get('name', 'world')}\n"}


def test_functions_survive_a_restart(tmp_path):
    data = tmp_path / "data"
    with running(data) as first:
        lam = first.client()
        create_function(lam, "durable", HELLO, MemorySize=256, Environment={"Variables": {"KEPT": "yes"}})
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
        create_function(lam, "crashy", HELLO)
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
        create_function(lam, "plain", HELLO)
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


def test_idle_environments_are_reclaimed(tmp_path):
    import base64
    import time

    def cold(lam, name: str) -> bool:  # type: ignore[no-untyped-def]
        reply = lam.invoke(FunctionName=name, LogType="Tail")
        return "Init Duration" in base64.b64decode(reply["LogResult"]).decode()

    with running(tmp_path / "data", "--keep-alive", "1") as server:
        lam = server.client()
        create_function(lam, "idle", HELLO)
        assert cold(lam, "idle") and not cold(lam, "idle")
        time.sleep(2.5)
        assert cold(lam, "idle")  # the keep-alive passed: a new environment

    with running(tmp_path / "pressure", "--min-free-memory", "100000000") as server:
        lam = server.client()
        for name in ("first", "second"):
            create_function(lam, name, HELLO)
        assert cold(lam, "first") and not cold(lam, "first")
        assert cold(lam, "second")  # needs room: the idle environment of "first" is reclaimed
        assert cold(lam, "first")
        listed = json.loads(
            __import__("urllib.request").request.urlopen(server.endpoint + "/kindling/environments").read()
        )
        assert [e["function"] for e in listed["Environments"]] == ["first"]


def test_no_network_option(tmp_path, server):
    probe = {
        "app.py": (
            "import socket\n"
            "def handler(event, context):\n"
            "    try:\n"
            "        socket.create_connection(('127.0.0.1', event['port']), timeout=2).close()\n"
            "        return 'connected'\n"
            "    except OSError as error:\n"
            "        return type(error).__name__\n"
        )
    }
    event = json.dumps({"port": server.port}).encode()
    with running(tmp_path / "data", "--no-network") as isolated:
        lam = isolated.client()
        create_function(lam, "offline", probe)
        assert json.loads(lam.invoke(FunctionName="offline", Payload=event)["Payload"].read()) != "connected"
    lam = server.client()
    create_function(lam, "online-probe", probe)
    try:
        assert json.loads(lam.invoke(FunctionName="online-probe", Payload=event)["Payload"].read()) == "connected"
    finally:
        lam.delete_function(FunctionName="online-probe")
