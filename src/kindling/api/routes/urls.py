"""The function URL configuration operations (serving the URLs is ``triggers/http``)."""

from __future__ import annotations

from ...functions.urls import UrlService
from ...web import Reply, json_reply
from ..app import Handler, Request
from ..pages import listing


def handlers(urls: UrlService) -> dict[str, Handler]:
    async def create_function_url_config(request: Request) -> Reply:
        return json_reply(urls.shape(urls.create(request.params), modified=False), 201)

    async def get_function_url_config(request: Request) -> Reply:
        return json_reply(urls.shape(urls.get(request.params["FunctionName"], request.params.get("Qualifier"))))

    async def update_function_url_config(request: Request) -> Reply:
        return json_reply(urls.shape(urls.update(request.params)))

    async def delete_function_url_config(request: Request) -> Reply:
        urls.delete(request.params["FunctionName"], request.params.get("Qualifier"))
        return Reply(204)

    async def list_function_url_configs(request: Request) -> Reply:
        params = request.params
        found = urls.list(params["FunctionName"])
        return json_reply(listing("FunctionUrlConfigs", found, lambda c: c.qualifier, params, urls.shape))

    return {
        "CreateFunctionUrlConfig": create_function_url_config,
        "GetFunctionUrlConfig": get_function_url_config,
        "UpdateFunctionUrlConfig": update_function_url_config,
        "DeleteFunctionUrlConfig": delete_function_url_config,
        "ListFunctionUrlConfigs": list_function_url_configs,
    }
