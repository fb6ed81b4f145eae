"""Invoke and InvokeAsync: the hot path, kept to parsing, one lookup and the invoker call."""

from __future__ import annotations

import base64
import binascii
import json

from ...errors import InvalidRequestContent, LambdaError, RequestEntityTooLarge, RequestTooLarge
from ...events.queue import EventQueue
from ...functions.invocations import Invocations
from ...functions.service import FunctionService
from ...limits import ASYNC_PAYLOAD_MAX, LEGACY_ASYNC_PAYLOAD_MAX, SYNC_PAYLOAD_MAX
from ...models import InvokeRequest
from ...web import Reply
from ..app import Handler, Request


def check_payload(payload: bytes, limit: int, too_large: type[LambdaError] = RequestEntityTooLarge) -> None:
    """Size, then JSON. Synchronous invokes get what AWS really sends; async ones the modeled error."""
    if len(payload) > limit:
        raise too_large(f"Request must be smaller than {limit} bytes for the InvokeFunction operation")
    if payload:
        try:
            json.loads(payload)
        except ValueError as error:
            raise InvalidRequestContent(
                f"Could not parse request body into json: Could not parse payload into json: {error}"
            ) from None


def _client_context(encoded: str | None) -> str | None:
    if not encoded:
        return None
    try:
        text = base64.b64decode(encoded, validate=True).decode()
        if not isinstance(json.loads(text), dict):
            raise ValueError
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidRequestContent("Client context must be a valid Base64-encoded JSON object.") from None
    return text


def handlers(service: FunctionService, invocations: Invocations, events: EventQueue) -> dict[str, Handler]:
    run = invocations.invoke

    async def invoke(request: Request) -> Reply:
        params = request.params
        record, code_dir, invoked_arn = invocations.target(params["FunctionName"], params.get("Qualifier"))
        kind = params.get("InvocationType", "RequestResponse")
        payload: bytes = params.get("Payload") or b""
        if kind == "Event":
            check_payload(payload, ASYNC_PAYLOAD_MAX, RequestTooLarge)
        else:
            check_payload(payload, SYNC_PAYLOAD_MAX)
        invoke_request = InvokeRequest(
            payload=payload,
            invoked_arn=invoked_arn,
            log_tail=params.get("LogType") == "Tail",
            client_context=_client_context(params.get("ClientContext")),
            trace_id=request.headers.get("x-amzn-trace-id", ""),
            request_id=request.request_id,
        )
        if kind == "DryRun":
            return Reply(204)
        if kind == "Event":
            await events.enqueue(record, code_dir, invoke_request)
            return Reply(202)
        result = await run(record, code_dir, invoke_request)
        headers = [(b"x-amz-executed-version", result.executed_version.encode())]
        if result.function_error:
            headers.append((b"x-amz-function-error", result.function_error.encode()))
        if result.log_tail:
            headers.append((b"x-amz-log-result", result.log_tail.encode()))
        return Reply(200, result.payload, headers)

    async def invoke_async(request: Request) -> Reply:
        entry = service.resolve(request.params["FunctionName"])
        payload = request.params.get("InvokeArgs") or b""
        check_payload(payload, LEGACY_ASYNC_PAYLOAD_MAX, RequestTooLarge)
        invoke_request = InvokeRequest(payload=payload, invoked_arn=entry.latest.arn, request_id=request.request_id)
        await events.enqueue(entry.latest, entry.code_dir, invoke_request)
        return Reply(202, b'{"Status": 202}')

    return {"Invoke": invoke, "InvokeAsync": invoke_async}
