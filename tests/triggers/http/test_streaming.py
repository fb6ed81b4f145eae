"""Response streaming: InvokeWithResponseStream through boto3, and RESPONSE_STREAM function URLs."""

from __future__ import annotations

import base64
import http.client
import json
import time

import pytest
from url_support import public_url, request

from support import ROLE, make_zip

STREAMER = """
import json, time

def handler(event, context):
    if event.get("value"):
        return {"plain": True}
    if event.get("rawPath") == "/big-buffered":
        return {"statusCode": 200, "body": "x" * (7 * 1024 * 1024)}
    return pieces(event)

def pieces(event):
    if event.get("rawPath") == "/bare":
        yield b"raw bytes"
        return
    if "rawPath" in event:
        yield {"statusCode": 207, "headers": {"content-type": "text/plain", "x-kind": "streamed"}, "cookies": ["s=1"]}
    if event.get("rawPath") == "/big":
        for _ in range(8):
            yield b"x" * (1024 * 1024)
        return
    print("streaming")
    yield "first "
    time.sleep(float(event.get("pause", 0.8)))
    yield "second "
    if event.get("fail"):
        raise ValueError("broke mid-stream")
    yield b"third"
"""


@pytest.fixture(scope="module")
def streamer(lam):  # type: ignore[no-untyped-def]
    lam.create_function(FunctionName="streamer", Runtime="python3.12", Role=ROLE, Handler="app.handler", Timeout=10,
                        Code={"ZipFile": make_zip({"app.py": STREAMER})})  # fmt: skip
    host, _ = public_url(lam, "streamer", InvokeMode="RESPONSE_STREAM")
    yield "streamer", host
    lam.delete_function(FunctionName="streamer")


def test_invoke_with_response_stream_sends_chunks_as_they_are_made(lam, streamer) -> None:  # type: ignore[no-untyped-def]
    streamer = streamer[0]
    started = time.monotonic()
    reply = lam.invoke_with_response_stream(FunctionName=streamer, Payload=b"{}", LogType="Tail")
    assert (
        reply["ExecutedVersion"] == "$LATEST"
        and reply["ResponseStreamContentType"] == "application/vnd.amazon.eventstream"
    )
    arrivals, payload, complete = [], b"", None
    for event in reply["EventStream"]:
        arrivals.append(time.monotonic() - started)
        if "PayloadChunk" in event:
            payload += event["PayloadChunk"]["Payload"]
        else:
            complete = event["InvokeComplete"]
    assert payload == b"first second third"
    assert arrivals[-1] - arrivals[0] >= 0.6  # the first chunk came before the handler slept
    assert complete is not None and "ErrorCode" not in complete
    assert "streaming" in base64.b64decode(complete["LogResult"]).decode()


def test_errors_and_plain_results_in_a_response_stream(lam, streamer) -> None:  # type: ignore[no-untyped-def]
    streamer = streamer[0]
    events = list(
        lam.invoke_with_response_stream(FunctionName=streamer, Payload=b'{"fail": true, "pause": 0}')["EventStream"]
    )
    assert [e["PayloadChunk"]["Payload"] for e in events if "PayloadChunk" in e] == [b"first ", b"second "]
    assert events[-1]["InvokeComplete"]["ErrorCode"] == "ValueError"
    assert events[-1]["InvokeComplete"]["ErrorDetails"] == "broke mid-stream"
    plain = list(lam.invoke_with_response_stream(FunctionName=streamer, Payload=b'{"value": 1}')["EventStream"])
    assert json.loads(plain[0]["PayloadChunk"]["Payload"]) == {"plain": True} and plain[-1] == {"InvokeComplete": {}}
    assert lam.invoke_with_response_stream(FunctionName=streamer, InvocationType="DryRun")["StatusCode"] == 204
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke_with_response_stream(FunctionName="no-such-function")
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        lam.invoke_with_response_stream(FunctionName=streamer, Payload=b"not json")


def test_streamed_function_url(streamer, server) -> None:  # type: ignore[no-untyped-def]
    host = streamer[1]
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("GET", "/stream", headers={"Host": host})
    started = time.monotonic()
    reply = connection.getresponse()
    assert (reply.status, reply.getheader("x-kind"), reply.getheader("content-type")) == (207, "streamed", "text/plain")
    assert reply.getheader("transfer-encoding") == "chunked" and reply.getheader("set-cookie") == "s=1"
    first = reply.read1()
    first_at = time.monotonic() - started
    rest = reply.read()
    assert first + rest == b"first second third"
    assert time.monotonic() - started - first_at >= 0.5  # the body kept coming after the first piece
    connection.close()

    bare = request(server, "GET", "/bare", host=host)
    assert (bare.status, bare.header("content-type"), bare.body) == (200, "application/octet-stream", b"raw bytes")


def test_streamed_responses_may_exceed_the_buffered_limit(lam, streamer, server) -> None:  # type: ignore[no-untyped-def]
    name, host = streamer
    big = request(server, "GET", "/big", host=host)
    assert (big.status, len(big.body)) == (207, 8 * 1024 * 1024)
    lam.update_function_url_config(FunctionName=name, InvokeMode="BUFFERED")
    assert request(server, "GET", "/big-buffered", host=host).status == 502  # over 6 MB: Function.ResponseSizeTooLarge
