"""``/kindling/apis``: Kindling's own JSON API to create, list, read, replace and delete route tables."""

from __future__ import annotations

import json
from collections.abc import Awaitable

from ...errors import InvalidParameterValue
from ...functions.routes import RouteTables
from ...web import Mount, RawRequest, Reply, json_reply

PREFIX = "/kindling/apis"


def route_tables_mount(tables: RouteTables) -> Mount:
    def route(request: RawRequest) -> Awaitable[Reply] | None:
        if request.path != PREFIX and not request.path.startswith(PREFIX + "/"):
            return None
        return configure(request.method, request.path[len(PREFIX) :].strip("/"), request.body)

    async def configure(method: str, api_id: str, body: bytes) -> Reply:
        try:
            document = json.loads(body) if body else None
        except ValueError:
            raise InvalidParameterValue("The request body is not valid JSON.") from None
        if not api_id and method == "POST":
            return json_reply(tables.create(document), 201)
        if not api_id and method == "GET":
            return json_reply({"Items": [tables.shape(a) for a in tables.all()]})
        if method == "GET":
            return json_reply(tables.shape(tables.get(api_id)))
        if method == "PUT":
            return json_reply(tables.replace(api_id, document))
        if method == "DELETE":
            tables.delete(api_id)
            return Reply(204)
        tables.get(api_id)
        raise InvalidParameterValue(f"{method} is not supported on {PREFIX}/{api_id}.")

    return route
