"""What ``--auth iam`` costs a warm invoke: the same signed request sent to a server in each mode.

    .venv/bin/python bench/auth_overhead.py [--requests 4000]

Two ``kindling server`` processes (``--auth open`` and ``--auth iam``) serve the same echo function; one
request is signed once with the root keys (SigV4 has no nonce: a signature stays valid for five minutes, and
the iam server verifies it in full every time) and sent over a keep-alive connection to each, in alternating
blocks so that drift in the machine's load falls on both alike. The figure is the difference of the p50s;
beside it, the in-process cost of one verification (``auth/sigv4.py``), and the attack table: forged,
tampered and replayed requests tried against the iam server, and those that got through (must be none).
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import datetime
import http.client
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

KINDLING = str(Path(sys.executable).with_name("kindling"))
TARGET_US = 20.0
BLOCK = 200
Progress = Callable[[str], None]


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _server(workdir: Path, mode: str) -> Iterator[tuple[int, tuple[str, str]]]:
    port, data = _free_port(), workdir / mode
    with (workdir / f"{mode}.log").open("wb") as log:
        proc = subprocess.Popen([KINDLING, "server", "--port", str(port), "--data-dir", str(data), "--auth", mode],
                                stdout=log, stderr=log, stdin=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
                break
            time.sleep(0.05)
        parser = configparser.ConfigParser()
        parser.read(data / "credentials")
        yield port, (parser["kindling"]["aws_access_key_id"], parser["kindling"]["aws_secret_access_key"])
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _deploy(port: int, keys: tuple[str, str]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    session = boto3.Session(keys[0], keys[1], region_name="us-east-1")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}  # fmt: skip
    iam = session.client("iam", endpoint_url=f"http://127.0.0.1:{port}")
    iam.create_role(RoleName="bench", AssumeRolePolicyDocument=json.dumps(trust))  # iam mode wants a real role
    client = session.client("lambda", endpoint_url=f"http://127.0.0.1:{port}")
    client.create_function(FunctionName="echo", Runtime="python3.12", Role="arn:aws:iam::000000000000:role/bench",
                           Handler="app.handler", Code={"ZipFile": buffer.getvalue()})  # fmt: skip
    client.get_waiter("function_active_v2").wait(FunctionName="echo")


def _signed(port: int, keys: tuple[str, str]) -> tuple[str, bytes, dict[str, str]]:
    body = b'{"n": 1}'
    path = "/2015-03-31/functions/echo/invocations"
    request = AWSRequest("POST", f"http://127.0.0.1:{port}{path}", data=body)
    SigV4Auth(Credentials(*keys), "lambda", "us-east-1").add_auth(request)
    return path, body, dict(request.headers.items())


def _block(conn: http.client.HTTPConnection, request: tuple[str, bytes, dict[str, str]], count: int) -> list[float]:
    path, body, headers = request
    times = []
    for _ in range(count):
        started = time.perf_counter()
        conn.request("POST", path, body=body, headers=headers)
        reply = conn.getresponse()
        reply.read()
        times.append(time.perf_counter() - started)
        if reply.status != 200:
            raise RuntimeError(f"invoke answered {reply.status}")
    return times


def _sign(port: int, keys: tuple[str, str], method: str, path: str, body: bytes = b"", headers: dict | None = None,
          minutes_off: float = 0) -> tuple[str, str, bytes, dict[str, str]]:  # fmt: skip
    request = AWSRequest(method, f"http://127.0.0.1:{port}{path}", data=body, headers=headers or {})
    moment = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(minutes=minutes_off)
    with mock.patch("botocore.auth.get_current_datetime", return_value=moment):
        SigV4Auth(Credentials(*keys), "lambda", "us-east-1").add_auth(request)
    return method, path, body, dict(request.headers.items())


def attacks(port: int, root: tuple[str, str]) -> dict[str, int]:
    """Forged, tampered and replayed requests against the iam server: each one's HTTP status (any below 400
    got through)."""
    invoke, listing = "/2015-03-31/functions/echo/invocations", "/2015-03-31/functions/"
    good_invoke = _sign(port, root, "POST", invoke, b'{"n": 1}')
    good_list = _sign(port, root, "GET", listing, headers={"X-Amz-Invocation-Type": "Event"})
    later = datetime.datetime.strptime(good_list[3]["X-Amz-Date"], "%Y%m%dT%H%M%SZ") + datetime.timedelta(seconds=1)
    cases = {
        "unsigned": ("GET", listing, b"", {}),
        "unknown key": _sign(port, ("AKIAUNKNOWN000000000", "x"), "GET", listing),
        "wrong secret": _sign(port, (root[0], "wrong"), "GET", listing),
        "body tampered": (*good_invoke[:2], b'{"n": 2}', good_invoke[3]),
        "signed header tampered": (*good_list[:3], {**good_list[3], "X-Amz-Invocation-Type": "RequestResponse"}),
        "date tampered": (*good_list[:3], {**good_list[3], "X-Amz-Date": later.strftime("%Y%m%dT%H%M%SZ")}),
        "replayed 10 min later": _sign(port, root, "GET", listing, minutes_off=-10),
        "signed 10 min ahead": _sign(port, root, "GET", listing, minutes_off=10),
        "path swapped": ("GET", "/2015-03-31/functions/echo", b"", good_list[3]),
        "query added": ("GET", listing + "?MaxItems=1", b"", good_list[3]),
        "method swapped": ("DELETE", "/2015-03-31/functions/", b"", good_list[3]),
        "signature truncated": (*good_list[:3], {**good_list[3], "Authorization": good_list[3]["Authorization"][:-2]}),
    }
    results = {}
    for name, (method, path, body, headers) in cases.items():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            reply = conn.getresponse()
            reply.read()
            results[name] = reply.status
        finally:
            conn.close()
    return results


def verify_cost_us() -> float:
    """One SigV4 verification in process, signing key cached (what the iam server adds per request)."""
    from kindling.auth.sigv4 import Verifier

    verifier = Verifier(lambda key: "secret" if key == "AKIDBENCH" else None)
    request = AWSRequest("POST", "http://127.0.0.1:9000/2015-03-31/functions/echo/invocations", data=b'{"n": 1}',
                         headers={"host": "127.0.0.1:9000"})  # fmt: skip
    SigV4Auth(Credentials("AKIDBENCH", "secret"), "lambda", "us-east-1").add_auth(request)
    headers = [(k.lower().encode(), v.encode()) for k, v in request.headers.items()]
    call = lambda: verifier.verify("POST", "/2015-03-31/functions/echo/invocations", headers, b'{"n": 1}')  # noqa: E731
    call()
    return min(timeit.repeat(call, number=2000, repeat=5)) / 2000 * 1e6


def measure(progress: Progress, requests: int = 4000) -> dict:
    with tempfile.TemporaryDirectory(prefix="kindling-auth-bench-") as scratch, contextlib.ExitStack() as stack:
        workdir = Path(scratch)
        runs: dict[str, list[float]] = {"open": [], "iam": []}
        conns, signed, stack_keys = {}, {}, {}
        ports = {}
        for mode in runs:
            ports[mode], stack_keys[mode] = stack.enter_context(_server(workdir, mode))
            _deploy(ports[mode], stack_keys[mode])
        for mode in runs:  # connected once both are deployed: an idle keep-alive connection would be closed
            conns[mode] = http.client.HTTPConnection("127.0.0.1", ports[mode], timeout=30)
            signed[mode] = _signed(ports[mode], stack_keys[mode])
            _block(conns[mode], signed[mode], BLOCK)  # warm: the environment and the connection
        progress(f"auth: {requests} warm invokes per mode, alternating blocks of {BLOCK}")
        for _ in range(max(1, requests // BLOCK)):
            for mode in runs:
                runs[mode].extend(_block(conns[mode], signed[mode], BLOCK))
        p50 = {mode: statistics.median(times) * 1e6 for mode, times in runs.items()}
        tried = attacks(conns["iam"].port, stack_keys["iam"])
        result = {
            "requests_per_mode": len(runs["open"]),
            "p50_open_us": round(p50["open"], 1),
            "p50_iam_us": round(p50["iam"], 1),
            "overhead_p50_us": round(p50["iam"] - p50["open"], 1),
            "verify_in_process_us": round(verify_cost_us(), 1),
            "target_us": TARGET_US,
            "attacks_tried": len(tried),
            "attacks_through": sorted(name for name, status in tried.items() if status < 400),
        }
        for conn in conns.values():
            conn.close()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000)
    args = parser.parse_args()
    result = measure(lambda message: print(message, file=sys.stderr), args.requests)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
