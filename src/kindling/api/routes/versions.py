"""PublishVersion, ListVersionsByFunction and the alias operations."""

from __future__ import annotations

import functools

from ...functions.aliases import AliasService
from ...functions.provisioned import ProvisionedConcurrency
from ...functions.service import FunctionService
from ...web import Reply, json_reply
from ..app import Handler, Request
from ..pages import listing
from ..shapes import alias_configuration, function_configuration, qualified


def handlers(service: FunctionService, provisioned: ProvisionedConcurrency) -> dict[str, Handler]:
    region = service.config.region
    aliases = AliasService(service)

    async def publish_version(request: Request) -> Reply:
        params = request.params
        record = service.publish(
            params["FunctionName"], params.get("CodeSha256"), params.get("RevisionId"), params.get("Description")
        )
        return json_reply(function_configuration(record, region), 201)

    async def list_versions_by_function(request: Request) -> Reply:
        records = [qualified(record) for record in service.list_versions(request.params["FunctionName"])]
        shape = functools.partial(function_configuration, region=region)
        return json_reply(listing("Versions", records, lambda r: r.version, request.params, shape))

    async def create_alias(request: Request) -> Reply:
        return json_reply(alias_configuration(aliases.create(request.params)), 201)

    async def get_alias(request: Request) -> Reply:
        return json_reply(alias_configuration(aliases.get(request.params["FunctionName"], request.params["Name"])))

    async def update_alias(request: Request) -> Reply:
        return json_reply(alias_configuration(aliases.update(request.params)))

    async def delete_alias(request: Request) -> Reply:
        aliases.delete(request.params["FunctionName"], request.params["Name"])
        return Reply(204)

    async def list_aliases(request: Request) -> Reply:
        params = request.params
        found = aliases.list(params["FunctionName"], params.get("FunctionVersion"))
        return json_reply(listing("Aliases", found, lambda a: a.name, params, alias_configuration))

    async def put_provisioned_concurrency_config(request: Request) -> Reply:
        params = request.params
        described = provisioned.put(
            params["FunctionName"], params["Qualifier"], params["ProvisionedConcurrentExecutions"]
        )
        return json_reply(described, 202)

    async def get_provisioned_concurrency_config(request: Request) -> Reply:
        return json_reply(provisioned.get(request.params["FunctionName"], request.params["Qualifier"]))

    async def delete_provisioned_concurrency_config(request: Request) -> Reply:
        await provisioned.delete(request.params["FunctionName"], request.params["Qualifier"])
        return Reply(204)

    async def list_provisioned_concurrency_configs(request: Request) -> Reply:
        configs = provisioned.list(request.params["FunctionName"])
        return json_reply(listing("ProvisionedConcurrencyConfigs", configs, lambda c: c["FunctionArn"], request.params))

    return {
        "PutProvisionedConcurrencyConfig": put_provisioned_concurrency_config,
        "GetProvisionedConcurrencyConfig": get_provisioned_concurrency_config,
        "DeleteProvisionedConcurrencyConfig": delete_provisioned_concurrency_config,
        "ListProvisionedConcurrencyConfigs": list_provisioned_concurrency_configs,
        "PublishVersion": publish_version,
        "ListVersionsByFunction": list_versions_by_function,
        "CreateAlias": create_alias,
        "GetAlias": get_alias,
        "UpdateAlias": update_alias,
        "DeleteAlias": delete_alias,
        "ListAliases": list_aliases,
    }
