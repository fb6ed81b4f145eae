"""The one mapping from ``KindlingError`` to an AWS-shaped HTTP error response."""

from __future__ import annotations

import json

from ..errors import LambdaError, TooManyRequests


def error_response(error: LambdaError) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body: dict[str, object] = {"Type": error.fault, error.message_key: error.message}
    body.update({k: v for k, v in error.extra.items() if v not in (None, "")})
    headers = [(b"x-amzn-errortype", error.code.encode())]
    if isinstance(error, TooManyRequests):
        headers.append((b"retry-after", str(error.retry_after).encode()))
    return error.status, headers, json.dumps(body).encode()
