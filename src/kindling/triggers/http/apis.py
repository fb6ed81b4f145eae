"""Route tables served: a request under a table's base path becomes API Gateway's event for the route
that matches, and the function's answer becomes the HTTP response (``functions/routes.py`` holds the tables)."""

from __future__ import annotations

import zlib

from ...functions.routes import HttpApi, RouteTables
from .events import HttpRequest, Route, event_v1, event_v2
from .responses import HttpResponse, from_v1, from_v2, message
from .serve import Answer, HttpGateway


class ApiGateway:
    def __init__(self, tables: RouteTables, gateway: HttpGateway) -> None:
        self.tables = tables
        self.gateway = gateway

    async def serve(self, api: HttpApi, request: HttpRequest, domain: str) -> Answer:
        path = request.path[len(api.base_path) :] or "/"
        inner = HttpRequest(request.method, path, request.query, request.headers, request.body, request.source_ip,
                            request.protocol, request.epoch_ms, request.request_id)  # fmt: skip
        found = api.find(request.method, path)
        if found is None:
            return message(404, "Not Found", key="message")
        spec, params = found
        route = Route(
            api_id=api.api_id,
            domain=domain,
            route_key=spec.key,
            resource="/" + "/".join(spec.segments) if spec.key != "$default" else "/{proxy+}",
            stage=api.stage,
            path_parameters=params,
            account_id=self.tables.functions.config.account_id,
            resource_id=f"{zlib.crc32(spec.key.encode()):08x}"[:6],
        )
        v1 = spec.payload_version == "1.0"
        event = event_v1(inner, route) if v1 else event_v2(inner, route)
        reader = from_v1 if v1 else from_v2
        return await self.gateway.call(spec.function, spec.qualifier, event, inner, reader, api_failure)


def api_failure(status: int, text: str) -> HttpResponse:
    """API Gateway's own error body."""
    return message(status, "Internal server error" if status == 502 else text, key="message")
