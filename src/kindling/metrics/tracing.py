"""Tracing as Lambda does it: ``TracingConfig`` ``Active`` starts a trace when the caller sent none (sampled
as X-Ray samples by default: the first request each second, then 5 %), ``PassThrough`` only carries the
caller's; the function sees the header in ``_X_AMZN_TRACE_ID``, its ``Parent`` the id of the function's
segment (as on Lambda, so an X-Ray SDK's subsegments land under it). A sampled invocation is recorded as
Lambda's trace shows it: the ``AWS::Lambda`` segment under the caller's parent, and below it the
``AWS::Lambda::Function`` segment with ``Initialization`` (a cold start), ``Invocation`` and ``Overhead``
(the platform's work after the answer) — as X-Ray segment documents for the X-Ray API on the port
(``xray.py``), and exported with OpenTelemetry (OTLP over HTTP or gRPC to ``--otlp-endpoint``).

The SDK is imported only when an endpoint is set, and spans are built after the invocation answered,
by the batch processor's thread for the export; an unsampled invocation costs a substring test.
"""

from __future__ import annotations

import dataclasses
import os
import random
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ..models import FunctionVersion, InvokeRequest, InvokeResult

RESERVOIR_PER_S = 1
RATE = 0.05
OPEN_MAX = 10_000  # sampled invocations being traced at once


def fields(header: str) -> dict[str, str]:
    """``Root=…;Parent=…;Sampled=1`` -> {"Root": …, "Parent": …, "Sampled": "1"}."""
    found = {}
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key:
            found[key] = value
    return found


