"""HTTP on the wire for the Invoke route, which skips the ASGI path: keep-alive, pipelining, closing,
bodies without a length, errors, and the fronts that own the same path on another host."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time

from support import create_function, running

HELLO = {"app.py": "def handler(event, context):\n    return {'got': event}\n"}
SLEEPY = {"app.py": "import time\ndef handler(event, context):\n    time.sleep(1)\n    return 'rested'\n"}


def _invoke_bytes(name: str, payload: bytes, *extra: str, version: str = "1.1") -> bytes:
    head = [f"POST /2015-03-31/functions/{name}/invocations HTTP/{version}", "Host: 127.0.0.1"]
    head += [f"Content-Length: {len(payload)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


def _read_responses(sock: socket.socket, count: int, timeout: float = 20) -> list[tuple[int, dict[str, str], bytes]]:
    """``count`` responses with Content-Length bodies, in the order they arrive."""
    sock.settimeout(timeout)
    data = b""
    answers = []
    while len(answers) < count:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed after {len(answers)} responses"
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        size = int(headers.get("content-length", "0"))
        while len(data) < size:
            chunk = sock.recv(65536)
            assert chunk, "connection closed inside a body"
            data += chunk
        answers.append((int(lines[0].split()[1]), headers, data[:size]))
        data = data[size:]
    return answers


def _closed(sock: socket.socket) -> bool:
    sock.settimeout(5)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def _connect(server) -> socket.socket:  # type: ignore[no-untyped-def]
    return socket.create_connection(("127.0.0.1", server.port))


def test_pipelined_requests_are_answered_in_order(server, deploy):
    name = deploy(HELLO)
    listing = f"GET /2015-03-31/functions/{name} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    with _connect(server) as sock:
        sock.sendall(_invoke_bytes(name, b'{"n": 1}') + listing + _invoke_bytes(name, b'{"n": 2}'))
        first, middle, last = _read_responses(sock, 3)
    assert (first[0], json.loads(first[2])) == (200, {"got": {"n": 1}})
    assert middle[0] == 200 and json.loads(middle[2])["Configuration"]["FunctionName"] == name
    assert (last[0], json.loads(last[2])) == (200, {"got": {"n": 2}})
    for _, headers, _ in (first, last):
        assert headers["content-type"] == "application/json"
        assert headers["x-amz-executed-version"] == "$LATEST"
        assert len(headers["x-amzn-requestid"]) == 36
        assert "date" in headers


def test_connection_close_and_http_1_0_end_the_connection(server, deploy):
    name = deploy(HELLO)
    for request in (
        _invoke_bytes(name, b"{}", "Connection: close"),
        _invoke_bytes(name, b"{}", version="1.0"),
    ):
        with _connect(server) as sock:
            sock.sendall(request)
            ((status, _, body),) = _read_responses(sock, 1)
            assert (status, json.loads(body)) == (200, {"got": {}})
            assert _closed(sock)


def test_keep_alive_serves_many_invokes_on_one_connection(server, deploy):
    name = deploy(HELLO)
    with _connect(server) as sock:
        for n in range(20):
            sock.sendall(_invoke_bytes(name, json.dumps({"n": n}).encode()))
            ((status, _, body),) = _read_responses(sock, 1)
            assert (status, json.loads(body)) == (200, {"got": {"n": n}})


def test_a_chunked_body_is_read_whole(server, deploy):
    name = deploy(HELLO)
    head = f"POST /2015-03-31/functions/{name}/invocations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    with _connect(server) as sock:
        sock.sendall(head.encode() + b'5\r\n{"a":\r\n3\r\n 1}\r\n0\r\n\r\n')
        ((status, _, body),) = _read_responses(sock, 1)
    assert (status, json.loads(body)) == (200, {"got": {"a": 1}})


def test_errors_on_the_invoke_route_keep_aws_shape_and_the_connection(server, deploy):
    name = deploy(HELLO)
    with _connect(server) as sock:
        sock.sendall(_invoke_bytes("no-such-function", b"{}"))
        sock.sendall(_invoke_bytes(name, b"{not json"))
        sock.sendall(_invoke_bytes("bad%20name%21", b"{}"))
        sock.sendall(_invoke_bytes(name, b"{}"))
        missing, malformed, invalid, fine = _read_responses(sock, 4)
    assert missing[0] == 404 and missing[1]["x-amzn-errortype"] == "ResourceNotFoundException"
    assert malformed[0] == 400 and malformed[1]["x-amzn-errortype"] == "InvalidRequestContentException"
    assert invalid[0] == 400 and invalid[1]["x-amzn-errortype"] == "ValidationException"
    assert "validation error" in json.loads(invalid[2])["message"]
    assert fine[0] == 200


def test_the_invoke_path_on_a_function_url_host_reaches_the_url(server, lam, deploy):
    name = deploy(
        {"app.py": "def handler(event, context):\n    return {'statusCode': 201, 'body': event['rawPath']}\n"}
    )
    url_id = lam.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"].split("//")[1]
    url_id = url_id.split(".")[0]
    lam.add_permission(FunctionName=name, StatementId="public", Action="lambda:InvokeFunctionUrl", Principal="*",
                       FunctionUrlAuthType="NONE")  # fmt: skip
    path = f"/2015-03-31/functions/{name}/invocations"
    request = f"POST {path} HTTP/1.1\r\nHost: {url_id}.lambda-url.us-east-1.localhost\r\nContent-Length: 2\r\n\r\n{{}}"
    with _connect(server) as sock:
        sock.sendall(request.encode())
        ((status, _, body),) = _read_responses(sock, 1)
    assert (status, body.decode()) == (201, path)


def test_sigterm_lets_an_invoke_in_flight_finish(tmp_path):
    with running(tmp_path / "data") as server:
        lam = server.client()
        create_function(lam, "sleepy", SLEEPY)
        lam.invoke(FunctionName="sleepy")  # warm, so the timed part is the invocation itself
        answers: list = []
        with _connect(server) as sock:
            sock.sendall(_invoke_bytes("sleepy", b"{}"))
            reader = threading.Thread(target=lambda: answers.extend(_read_responses(sock, 1)))
            reader.start()
            time.sleep(0.3)
            server.process.send_signal(signal.SIGTERM)
            reader.join(20)
        assert answers and answers[0][0] == 200 and json.loads(answers[0][2]) == "rested"
        assert server.process.wait(30) == 0


ECHO_EVENT = {
    "app.py": "import json\ndef handler(event, context):\n"
    "    return {'statusCode': 200, 'body': json.dumps({**event, 'awsRequestId': context.aws_request_id})}\n"
}


def test_url_and_api_requests_share_a_connection_in_order(server, lam, deploy):
    name = deploy(ECHO_EVENT)
    url = lam.create_function_url_config(FunctionName=name, AuthType="NONE")["FunctionUrl"]
    lam.add_permission(FunctionName=name, StatementId="public", Action="lambda:InvokeFunctionUrl", Principal="*",
                       FunctionUrlAuthType="NONE")  # fmt: skip
    url_id = url.split("//")[1].split(".")[0]
    by_path = f"GET /lambda-url/{url_id}/first HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    listing = b"GET /2015-03-31/functions/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with _connect(server) as sock:
        sock.sendall(by_path + listing + _invoke_bytes(name, b'{"n": 3}'))
        first, middle, last = _read_responses(sock, 3)
    assert first[0] == 200 and json.loads(first[2])["rawPath"] == "/first"
    seen = json.loads(first[2])  # one request id: the URL's reply, its event and the invocation's context
    assert first[1]["x-amzn-requestid"] == seen["requestContext"]["requestId"] == seen["awsRequestId"]
    assert middle[0] == 200 and "Functions" in json.loads(middle[2])
    assert last[0] == 200 and json.loads(json.loads(last[2])["body"])["n"] == 3
