"""The X-Ray API on the port (rest-json: ``POST /TraceSegments``, ``/TraceSummaries``, ``/Traces``,
``/GetSamplingRules``, ``/SamplingTargets``) and the X-Ray daemon's UDP port, so code instrumented with an
X-Ray SDK works unchanged: inside a function the SDK sends each segment or subsegment as one datagram
(``{"format":"json","version":1}\\n`` then the document) to ``AWS_XRAY_DAEMON_ADDRESS``, which is this
server's host and port (UDP). The platform's own segments for each sampled invocation (``tracing.py``)
land in the same store, so ``BatchGetTraces`` shows one trace with both.

Documents are gathered on the event loop and written in a worker thread a moment later, in one
transaction; a read writes what is pending first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from ..errors import AwsError
from ..store.traces import TraceStore
from ..web import Reply, header, read_body, send_reply
from . import traces
from .traces import invalid

log = logging.getLogger("kindling.metrics")
DAEMON_HEADER = b'{"format":"json","version":1}'
PAGE = 100  # summaries per GetTraceSummaries page
BATCH_TRACES_MAX = 5
WRITE_DELAY_S = 0.05
SUMMARY_RANGE_MAX_S = 24 * 3600  # X-Ray answers ranges of up to 24 hours
PATHS = {"/TraceSegments", "/TraceSummaries", "/Traces", "/GetSamplingRules", "/SamplingTargets"}
DEFAULT_RULE = {
    "RuleName": "Default",
    "RuleARN": "",
    "ResourceARN": "*",
    "Priority": 10000,
    "FixedRate": 0.05,
    "ReservoirSize": 1,
    "ServiceName": "*",
    "ServiceType": "*",
    "Host": "*",
    "HTTPMethod": "*",
    "URLPath": "*",
    "Version": 1,
    "Attributes": {},
}


class XRay:
    """The segment documents' way in (API, daemon, platform) and the X-Ray operations that read them."""

    def __init__(self, store: TraceStore, region: str, account: str) -> None:
        self.store = store
        self.account = account
        self.region = region
        self._pending: list[tuple[str, str, float, float, str]] = []
        self._writer: asyncio.TimerHandle | None = None
        self._lock = asyncio.Lock()
        self.handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "/TraceSummaries": self.get_trace_summaries,
            "/Traces": self.batch_get_traces,
            "/GetSamplingRules": self.get_sampling_rules,
            "/SamplingTargets": self.get_sampling_targets,
        }

    # ------------------------------------------------------------ writing
    def add(self, document: dict[str, Any]) -> str:
        """Keep one checked document (on the event loop); '' or why it was refused."""
        problem = traces.check(document)
        if problem:
            return problem
        text = json.dumps(document, separators=(",", ":"))
        if len(text) > traces.DOCUMENT_MAX:
            return "The segment document is larger than 64 KB"
        self._pending.append((document["trace_id"], document["id"], float(document["start_time"]), time.time(), text))
        if self._writer is None:
            self._writer = asyncio.get_running_loop().call_later(WRITE_DELAY_S, self._write_soon)
        return ""

    def record(self, documents: list[dict[str, Any]]) -> None:
        """The platform's own segments of a sampled invocation (``tracing.py``)."""
        for document in documents:
            self.add(document)

    def _write_soon(self) -> None:
        self._writer = None
        task = asyncio.ensure_future(self.flush())
        task.add_done_callback(_log_failure)

    async def flush(self) -> None:
        async with self._lock:
            rows, self._pending = self._pending, []
            if rows:
                await asyncio.get_running_loop().run_in_executor(None, self.store.put, rows, time.time())

    def datagram(self, data: bytes) -> None:
        """One datagram to the daemon's port: the header line, then a segment document."""
        head, _, body = data.partition(b"\n")
        try:
            if json.loads(head).get("format") != "json":
                return
            problem = self.add(json.loads(body))
        except (ValueError, AttributeError):
            problem = "not a segment document"
        if problem:
            log.debug("X-Ray daemon port: dropped a datagram (%s)", problem)

    def put_trace_segments(self, params: dict[str, Any]) -> dict[str, Any]:
        documents = params.get("TraceSegmentDocuments")
        if not isinstance(documents, list) or not documents:
            raise invalid("TraceSegmentDocuments is required")
        unprocessed = []
        for text in documents:
            try:
                document = json.loads(text) if isinstance(text, str) else None
            except ValueError:
                document = None
            problem = self.add(document) if document is not None else "The segment document is not valid JSON"
            if problem:
                segment_id = document.get("id") if isinstance(document, dict) else None
                unprocessed.append({"Id": str(segment_id or ""), "ErrorCode": "InvalidSegment", "Message": problem})
        return {"UnprocessedTraceSegments": unprocessed}

    # ------------------------------------------------------------ reading (in a worker thread)
    def get_trace_summaries(self, params: dict[str, Any]) -> dict[str, Any]:
        start, end = params.get("StartTime"), params.get("EndTime")
        if not isinstance(start, (int, float)) or not isinstance(end, (int, float)):
            raise invalid("StartTime and EndTime are required")
        if end <= start or end - start > SUMMARY_RANGE_MAX_S:
            raise invalid("The time range must be positive and at most 24 hours")
        range_type = params.get("TimeRangeType", "TraceId")
        if range_type not in ("TraceId", "Event", "Service"):
            raise invalid("TimeRangeType must be TraceId, Event or Service")
        tests = traces.parse_filter(params["FilterExpression"]) if params.get("FilterExpression") else []
        offset = _token(params.get("NextToken"))
        found = []
        ids = self.store.trace_ids(float(start), float(end), by_trace_time=range_type == "TraceId")
        for trace_id, documents in self.store.documents(ids).items():
            summary = traces.summary(trace_id, traces.assemble(documents), self.account)
            if all(test(summary) for test in tests):
                found.append(summary)
        found.sort(key=lambda summary: summary["StartTime"], reverse=True)
        page = found[offset : offset + PAGE]
        answer: dict[str, Any] = {
            "TraceSummaries": page,
            "ApproximateTime": time.time(),
            "TracesProcessedCount": len(ids),
        }
        if offset + PAGE < len(found):
            answer["NextToken"] = str(offset + PAGE)
        return answer

    def batch_get_traces(self, params: dict[str, Any]) -> dict[str, Any]:
        ids = params.get("TraceIds")
        if not isinstance(ids, list) or not ids or not all(isinstance(one, str) for one in ids):
            raise invalid("TraceIds is required")
        if len(ids) > BATCH_TRACES_MAX:
            raise invalid(f"At most {BATCH_TRACES_MAX} trace IDs per request")
        stored = self.store.documents(list(dict.fromkeys(ids)))
        found = []
        for trace_id in dict.fromkeys(ids):
            if trace_id not in stored:
                continue
            segments = traces.assemble(stored[trace_id])
            starts = [segment["start_time"] for segment in segments]
            ends = [float(segment.get("end_time") or segment["start_time"]) for segment in segments]
            found.append(
                {
                    "Id": trace_id,
                    "Duration": round(max(ends) - min(starts), 3),
                    "LimitExceeded": False,
                    "Segments": [{"Id": segment["id"], "Document": json.dumps(segment)} for segment in segments],
                }
            )
        return {"Traces": found, "UnprocessedTraceIds": [one for one in ids if one not in stored]}

    def get_sampling_rules(self, params: dict[str, Any]) -> dict[str, Any]:
        """X-Ray's default rule (1 request a second, then 5 %), for SDKs that sample centrally."""
        rule = dict(DEFAULT_RULE, RuleARN=f"arn:aws:xray:{self.region}:{self.account}:sampling-rule/Default")
        return {"SamplingRuleRecords": [{"SamplingRule": rule, "CreatedAt": 0, "ModifiedAt": 0}]}

    def get_sampling_targets(self, params: dict[str, Any]) -> dict[str, Any]:
        documents = params.get("SamplingStatisticsDocuments")
        if not isinstance(documents, list):
            raise invalid("SamplingStatisticsDocuments is required")
        targets = [
            {
                "RuleName": document.get("RuleName", "Default"),
                "FixedRate": DEFAULT_RULE["FixedRate"],
                "ReservoirQuota": DEFAULT_RULE["ReservoirSize"],
                "ReservoirQuotaTTL": time.time() + 10,
                "Interval": 10,
            }
            for document in documents
            if isinstance(document, dict)
        ]
        return {"SamplingTargetDocuments": targets, "LastRuleModification": 0, "UnprocessedStatistics": []}


