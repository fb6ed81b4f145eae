"""Put/Update/Get/Delete/ListFunctionEventInvokeConfig(s), and the queue's counters under /kindling/.

The counters are not a Lambda operation: ``GET /kindling/async-events`` answers every function's,
``GET /kindling/async-events/<function name>`` one function's (zeros for a function with no events).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Awaitable
from urllib.parse import unquote

from ...arn import function_arn, parse_function
from ...errors import ResourceNotFound
from ...events import config as invoke_config
from ...events.queue import EventQueue
from ...functions.service import FunctionEntry, FunctionService
from ...web import Mount, RawRequest, Reply, json_reply
from ..app import Handler, Request
from ..pages import listing

_COUNTERS = re.compile(r"^/kindling/async-events(?:/(?P<name>[^/]+))?/?$")


def handlers(service: FunctionService, events: EventQueue) -> dict[str, Handler]:
    configs = events.configs

    def target(request: Request, missing: str | None = None) -> tuple[FunctionEntry, str]:
        """The function and qualifier named; ``missing`` is the message when the function does not exist."""
        name, qualifier = request.params["FunctionName"], request.params.get("Qualifier")
        try:
            return service.lookup(name, qualifier)
        except ResourceNotFound:
            config = service.config
            ref = parse_function(name, config.region, qualifier)
            arn = function_arn(config.region, config.account_id, ref.name, ref.qualifier or invoke_config.LATEST)
            raise ResourceNotFound(missing or f"The function {arn} doesn't have an EventInvokeConfig") from None

    def existing(entry: FunctionEntry, qualifier: str) -> invoke_config.InvokeConfig:
        found = configs.get(entry.latest.name, qualifier)
        if found is None:
            raise ResourceNotFound(f"The function {entry.latest.arn}:{qualifier} doesn't have an EventInvokeConfig")
        return found

    async def write(request: Request, merge: bool) -> Reply:
        entry, qualifier = target(request, "The function doesn't exist.")
        base = existing(entry, qualifier) if merge else None
        config = invoke_config.from_params(entry.latest.name, qualifier, request.params, base, events.function_exists)
        await configs.put(config)
        return json_reply(invoke_config.shape(config, entry.latest.arn))

    async def put_config(request: Request) -> Reply:
        return await write(request, merge=False)

    async def update_config(request: Request) -> Reply:
        return await write(request, merge=True)

    async def get_config(request: Request) -> Reply:
        entry, qualifier = target(request)
        return json_reply(invoke_config.shape(existing(entry, qualifier), entry.latest.arn))

    async def delete_config(request: Request) -> Reply:
        entry, qualifier = target(request)
        existing(entry, qualifier)
        await configs.delete(entry.latest.name, qualifier)
        return Reply(204)

    async def list_configs(request: Request) -> Reply:
        entry, _ = target(request, "The function doesn't exist.")
        found = configs.of_function(entry.latest.name)
        shape = functools.partial(invoke_config.shape, function_arn=entry.latest.arn)
        return json_reply(listing("FunctionEventInvokeConfigs", found, lambda c: c.qualifier, request.params, shape))

    return {
        "PutFunctionEventInvokeConfig": put_config,
        "UpdateFunctionEventInvokeConfig": update_config,
        "GetFunctionEventInvokeConfig": get_config,
        "DeleteFunctionEventInvokeConfig": delete_config,
        "ListFunctionEventInvokeConfigs": list_configs,
    }


def counters_mount(events: EventQueue) -> Mount:
    """The Mount that serves the queue's counters."""

    def route(request: RawRequest) -> Awaitable[Reply] | None:
        match = _COUNTERS.match(request.path)
        if request.method != "GET" or match is None:
            return None
        return _counters(events, unquote(match["name"]) if match["name"] else None)

    return route


async def _counters(events: EventQueue, name: str | None) -> Reply:
    return Reply(200, json.dumps(events.snapshot(name)).encode())
