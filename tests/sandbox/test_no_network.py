"""``--no-network``: a function still reaches Kindling's endpoint (through the bridge) and nothing else."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from support import Server, create_function, free_port

PROBE = """
import boto3, os, socket
lam = boto3.client("lambda")
def reach(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return "connected"
    except OSError as error:
        return type(error).__name__
def handler(event, context):
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    big = lam.invoke(FunctionName=event["echo"], Payload=event["blob"].encode())["Payload"].read()
    return {"names": names, "endpoint": os.environ["AWS_ENDPOINT_URL"], "other": reach(event["other"]),
            "echoed": len(big), "interfaces": sorted(name for _, name in socket.if_nameindex())}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    instance = Server(tmp_path_factory.mktemp("nonet") / "data", "--no-network").start()
    yield instance
    instance.stop()


def test_only_kindling_is_reachable(server: Server) -> None:
    if server.health()["sandbox"] != "namespaces":
        pytest.skip("--no-network needs the namespaces sandbox")
    lam = server.client()
    echo = create_function(lam, "echo", {"app.py": "def handler(e, c):\n    return e\n"})
    probe = create_function(lam, "probe", {"app.py": PROBE}, Timeout=30)
    other = free_port()
    with socket.socket() as listener:  # a service on the host that the function must not reach
        listener.bind(("127.0.0.1", other))
        listener.listen()
        listener.settimeout(0)
        blob = json.dumps({"x": "y" * 300_000})  # bigger than any socket buffer: the bridge streams both ways
        event = {"echo": echo, "other": other, "blob": blob}
        reply = lam.invoke(FunctionName=probe, Payload=json.dumps(event).encode())
        body = json.loads(reply["Payload"].read())
        assert "FunctionError" not in reply, body
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert {echo, probe} <= set(body["names"])
    assert body["endpoint"] == f"http://127.0.0.1:{server.port}"
    assert body["other"] == "ConnectionRefusedError"
    assert body["echoed"] == len(blob)
    assert body["interfaces"] == ["lo"]
