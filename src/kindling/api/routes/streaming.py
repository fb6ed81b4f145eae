"""InvokeWithResponseStream: the function's output sent as AWS event-stream messages as it is produced.

Served as ASGI (the HTTP front hands the path over) because a ``Reply`` is one buffered body;
the request is parsed and validated from the model as every other operation is. Each piece the
handler yields becomes a ``PayloadChunk``; one ``InvokeComplete`` ends the stream, with the
error and the log tail when there are any.
"""

from __future__ import annotations

import binascii
import json
import logging
import struct
from collections.abc import Callable
from urllib.parse import parse_qs

from ...errors import AwsError, InvalidParameterValue, RequestEntityTooLarge, ServiceError, UnknownOperation
from ...functions.invocations import Invocations
from ...functions.policy import PolicyService
from ...ids import request_id as new_request_id
from ...invoke.streaming import PRELUDE_END
from ...limits import SYNC_PAYLOAD_MAX
from ...models import InvokeRequest, InvokeResult
from ..app import Guard
from ..errors import error_response
from ..model import ServiceModel
from .invoke import _client_context, check_payload

log = logging.getLogger("kindling.api")
_PRELUDE = struct.Struct("!II")


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return bytes([len(raw_name)]) + raw_name + b"\x07" + struct.pack("!H", len(raw_value)) + raw_value


def event_message(event_type: str, payload: bytes, content_type: str) -> bytes:
    """One event-stream message: prelude, its CRC, headers, payload, CRC of everything before."""
    headers = (
        _header(":event-type", event_type) + _header(":content-type", content_type) + _header(":message-type", "event")
    )
    prelude = _PRELUDE.pack(12 + len(headers) + len(payload) + 4, len(headers))
    message = prelude + struct.pack("!I", binascii.crc32(prelude)) + headers + payload
    return message + struct.pack("!I", binascii.crc32(message))


def chunk_message(payload: bytes) -> bytes:
    return event_message("PayloadChunk", payload, "application/octet-stream")


def complete_message(result: InvokeResult | None, too_large: bool) -> bytes:
    body: dict[str, str] = {}
    if too_large:
        body = {"ErrorCode": "Function.ResponseSizeTooLarge", "ErrorDetails": "Response payload size exceeded."}
    elif result is not None and result.function_error:
        try:
            error = json.loads(result.payload)
            body = {"ErrorCode": str(error.get("errorType")), "ErrorDetails": str(error.get("errorMessage"))}
        except (ValueError, AttributeError):
            body = {"ErrorCode": "Unhandled", "ErrorDetails": result.payload.decode(errors="replace")}
    if result is not None and result.log_tail:
        body["LogResult"] = result.log_tail
    return event_message("InvokeComplete", json.dumps(body).encode(), "application/json")


class ResponseStreamInvoke:
    def __init__(
        self, model: ServiceModel, invocations: Invocations, policies: PolicyService, guard: Guard | None = None
    ) -> None:
        self.model = model
        self.invocations = invocations
        self.policies = policies
        self.guard = guard

    async def _params(self, scope: dict, receive: Callable, request_id: str) -> tuple[dict, dict[str, str]]:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        chunks, size = [], 0
        while True:
            received = await receive()
            chunks.append(received.get("body", b""))
            size += len(chunks[-1])
            if size > SYNC_PAYLOAD_MAX:
                raise RequestEntityTooLarge(
                    f"Request must be smaller than {SYNC_PAYLOAD_MAX} bytes for the InvokeWithResponseStream operation"
                )
            if not received.get("more_body"):
                break
        path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        found = self.model.match(scope["method"], path, query)
        if found is None or found[0].name != "InvokeWithResponseStream":
            raise UnknownOperation(f"No Lambda operation matches {scope['method']} {path}")
        operation, labels = found
        params = self.model.parse(operation, labels, query, headers, b"".join(chunks))
        self.model.validate(operation, params)
        if self.guard is not None:
            try:
                self.guard.authorize(operation.name, params)
            except AwsError as error:
                self.guard.record(operation.name, operation.pattern.pattern, params, request_id, error)
                raise
        return params, headers

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        request_id = new_request_id()
        try:
            params, headers = await self._params(scope, receive, request_id)
            self.policies.check_loop(params["FunctionName"], headers.get("x-amzn-trace-id", ""))
            record, code_dir, invoked_arn = self.invocations.target(params["FunctionName"], params.get("Qualifier"))
            payload: bytes = params.get("Payload") or b""
            check_payload(payload, SYNC_PAYLOAD_MAX)
            kind = params.get("InvocationType", "RequestResponse")
            if kind == "Event":
                raise InvalidParameterValue("Unsupported invocation type Event")
            request = InvokeRequest(
                payload=payload,
                invoked_arn=invoked_arn,
                log_tail=params.get("LogType") == "Tail",
                client_context=_client_context(params.get("ClientContext")),
                trace_id=headers.get("x-amzn-trace-id", ""),
                request_id=request_id,
            )
            if kind == "DryRun":
                await _reply(send, 204, [(b"x-amzn-requestid", request_id.encode())], b"")
                return
            invocation = self.invocations.stream(record, code_dir, request)
            first = await invocation.first()
        except AwsError as error:
            status, error_headers, body = error_response(error)
            await _reply(send, status, [(b"x-amzn-requestid", request_id.encode()), *error_headers], body)
            return
        except Exception:
            log.exception("unexpected error in InvokeWithResponseStream")
            status, error_headers, body = error_response(ServiceError("An internal error occurred."))
            await _reply(send, status, [(b"x-amzn-requestid", request_id.encode()), *error_headers], body)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/vnd.amazon.eventstream"),
                    (b"x-amzn-requestid", request_id.encode()),
                    (b"x-amz-executed-version", record.version.encode()),
                ],
            }
        )
        if first is not None:
            is_prelude, data = first
            await _event(send, chunk_message(data + PRELUDE_END if is_prelude else data))
            async for piece in invocation.rest():
                await _event(send, chunk_message(piece))
        result = await invocation.result()
        if first is None and not result.function_error and result.payload:
            await _event(send, chunk_message(result.payload))
        await _event(send, complete_message(result, invocation.too_large))
        await send({"type": "http.response.body", "body": b""})


async def _event(send: Callable, message: bytes) -> None:
    await send({"type": "http.response.body", "body": message, "more_body": True})


async def _reply(send: Callable, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), *headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
