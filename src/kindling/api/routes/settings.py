"""Get/PutRuntimeManagementConfig and Get/PutFunctionScalingConfig."""

from __future__ import annotations

from ...functions.settings import FunctionSettings
from ...web import Reply, json_reply
from ..app import Handler, Request


def handlers(settings: FunctionSettings) -> dict[str, Handler]:
    async def get_runtime_management_config(request: Request) -> Reply:
        params = request.params
        return json_reply(settings.runtime_management(params["FunctionName"], params.get("Qualifier")))

    async def put_runtime_management_config(request: Request) -> Reply:
        return json_reply(settings.put_runtime_management(request.params))

    async def get_function_scaling_config(request: Request) -> Reply:
        return json_reply(settings.scaling(request.params["FunctionName"], request.params["Qualifier"]))

    async def put_function_scaling_config(request: Request) -> Reply:
        params = request.params
        state = settings.put_scaling(
            params["FunctionName"], params["Qualifier"], params.get("FunctionScalingConfig") or {}
        )
        return json_reply({"FunctionState": state}, 202)

    return {
        "GetRuntimeManagementConfig": get_runtime_management_config,
        "PutRuntimeManagementConfig": put_runtime_management_config,
        "GetFunctionScalingConfig": get_function_scaling_config,
        "PutFunctionScalingConfig": put_function_scaling_config,
    }
