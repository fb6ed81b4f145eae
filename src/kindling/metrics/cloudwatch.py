"""CloudWatch as a service on the port (``api/dispatch.py``), in the protocols current SDKs speak to it:
``smithy-rpc-v2-cbor`` (``POST /service/GraniteServiceVersion20100801/operation/<Op>``, what boto3 and
the AWS CLI send today) and the JSON protocol (``X-Amz-Target: GraniteServiceVersion20100801.<Op>``).

It also runs the part's clock: every interval (a minute; ``KINDLING_METRICS_INTERVAL_S`` for tests) the
recorder is drained on the event loop, written in a worker thread, and the alarms are evaluated. A read
drains first, so what a client asks for includes the invocations that just ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import AwsError, ServiceFault
from ..web import Reply, header, read_body, send_reply
from . import cbor
from .alarms import Alarms
from .operations import MetricOperations

log = logging.getLogger("kindling.metrics")
SERVICE = "GraniteServiceVersion20100801"
CBOR_PREFIX = f"/service/{SERVICE}/operation/"
JSON_PREFIX = (SERVICE + ".").encode()
JSON_TYPE = b"application/x-amz-json-1.0"
WRITES = {"PutMetricData"}  # recorded on the loop, no flush first


def interval_s() -> float:
    return float(os.environ.get("KINDLING_METRICS_INTERVAL_S") or 60)


class CloudWatchService:
    def __init__(self, operations: MetricOperations, alarms: Alarms) -> None:
        self.operations = operations
        self.metrics = operations.metrics
        self.alarms = alarms
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.tick_jobs: list[Callable[[], Awaitable[None]]] = []  # more work for each interval (usage samples)
        self.handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "GetMetricStatistics": operations.get_metric_statistics,
            "GetMetricData": operations.get_metric_data,
            "ListMetrics": operations.list_metrics,
            "PutMetricData": operations.put_metric_data,
            "PutMetricAlarm": alarms.put,
            "DescribeAlarms": alarms.describe,
            "DescribeAlarmHistory": alarms.history,
            "DeleteAlarms": alarms.delete,
            "SetAlarmState": alarms.set_state,
        }

    # ------------------------------------------------------------- the clock
    def start(self) -> None:
        self._task = asyncio.create_task(self._tick_forever())

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(interval_s())
            try:
                await self.flush()
                await asyncio.get_running_loop().run_in_executor(None, self.alarms.evaluate, time.time())
                await self.alarms.run_actions()
                for job in self.tick_jobs:
                    await job()
            except Exception:
                log.exception("metrics flush or alarm evaluation failed")

    async def flush(self) -> None:
        async with self._lock:
            batch = self.metrics.recorder.drain()
            await asyncio.get_running_loop().run_in_executor(None, self.metrics.flush, batch)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    # ------------------------------------------------------------- the wire
    def claims(self, scope: dict) -> bool:
        if scope["method"] != "POST":
            return False
        path: str = scope["path"]
        return path.startswith(CBOR_PREFIX) or (path == "/" and header(scope, b"x-amz-target").startswith(JSON_PREFIX))

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        use_cbor = scope["path"].startswith(CBOR_PREFIX)
        operation = (
            scope["path"][len(CBOR_PREFIX) :]
            if use_cbor
            else header(scope, b"x-amz-target")[len(JSON_PREFIX) :].decode("latin-1")
        )
        try:
            body = await read_body(receive, header(scope, b"content-length").decode("latin-1"))
            result = await self.handle(operation, body, use_cbor)
            reply = Reply(200, cbor.encode(result) if use_cbor else json.dumps(result).encode())
        except AwsError as error:
            reply = _error(error, use_cbor)
        reply.content_type = b"application/cbor" if use_cbor else JSON_TYPE
        if use_cbor:
            reply.headers.append((b"smithy-protocol", b"rpc-v2-cbor"))
        await send_reply(send, reply, str(uuid.uuid4()))

    async def handle(self, operation: str, body: bytes, use_cbor: bool) -> dict[str, Any]:
        handler = self.handlers.get(operation)
        if handler is None:
            raise ServiceFault("InvalidAction", f"The action {operation} is not valid for this web service.")
        try:
            params = cbor.decode(body) if use_cbor else (json.loads(body) if body else {})
        except (ValueError, IndexError):
            raise ServiceFault("SerializationException", "The request body could not be parsed") from None
        if not isinstance(params, dict):
            raise ServiceFault("SerializationException", "The request body must be a structure")
        try:
            if operation in WRITES:  # the recorder is the event loop's: written to there
                result = handler(params)
            else:
                await self.flush()
                result = await asyncio.get_running_loop().run_in_executor(None, handler, params)
        except (TypeError, KeyError, AttributeError, ValueError) as error:
            raise ServiceFault("InvalidParameterValue", f"Invalid request: {error}") from None
        await self.alarms.run_actions()
        return result


def _error(error: AwsError, use_cbor: bool) -> Reply:
    document = {"__type": error.code, "message": error.message}
    body = cbor.encode(document) if use_cbor else json.dumps(document).encode()
    fault = "Sender" if error.status < 500 else "Receiver"
    return Reply(error.status, body, headers=[(b"x-amzn-query-error", f"{error.code};{fault}".encode())])
