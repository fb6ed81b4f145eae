"""AddPermission, RemovePermission, GetPolicy, the tag operations and the recursion config."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable
from urllib.parse import unquote

from ...functions.policy import PolicyService, RecursiveInvocation
from ...web import Mount, RawRequest, Reply, json_reply
from ..app import Handler, Request

_INVOKE = re.compile(r"^/20(?:15-03-31|14-11-13)/functions/([^/]+)/(?:invocations|invoke-async)/?$")


def recursion_guard(policies: PolicyService) -> Mount:
    """A Mount that refuses an Invoke whose trace header shows a chain past Lambda's hop limit.
    Costs one header lookup for an ordinary invoke; the invoke handler itself is untouched."""

    async def refuse(error: RecursiveInvocation) -> Reply:
        raise error  # raised inside the awaitable, so the API answers it like any handler's error

    def guard(request: RawRequest) -> Awaitable[Reply] | None:
        trace = request.headers.get("x-amzn-trace-id")
        if not trace or "Lineage=" not in trace:
            return None
        found = _INVOKE.match(request.path)
        if found is None:
            return None
        try:
            policies.check_loop(unquote(found.group(1)), trace)
        except RecursiveInvocation as error:
            return refuse(error)
        return None

    return guard


def handlers(policies: PolicyService) -> dict[str, Handler]:
    async def add_permission(request: Request) -> Reply:
        return json_reply({"Statement": json.dumps(policies.add_permission(request.params))}, 201)

    async def remove_permission(request: Request) -> Reply:
        params = request.params
        policies.remove_permission(
            params["FunctionName"], params["StatementId"], params.get("Qualifier"), params.get("RevisionId")
        )
        return Reply(204)

    async def get_policy(request: Request) -> Reply:
        document, revision = policies.get_policy(request.params["FunctionName"], request.params.get("Qualifier"))
        return json_reply({"Policy": json.dumps(document), "RevisionId": revision})

    async def tag_resource(request: Request) -> Reply:
        policies.tag(request.params["Resource"], request.params["Tags"])
        return Reply(204)

    async def untag_resource(request: Request) -> Reply:
        policies.untag(request.params["Resource"], request.params["TagKeys"])
        return Reply(204)

    async def list_tags(request: Request) -> Reply:
        return json_reply({"Tags": policies.list_tags(request.params["Resource"])})

    async def get_recursion_config(request: Request) -> Reply:
        return json_reply({"RecursiveLoop": policies.recursion(request.params["FunctionName"])})

    async def put_recursion_config(request: Request) -> Reply:
        mode = policies.put_recursion(request.params["FunctionName"], request.params["RecursiveLoop"])
        return json_reply({"RecursiveLoop": mode})

    async def put_resource_policy(request: Request) -> Reply:
        params = request.params
        document, revision = policies.put_resource_policy(
            params["ResourceArn"], params["Policy"], params.get("RevisionId")
        )
        return json_reply({"Policy": document, "RevisionId": revision})

    async def get_resource_policy(request: Request) -> Reply:
        document, revision = policies.get_resource_policy(request.params["ResourceArn"])
        return json_reply({"Policy": document, "RevisionId": revision})

    async def delete_resource_policy(request: Request) -> Reply:
        policies.delete_resource_policy(request.params["ResourceArn"], request.params.get("RevisionId"))
        return Reply(204)

    return {
        "PutResourcePolicy": put_resource_policy,
        "GetResourcePolicy": get_resource_policy,
        "DeleteResourcePolicy": delete_resource_policy,
        "AddPermission": add_permission,
        "RemovePermission": remove_permission,
        "GetPolicy": get_policy,
        "TagResource": tag_resource,
        "UntagResource": untag_resource,
        "ListTags": list_tags,
        "GetFunctionRecursionConfig": get_recursion_config,
        "PutFunctionRecursionConfig": put_recursion_config,
    }
