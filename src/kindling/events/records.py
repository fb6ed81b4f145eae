"""What destinations and dead-letter queues receive, field for field as Lambda sends it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AttemptResult:
    """How the last attempt of an event ended; None for an event that never ran."""

    payload: bytes  # the function's result, or its error object
    executed_version: str
    function_error: str | None = None

    @property
    def error_message(self) -> str:
        body = _json(self.payload)
        return str(body.get("errorMessage", "")) if isinstance(body, dict) else ""


def _json(data: bytes) -> Any:
    """A payload as JSON where it is JSON (the event is always), else as text, as Lambda embeds it."""
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")


def timestamp(now: float | None = None) -> str:
    now = time.time() if now is None else now
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"


def invocation_record(
    *,
    request_id: str,
    function_arn: str,
    condition: str,
    invoke_count: int,
    request_payload: bytes,
    outcome: AttemptResult | None,
) -> str:
    """The record of an asynchronous invocation for an OnSuccess or OnFailure destination.

    ``function_arn`` is the qualified ARN (``…:function:f:$LATEST``); ``condition`` is ``Success``,
    ``RetriesExhausted`` or ``EventAgeExceeded``. An event that never ran has no response members.
    """
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": timestamp(),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": _json(request_payload) if request_payload else {},
    }
    if outcome is not None:
        context: dict[str, Any] = {"statusCode": 200, "executedVersion": outcome.executed_version}
        if outcome.function_error:
            context["functionError"] = outcome.function_error
        record["responseContext"] = context
        record["responsePayload"] = _json(outcome.payload)
    return json.dumps(record)


def dead_letter_attributes(request_id: str, outcome: AttemptResult | None, reason: str) -> dict[str, dict[str, str]]:
    """SQS message attributes of a dead-letter message: RequestID, ErrorCode, ErrorMessage."""
    code = "200" if outcome is not None else "429"
    message = (outcome.error_message if outcome is not None else "") or reason
    return {
        "RequestID": {"DataType": "String", "StringValue": request_id},
        "ErrorCode": {"DataType": "Number", "StringValue": code},
        "ErrorMessage": {"DataType": "String", "StringValue": message},
    }