class XRayService:
    """The X-Ray API's wire: rest-json, errors named in ``X-Amzn-ErrorType``."""

    def __init__(self, xray: XRay) -> None:
        self.xray = xray

    def claims(self, scope: dict) -> bool:
        return scope["method"] == "POST" and scope["path"] in PATHS

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        path = scope["path"]
        try:
            body = await read_body(receive, header(scope, b"content-length").decode("latin-1"))
            try:
                params = json.loads(body) if body else {}
            except ValueError:
                raise invalid("The request body is not valid JSON") from None
            if not isinstance(params, dict):
                raise invalid("The request body must be a JSON object")
            if path == "/TraceSegments":
                result = self.xray.put_trace_segments(params)
            else:
                await self.xray.flush()
                handler = self.xray.handlers[path]
                result = await asyncio.get_running_loop().run_in_executor(None, handler, params)
            reply = Reply(200, json.dumps(result).encode())
        except AwsError as error:
            reply = Reply(
                error.status,
                json.dumps({"message": error.message}).encode(),
                headers=[(b"x-amzn-errortype", error.code.encode())],
            )
        reply.content_type = b"application/json"
        await send_reply(send, reply, str(uuid.uuid4()))


class Daemon(asyncio.DatagramProtocol):
    """The X-Ray daemon's UDP port: each datagram one document, nothing answered."""

    def __init__(self, xray: XRay) -> None:
        self.xray = xray
        self.transport: asyncio.DatagramTransport | None = None

    async def start(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.xray.datagram(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None


def _token(token: Any) -> int:
    if token is None:
        return 0
    with contextlib.suppress(ValueError, TypeError):
        return max(0, int(token))
    raise invalid("Invalid NextToken")


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("writing trace segments failed", exc_info=task.exception())
