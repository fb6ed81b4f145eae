"""``/kindling/schedules``: Kindling's own JSON API for schedules (``functions/schedules.py`` keeps them).

PUT    /kindling/schedules/{name}   {"ScheduleExpression": "rate(5 minutes)", "FunctionName": "hello",
                                     "State": "ENABLED", "Input": "{\\"optional\\": \\"event\\"}"}
GET    /kindling/schedules          -> {"Schedules": [...]}
GET    /kindling/schedules/{name}
DELETE /kindling/schedules/{name}
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from urllib.parse import unquote

from ...errors import ValidationError
from ...functions.schedules import Schedules
from ...web import Mount, RawRequest, Reply, json_reply

PREFIX = "/kindling/schedules"


def schedules_mount(schedules: Schedules) -> Mount:
    def route(request: RawRequest) -> Awaitable[Reply] | None:
        if request.path != PREFIX and not request.path.startswith(PREFIX + "/"):
            return None
        name = unquote(request.path[len(PREFIX) + 1 :])
        if not name:
            return listing() if request.method == "GET" else None
        if request.method in ("PUT", "GET", "DELETE"):
            return one(request.method, name, request.body)
        return None

    async def listing() -> Reply:
        rules = schedules.rules
        return json_reply({"Schedules": [schedules.describe(rules[name]) for name in sorted(rules)]})

    async def one(method: str, name: str, body: bytes) -> Reply:
        if method == "GET":
            return json_reply(schedules.describe(schedules.get(name)))
        if method == "DELETE":
            schedules.delete(name)
            return Reply(204)
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            raise ValidationError("The request body is not JSON.") from None
        return json_reply(schedules.describe(schedules.put(name, params)))

    return route