class Tracing:
    def __init__(self, region: str = "us-east-1", account: str = "000000000000") -> None:
        self.region = region
        self.account = account
        self._second = -1
        self._taken = 0
        self._tracer: Any = None
        self._provider: Any = None
        self.on_segments: Callable[[list[dict[str, Any]]], Any] | None = None  # the X-Ray store's
        self._open: dict[str, tuple[float, str]] = {}  # function segment id -> (start, caller's parent)

    def new_header(self) -> str:
        """A new trace for an Active function called without one, sampled by X-Ray's default rule."""
        now = int(time.time())
        if now != self._second:
            self._second, self._taken = now, 0
        sampled = self._taken < RESERVOIR_PER_S or random.random() < RATE
        self._taken += sampled
        root = f"1-{now:08x}-{random.getrandbits(96):024x}"
        return f"Root={root};Sampled={int(sampled)}"

    def export_to(self, endpoint: str) -> None:
        """Send sampled invocations' spans to an OTLP collector: over HTTP (``http://host:4318``), or over gRPC
        when the URL says so (``grpc://host:4317``, ``grpcs://`` with TLS) or ``OTEL_EXPORTER_OTLP_PROTOCOL``
        (or its ``_TRACES_`` form) is ``grpc``, as OpenTelemetry's SDKs read it."""
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

        url = urlsplit(endpoint)
        protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        exporter: SpanExporter
        if url.scheme in ("grpc", "grpcs") or protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

            secure = url.scheme in ("grpcs", "https")
            exporter = GrpcExporter(endpoint=f"{'https' if secure else 'http'}://{url.netloc}", insecure=not secure)
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            path = endpoint.rstrip("/")
            exporter = OTLPSpanExporter(endpoint=path if path.endswith("/v1/traces") else path + "/v1/traces")
        self._provider = TracerProvider(resource=Resource.create({"service.name": "kindling", "cloud.provider": "aws"}))
        self._provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
        self._tracer = self._provider.get_tracer("kindling.metrics.tracing")

    @property
    def recording(self) -> bool:
        return self._tracer is not None or self.on_segments is not None

    def enter(self, version: FunctionVersion, request: InvokeRequest) -> InvokeRequest:
        """The request as the function runs it: a new trace for an Active function called without one, and
        for a sampled one, ``Parent`` the function segment's id (the caller's parent is kept for its record)."""
        trace = request.trace_id
        if version.tracing_mode == "Active" and "Root=" not in trace:
            trace = self.new_header()
        if "Sampled=1" in trace and self.recording:
            segment = f"{random.getrandbits(64):016x}"
            if len(self._open) >= OPEN_MAX:  # invocations that never finished: forget the oldest
                self._open.pop(next(iter(self._open)))
            self._open[segment] = (time.time(), fields(trace).get("Parent", ""))
            kept = [part for part in trace.split(";") if part and not part.strip().startswith("Parent=")]
            trace = ";".join([kept[0], f"Parent={segment}", *kept[1:]])
        return request if trace == request.trace_id else dataclasses.replace(request, trace_id=trace)

    def finished(self, version: FunctionVersion, request: InvokeRequest, result: InvokeResult) -> None:
        if not self._open or "Sampled=1" not in request.trace_id:  # the unsampled invocation's whole cost
            return
        header = fields(request.trace_id)
        opened = self._open.pop(header.get("Parent", ""), None)
        if opened is None or result.duration_ms is None:
            return
        started, caller = opened
        root = header.get("Root", "")
        end = time.time()
        invocation_s = result.duration_ms / 1000
        init_s = (result.init_ms or 0) / 1000
        if self.on_segments is not None:
            self.on_segments(self._segments(version, request, result, root, header["Parent"], caller, started, end))
        if self._tracer is not None:
            self._export(version, request, result, root, caller, started, end, invocation_s, init_s)

    def _segments(
        self,
        version: FunctionVersion,
        request: InvokeRequest,
        result: InvokeResult,
        root: str,
        function_id: str,
        caller: str,
        started: float,
        end: float,
    ) -> list[dict[str, Any]]:
        """The platform's X-Ray segments of one invocation."""
        invocation_s = result.duration_ms / 1000 if result.duration_ms else 0.0
        init_s = (result.init_ms or 0) / 1000
        done = time.time()
        aws = {"account_id": self.account}
        service: dict[str, Any] = {
            "trace_id": root,
            "id": f"{random.getrandbits(64):016x}",
            "name": version.name,
            "origin": "AWS::Lambda",
            "start_time": started,
            "end_time": done,
            "resource_arn": request.invoked_arn,
            "http": {"response": {"status": 200}},
            "aws": dict(aws, function_version=result.executed_version),
        }
        if len(caller) == 16:
            service["parent_id"] = caller
        if request.queued_at is not None:  # an async event: its time in the queue, then this attempt
            service["start_time"] = min(request.queued_at, started)
            service["subsegments"] = [
                _subsegment("Dwell Time", service["start_time"], started),
                _subsegment(f"Attempt #{request.attempt}", started, done),
            ]
        subsegments = []
        if init_s:
            first = "Restore" if version.snap_start_optimized else "Initialization"  # SnapStart restores
            subsegments.append(_subsegment(first, end - invocation_s - init_s, end - invocation_s))
        subsegments.append(_subsegment("Invocation", end - invocation_s, end))
        subsegments.append(_subsegment("Overhead", end, done))
        function: dict[str, Any] = {
            "trace_id": root,
            "id": function_id,
            "parent_id": service["id"],
            "name": version.name,
            "origin": "AWS::Lambda::Function",
            "start_time": min(started, end - invocation_s - init_s),
            "end_time": done,
            "resource_arn": version.arn,
            "aws": dict(aws, function_arn=version.arn, resource_names=[version.name]),
            "subsegments": subsegments,
        }
        if result.function_error:
            function["error"] = True
            subsegments[-2]["error"] = True
        return [service, function]

    def _export(
        self,
        version: FunctionVersion,
        request: InvokeRequest,
        result: InvokeResult,
        root: str,
        caller: str,
        started: float,
        end: float,
        invocation_s: float,
        init_s: float,
    ) -> None:
        from opentelemetry import trace
        from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

        trace_hex = root.replace("1-", "", 1).replace("-", "")
        if len(trace_hex) != 32:
            return
        parent_id = int(caller, 16) if len(caller) == 16 else random.getrandbits(64)
        context = trace.set_span_in_context(
            NonRecordingSpan(SpanContext(int(trace_hex, 16), parent_id, True, TraceFlags(TraceFlags.SAMPLED)))
        )
        end_ns = int(end * 1e9)
        invocation_ns = int(invocation_s * 1e9)
        init_ns = int(init_s * 1e9)
        start = min(int(started * 1e9), end_ns - invocation_ns - init_ns)
        if request.queued_at is not None:  # an async event's span covers its time in the queue
            start = min(start, int(request.queued_at * 1e9))
        attributes = {
            "faas.name": version.name,
            "faas.version": result.executed_version,
            "faas.coldstart": result.cold,
            "faas.max_memory": version.memory_size * 1024 * 1024,
            "cloud.region": self.region,
            "cloud.account.id": self.account,
            "cloud.resource_id": request.invoked_arn,
            "aws.xray.trace_id": root,
        }
        segment = self._tracer.start_span(version.name, context, SpanKind.SERVER, attributes, start_time=start)
        if result.function_error:
            segment.set_status(trace.Status(trace.StatusCode.ERROR, result.function_error))
        inside = trace.set_span_in_context(segment)
        if request.queued_at is not None:
            segment.set_attribute("aws.lambda.attempt", request.attempt)
            self._tracer.start_span("Dwell Time", inside, start_time=start).end(end_time=int(started * 1e9))
        if init_ns:
            start_init = end_ns - invocation_ns - init_ns
            first = "Restore" if version.snap_start_optimized else "Initialization"
            self._tracer.start_span(first, inside, start_time=start_init).end(end_time=start_init + init_ns)
        self._tracer.start_span("Invocation", inside, start_time=end_ns - invocation_ns).end(end_time=end_ns)
        done = time.time_ns()
        self._tracer.start_span("Overhead", inside, start_time=end_ns).end(end_time=done)
        segment.end(end_time=done)

    def close(self) -> None:
        if self._provider is not None:
            self._provider.shutdown()


def _subsegment(name: str, start: float, end: float) -> dict[str, Any]:
    return {"id": f"{random.getrandbits(64):016x}", "name": name, "start_time": start, "end_time": end}
