"""``--egress FUNCTION=CIDR:PORT``: the function runs in a network namespace of its own, from which its allowed
destinations (here a TCP echo server on this host's own non-loopback address) are reachable and nothing else:
not another port of the same address, not another address, never the host's loopback."""

from __future__ import annotations

import fcntl
import json
import socket
import struct
import subprocess
import threading
from collections.abc import Iterator

import pytest

from support import KINDLING, Server, create_function, free_port

SIOCGIFADDR = 0x8915
PROBE = """
import socket
def talk(connect):
    try:
        with connect() as conn:
            conn.sendall(b"ping")
            conn.shutdown(socket.SHUT_WR)
            return conn.recv(100).decode() or "closed"
    except OSError as error:
        return type(error).__name__
def forged(line):  # what code in the sandbox could write to the proxy's socket itself
    def connect():
        conn = socket.socket(socket.AF_UNIX)
        conn.settimeout(5)
        conn.connect("/run/kindling/egress.sock")
        conn.sendall(line.encode())
        return conn
    return talk(connect)
def reach(host, port):
    return talk(lambda: socket.create_connection((host, port), timeout=5))
def handler(event, context):
    host, allowed, other, loopback = event["host"], event["allowed"], event["other"], event["loopback"]
    return {
        "allowed": reach(host, allowed),
        "other_port": reach(host, other),
        "other_address": reach("10.255.255.1", allowed),
        "loopback": reach("127.0.0.1", loopback),
        "forged_allowed": forged(f"{host} {allowed}\\n"),
        "forged_other": forged(f"{host} {other}\\n"),
        "forged_loopback": forged(f"127.0.0.1 {loopback}\\n"),
        "interfaces": sorted(name for _, name in socket.if_nameindex()),
    }
"""


def host_address() -> str:
    """This machine's first IPv4 address that is not loopback."""
    for _, name in socket.if_nameindex():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as control:
            try:
                packed = fcntl.ioctl(control, SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue
        address = socket.inet_ntoa(packed[20:24])
        if not address.startswith("127."):
            return address
    raise RuntimeError("no IPv4 address but loopback")


def serve_echo(listener: socket.socket) -> None:
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            data = b""
            while chunk := conn.recv(100):
                data += chunk
            conn.sendall(b"echo:" + data)


class Listeners:
    def __init__(self) -> None:
        self.host = host_address()
        self.allowed, self.other, self.loopback = (
            self.listen(address) for address in (self.host,) * 2 + ("127.0.0.1",)
        )
        threading.Thread(target=serve_echo, args=(self.allowed,), daemon=True).start()

    @staticmethod
    def listen(address: str) -> socket.socket:
        listener = socket.socket()
        listener.bind((address, 0))
        listener.listen()
        return listener

    def port(self, listener: socket.socket) -> int:
        return listener.getsockname()[1]


@pytest.fixture(scope="module")
def listeners() -> Iterator[Listeners]:
    found = Listeners()
    yield found
    for listener in (found.allowed, found.other, found.loopback):
        listener.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, listeners: Listeners) -> Iterator[Server]:
    rule = f"probe={listeners.host}/32:{listeners.port(listeners.allowed)}"
    data = tmp_path_factory.mktemp("egress") / "data"
    instance = Server(data, "--egress", rule, "--egress", "custom=10.9.9.0/24:80,10.9.9.7:443").start()
    yield instance
    instance.stop()


def test_only_the_allowlist_is_reachable(server: Server, listeners: Listeners) -> None:
    assert server.health()["sandbox"] == "namespaces"
    lam = server.client()
    probe = create_function(lam, "probe", {"app.py": PROBE}, Timeout=60)
    event = {
        "host": listeners.host,
        "allowed": listeners.port(listeners.allowed),
        "other": listeners.port(listeners.other),
        "loopback": listeners.port(listeners.loopback),
    }
    reply = lam.invoke(FunctionName=probe, Payload=json.dumps(event).encode())
    body = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, body
    assert body["allowed"] == "echo:ping"
    assert body["forged_allowed"] == "echo:ping"  # the proxy's socket works; what it refuses below, it refuses
    assert body["other_port"] == "ConnectionRefusedError"
    assert body["other_address"] == "OSError"  # no route: Network is unreachable
    assert body["loopback"] == "ConnectionRefusedError"
    refused = {"closed", "BrokenPipeError", "ConnectionResetError"}  # the proxy hangs up, whenever it reads the line
    assert {body["forged_other"], body["forged_loopback"]} <= refused, body
    assert body["interfaces"] == ["lo"]
    for listener in (listeners.other, listeners.loopback):  # nothing ever connected to them
        listener.settimeout(0)
        with pytest.raises(BlockingIOError):
            listener.accept()


def test_other_functions_keep_the_network(server: Server, listeners: Listeners) -> None:
    lam = server.client()
    code = "import socket\ndef handler(e, c):\n    return sorted(n for _, n in socket.if_nameindex())\n"
    name = create_function(lam, "free", {"app.py": code})
    assert json.loads(lam.invoke(FunctionName=name)["Payload"].read()) != ["lo"]


def test_runtimes_that_need_loopback_are_refused(server: Server) -> None:
    lam = server.client()
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="--egress"):
        create_function(lam, "custom", {"bootstrap": "#!/bin/sh\n"}, handler="x", runtime="provided.al2023")
    create_function(lam, "custom2", {"bootstrap": "#!/bin/sh\n"}, handler="x", runtime="provided.al2023")


def test_an_allowlist_is_never_ignored(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data, port = tmp_path / "data", free_port()
    args = ["server", "--port", str(port), "--data-dir", str(data), "--egress", f"f=10.1.0.0/16:{port}"]
    run = subprocess.run([KINDLING, *args], capture_output=True, timeout=60)
    assert run.returncode != 0
    assert b"is the endpoint's own" in run.stderr
    args = [
        "server",
        "--port",
        str(free_port()),
        "--data-dir",
        str(data),
        "--sandbox",
        "process",
        "--egress",
        "f=10.1.0.0/16:80",
    ]
    run = subprocess.run([KINDLING, *args], capture_output=True, timeout=60)
    assert run.returncode != 0
    assert b"--egress needs the namespaces sandbox" in run.stderr


@pytest.mark.parametrize("rule", ["f=127.0.0.0/8:80", "f=0.0.0.0/0:443", "f=10.0.0.0/8", "f=10.0.0.1:99999", "f"])
def test_bad_rules_are_refused(rule: str) -> None:
    run = subprocess.run([KINDLING, "server", "--port", str(free_port()), "--egress", rule], capture_output=True)
    assert run.returncode == 2
    assert b"--egress" in run.stderr
