"""HTTP request in, function invoked with the event AWS would build, HTTP response out.

Shared by function URLs and route tables; they differ in the event format, how the result is
read, and the body of the front door's own errors. Failures map to the statuses AWS gives:
413 for an oversized request, 429 when throttled, 502 for a function error or a malformed
response, 504 for a timeout.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...errors import TooManyRequests
from ...functions.invocations import Invocations
from ...functions.policy import PolicyService, allows_public_url
from ...functions.urls import UrlConfig
from ...invoke.streaming import StreamedInvocation
from ...limits import SYNC_PAYLOAD_MAX
from ...models import InvokeRequest, InvokeResult
from . import cors
from .events import HttpRequest, Route, event_v2
from .responses import HttpResponse, MalformedResponse, from_prelude, from_v2, message, plain

FORBIDDEN = "Forbidden. For troubleshooting Function URL authorization issues, see: https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html"
Failure = Callable[[int, str], HttpResponse]


@dataclass
class Streamed:
    """A response whose head is known and whose body is still being produced."""

    status: int
    headers: list[tuple[str, str]]
    invocation: StreamedInvocation
    first: bytes = b""


Answer = HttpResponse | Streamed


def signed(request: HttpRequest) -> bool:
    """A SigV4 signature is present (in the header or a presigned query); checking it is the auth issue's."""
    authorization = request.header("authorization") or ""
    return authorization.startswith("AWS4-HMAC-SHA256 ") or "X-Amz-Signature=" in request.query


class HttpGateway:
    def __init__(
        self,
        invocations: Invocations,
        policies: PolicyService,
        url_allowed: Callable[[str, str], bool] = lambda function, qualifier: True,
    ) -> None:
        self.invocations = invocations
        self.policies = policies
        self.url_allowed = url_allowed  # an AWS_IAM URL's caller may invoke it (the auth part's IAM check)

    # ------------------------------------------------------------ function URLs
    async def url(self, config: UrlConfig, request: HttpRequest, domain: str) -> Answer:
        if cors.is_preflight(config.cors, request):
            return cors.preflight(config.cors, request)
        if config.auth_type == "AWS_IAM":
            allowed = signed(request) and self.url_allowed(config.function, config.qualifier)
        else:
            allowed = allows_public_url(self.policies.statements(config.function, config.qualifier))
        if not allowed:
            answer: Answer = message(403, "Forbidden" if config.auth_type == "AWS_IAM" else FORBIDDEN)
        else:
            event = event_v2(request, Route(api_id=config.url_id, domain=domain))
            qualifier = None if config.qualifier == "$LATEST" else config.qualifier
            stream = config.invoke_mode == "RESPONSE_STREAM"
            answer = await self.call(config.function, qualifier, event, request, from_v2, plain, stream)
        if config.cors:
            answer.headers = cors.decorate(config.cors, request, answer.headers)
        return answer

    # ----------------------------------------------------------------- invoke
    async def call(
        self,
        function: str,
        qualifier: str | None,
        event: dict[str, Any],
        request: HttpRequest,
        reader: Callable[[bytes], HttpResponse],
        failure: Failure,
        stream: bool = False,
    ) -> Answer:
        payload = json.dumps(event).encode()
        if len(payload) > SYNC_PAYLOAD_MAX:
            return failure(413, "Request Entity Too Large")
        record, code_dir, invoked_arn = self.invocations.target(function, qualifier)
        trace_id = request.header("x-amzn-trace-id") or ""
        invoke_request = InvokeRequest(payload, invoked_arn, trace_id=trace_id, request_id=request.request_id)
        try:
            if stream:
                return await self._streamed(self.invocations.stream(record, code_dir, invoke_request), failure)
            result = await self.invocations.invoke(record, code_dir, invoke_request)
        except TooManyRequests:
            return failure(429, "Too Many Requests")
        return self._read(result, reader, failure)

    @staticmethod
    def _read(result: InvokeResult, reader: Callable[[bytes], HttpResponse], failure: Failure) -> HttpResponse:
        if result.function_error:
            try:
                timed_out = json.loads(result.payload).get("errorType") == "Sandbox.Timedout"
            except (ValueError, AttributeError):
                timed_out = False
            return failure(504, "Endpoint request timed out") if timed_out else failure(502, "Internal Server Error")
        try:
            return reader(result.payload)
        except MalformedResponse:
            return failure(502, "Internal Server Error")

    async def _streamed(self, invocation: StreamedInvocation, failure: Failure) -> Answer:
        first = await invocation.first()
        if first is None:  # the handler returned a value instead of streaming one
            return self._read(await invocation.result(), from_v2, failure)
        is_prelude, data = first
        if not is_prelude:
            return Streamed(200, [("content-type", "application/octet-stream")], invocation, data)
        try:
            head = from_prelude(data)
        except MalformedResponse:
            return failure(502, "Internal Server Error")
        return Streamed(head.status, head.headers, invocation)
