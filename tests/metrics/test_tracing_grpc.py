"""OTLP over gRPC: ``--otlp-endpoint grpc://host:port`` sends a sampled invocation's spans to a collector's
trace service, here a grpcio server with OpenTelemetry's OTLP trace service, started by the test."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from support import Server, create_function, free_port

ROOT = "1-6759e988-bd862e3fe1be46a994272799"
PARENT = "63995c3f42cd8ad8"


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.spans: list[Any] = []

    def Export(self, request: Any, context: Any) -> Any:  # the service's method name
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                self.spans.extend(scope.spans)
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture(scope="module")
def collector() -> Iterator[tuple[Collector, int]]:
    service = Collector()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(service, server)
    port = free_port()
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    yield service, port
    server.stop(None)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, collector: tuple[Collector, int]) -> Iterator[Server]:
    endpoint = f"grpc://127.0.0.1:{collector[1]}"
    instance = Server(tmp_path_factory.mktemp("grpc") / "data", "--otlp-endpoint", endpoint).start()
    yield instance
    instance.stop()


def test_spans_reach_a_grpc_collector(server: Server, collector: tuple[Collector, int]) -> None:
    lam = server.client()
    create_function(lam, "grpc-traced", {"app.py": "def handler(event, context):\n    return 1\n"})
    lam.meta.events.register_first(
        "before-sign.lambda.Invoke",
        lambda request, **_: request.headers.__setitem__("X-Amzn-Trace-Id", f"Root={ROOT};Parent={PARENT};Sampled=1"),
    )
    try:
        assert lam.invoke(FunctionName="grpc-traced")["Payload"].read() == b"1"
    finally:
        lam.meta.events.unregister("before-sign.lambda.Invoke")
    trace_id = bytes.fromhex(ROOT[2:].replace("-", ""))
    deadline = time.monotonic() + 15
    while True:
        mine = {span.name: span for span in collector[0].spans if span.trace_id == trace_id}
        if {"grpc-traced", "Invocation", "Overhead"} <= set(mine):
            break
        assert time.monotonic() < deadline, f"spans seen: {sorted(mine)}"
        time.sleep(0.1)
    assert mine["grpc-traced"].parent_span_id == bytes.fromhex(PARENT)
    assert mine["Invocation"].parent_span_id == mine["grpc-traced"].span_id
    assert "Initialization" in mine  # the first invocation was a cold start
