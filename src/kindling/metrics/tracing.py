"""Tracing as Lambda does it: ``TracingConfig`` ``Active`` starts a trace when the caller sent none (sampled
as X-Ray samples by default: the first request each second, then 5 %), ``PassThrough`` only carries the
caller's; the function sees the header in ``_X_AMZN_TRACE_ID``. A sampled invocation is exported with
OpenTelemetry (OTLP over HTTP to ``--otlp-endpoint``) as Lambda's trace shows it: the function's segment,
with ``Initialization`` (a cold start) and ``Invocation`` below it, under the caller's parent when given.

The SDK is imported only when an endpoint is set, and spans are built after the invocation answered,
by the batch processor's thread for the export; an unsampled invocation costs a substring test.
"""

from __future__ import annotations

import random
import time
from typing import Any

from ..models import FunctionVersion, InvokeRequest, InvokeResult

RESERVOIR_PER_S = 1
RATE = 0.05


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
        """Send sampled invocations' spans to an OTLP/HTTP collector (``http://host:4318``)."""
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        url = endpoint.rstrip("/")
        url = url if url.endswith("/v1/traces") else url + "/v1/traces"
        self._provider = TracerProvider(resource=Resource.create({"service.name": "kindling", "cloud.provider": "aws"}))
        self._provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url), schedule_delay_millis=500))
        self._tracer = self._provider.get_tracer("kindling.metrics.tracing")

    def finished(self, version: FunctionVersion, request: InvokeRequest, result: InvokeResult) -> None:
        if self._tracer is None or "Sampled=1" not in request.trace_id or result.duration_ms is None:
            return
        from opentelemetry import trace
        from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

        header = fields(request.trace_id)
        root = header.get("Root", "")
        trace_hex = root.replace("1-", "", 1).replace("-", "")
        if len(trace_hex) != 32:
            return
        parent_hex = header.get("Parent", "")
        parent_id = int(parent_hex, 16) if len(parent_hex) == 16 else random.getrandbits(64)
        context = trace.set_span_in_context(
            NonRecordingSpan(SpanContext(int(trace_hex, 16), parent_id, True, TraceFlags(TraceFlags.SAMPLED)))
        )
        end = time.time_ns()
        invocation_ns = int(result.duration_ms * 1e6)
        init_ns = int((result.init_ms or 0) * 1e6)
        start = end - invocation_ns - init_ns
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
        if init_ns:
            self._tracer.start_span("Initialization", inside, start_time=start).end(end_time=start + init_ns)
        self._tracer.start_span("Invocation", inside, start_time=end - invocation_ns).end(end_time=end)
        segment.end(end_time=end)

    def close(self) -> None:
        if self._provider is not None:
            self._provider.shutdown()
