"""AWS's error responses, from the one error hierarchy (``errors.py``): one function per wire protocol."""

from __future__ import annotations

import json

from ..errors import AwsError, TooManyRequests


def error_response(error: AwsError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The REST JSON protocol (Lambda): the code in ``x-amzn-ErrorType``, ``Type`` and the message in the body."""
    body: dict[str, object] = {"Type": error.fault, error.message_key: error.message}
    body.update({k: v for k, v in error.extra.items() if v not in (None, "")})
    headers = [(b"x-amzn-errortype", error.code.encode())]
    if isinstance(error, TooManyRequests):
        headers.append((b"retry-after", str(error.retry_after).encode()))
    return error.status, headers, json.dumps(body).encode()


def json_protocol_error(error: AwsError) -> bytes:
    """The JSON protocol's body (CloudWatch Logs and the other ``X-Amz-Target`` APIs): ``__type`` and ``message``."""
    return json.dumps({"__type": error.code, "message": error.message}).encode()
