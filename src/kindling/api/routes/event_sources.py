"""Create/Get/Update/Delete/ListEventSourceMappings, and the tag operations on a mapping's ARN (a function's
ARN still goes to the function's tags)."""

from __future__ import annotations

from ...functions.event_sources import EventSources
from ...web import Reply, json_reply
from ..app import Handler, Request
from ..pages import listing


def handlers(mappings: EventSources, tagging: dict[str, Handler]) -> dict[str, Handler]:
    async def create(request: Request) -> Reply:
        return json_reply(mappings.describe(mappings.create(request.params)), 202)

    async def get(request: Request) -> Reply:
        return json_reply(mappings.describe(mappings.get(request.params["UUID"])))

    async def update(request: Request) -> Reply:
        return json_reply(mappings.describe(mappings.update(request.params)), 202)

    async def delete(request: Request) -> Reply:
        return json_reply(mappings.describe(mappings.delete(request.params["UUID"])), 202)

    async def list_mappings(request: Request) -> Reply:
        params = request.params
        found = mappings.list(params.get("FunctionName"), params.get("EventSourceArn"))
        return json_reply(listing("EventSourceMappings", found, lambda m: m.uuid, params, mappings.describe))

    async def tag_resource(request: Request) -> Reply:
        if not mappings.is_mapping_arn(request.params["Resource"]):
            return await tagging["TagResource"](request)
        mappings.tag(request.params["Resource"], request.params["Tags"])
        return Reply(204)

    async def untag_resource(request: Request) -> Reply:
        if not mappings.is_mapping_arn(request.params["Resource"]):
            return await tagging["UntagResource"](request)
        mappings.untag(request.params["Resource"], request.params["TagKeys"])
        return Reply(204)

    async def list_tags(request: Request) -> Reply:
        if not mappings.is_mapping_arn(request.params["Resource"]):
            return await tagging["ListTags"](request)
        return json_reply({"Tags": mappings.tags(request.params["Resource"])})

    return {
        "CreateEventSourceMapping": create,
        "GetEventSourceMapping": get,
        "UpdateEventSourceMapping": update,
        "DeleteEventSourceMapping": delete,
        "ListEventSourceMappings": list_mappings,
        "TagResource": tag_resource,
        "UntagResource": untag_resource,
        "ListTags": list_tags,
    }
