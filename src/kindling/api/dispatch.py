"""The port's switchboard: every API served on it registers as a service, and each request goes to the first
service that claims it, the Lambda API taking what nobody claims.

A service is an ASGI app with a cheap ``claims(scope)``: a look at the method, path and a header or two,
never the body. Registered today, in order: the HTTP front (function URLs, route tables, response
streaming), CloudWatch Logs, CloudWatch (``metrics/cloudwatch.py``), Prometheus' ``GET /metrics``,
Kindling's own endpoints (``/health``, ``/kindling/…``); the AWS services join the same list. The
Invoke fast lane (``fast_lane.py``) runs before this and asks the HTTP front alone, since only it can
claim an Invoke path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

Asgi = Callable[[dict, Callable, Callable], Awaitable[None]]


class Service(Protocol):
    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None: ...

    def claims(self, scope: dict) -> bool:
        """Whether this request is this service's; decided without reading the body."""
        ...


class Dispatcher:
    def __init__(self, services: Sequence[Service], fallback: Asgi) -> None:
        self.services = list(services)
        self.fallback = fallback

    def register(self, service: Service, first: bool = False) -> None:
        self.services.insert(0 if first else len(self.services), service)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http":
            for service in self.services:
                if service.claims(scope):
                    return await service(scope, receive, send)
        await self.fallback(scope, receive, send)
