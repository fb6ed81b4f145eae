"""Tracing: the caller's X-Amzn-Trace-Id reaches the function, Active tracing starts one, and a sampled
invocation's spans reach an OTLP/HTTP receiver started by the test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from support import Server, create_function, free_port

HANDLER = "import os\ndef handler(event, context):\n    return os.environ.get('_X_AMZN_TRACE_ID', '')\n"
ROOT = "1-5759e988-bd862e3fe1be46a994272793"
PARENT = "53995c3f42cd8ad8"


class Receiver(BaseHTTPRequestHandler):
    spans: list = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        export = ExportTraceServiceRequest.FromString(body)
        for resource in export.resource_spans:
            for scope in resource.scope_spans:
                Receiver.spans.extend(scope.spans)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def receiver() -> Iterator[str]:
    http = ThreadingHTTPServer(("127.0.0.1", free_port()), Receiver)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_address[1]}"
    http.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, receiver: str) -> Iterator[Server]:
    instance = Server(tmp_path_factory.mktemp("tracing") / "data", "--otlp-endpoint", receiver).start()
    yield instance
    instance.stop()


def invoke(lam, name: str, trace: str | None = None) -> str:  # type: ignore[no-untyped-def]
    if trace:
        lam.meta.events.register_first(
            "before-sign.lambda.Invoke", lambda request, **_: request.headers.__setitem__("X-Amzn-Trace-Id", trace)
        )
    try:
        return json.loads(lam.invoke(FunctionName=name)["Payload"].read())
    finally:
        lam.meta.events.unregister("before-sign.lambda.Invoke")


def test_a_sent_trace_reaches_the_function_and_the_collector(server: Server) -> None:
    lam = server.client()
    create_function(lam, "traced", {"app.py": HANDLER}, TracingConfig={"Mode": "Active"})
    seen = invoke(lam, "traced", f"Root={ROOT};Parent={PARENT};Sampled=1")
    assert f"Root={ROOT}" in seen and "Sampled=1" in seen
    deadline = time.monotonic() + 15
    trace_id = bytes.fromhex(ROOT[2:].replace("-", ""))
    while time.monotonic() < deadline:
        mine = [span for span in Receiver.spans if span.trace_id == trace_id]
        if {span.name for span in mine} >= {"traced", "Invocation"}:
            break
        time.sleep(0.1)
    names = {span.name: span for span in mine}
    assert {"traced", "Initialization", "Invocation"} <= set(names)  # the first invoke was a cold start
    assert names["traced"].parent_span_id == bytes.fromhex(PARENT)
    assert names["Invocation"].parent_span_id == names["traced"].span_id


def test_active_starts_a_trace_and_passthrough_does_not_sample(server: Server) -> None:
    lam = server.client()
    create_function(lam, "active", {"app.py": HANDLER}, TracingConfig={"Mode": "Active"})
    create_function(lam, "passive", {"app.py": HANDLER})
    assert "Root=1-" in invoke(lam, "active")
    assert "Sampled=0" in invoke(lam, "passive")
