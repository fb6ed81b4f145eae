"""PublishVersion, ListVersionsByFunction and the alias operations."""

from __future__ import annotations

from ...functions.aliases import AliasService
from ...functions.service import FunctionService
from ..app import Handler, Reply, Request, json_reply
from ..pages import page
from ..shapes import alias_configuration, function_configuration


def handlers(service: FunctionService) -> dict[str, Handler]:
    region = service.config.region
    aliases = AliasService(service)

    async def publish_version(request: Request) -> Reply:
        params = request.params
        record = service.publish(
            params["FunctionName"], params.get("CodeSha256"), params.get("RevisionId"), params.get("Description")
        )
        return json_reply(function_configuration(record, region), 201)

    async def list_versions_by_function(request: Request) -> Reply:
        records, following = page(
            service.list_versions(request.params["FunctionName"]),
            lambda r: r.version,
            request.params.get("Marker"),
            request.params.get("MaxItems"),
        )
        body: dict = {"Versions": [function_configuration(r, region) for r in records]}
        if following:
            body["NextMarker"] = following
        return json_reply(body)

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
        found, following = page(
            aliases.list(params["FunctionName"], params.get("FunctionVersion")),
            lambda a: a.name,
            params.get("Marker"),
            params.get("MaxItems"),
        )
        body: dict = {"Aliases": [alias_configuration(a) for a in found]}
        if following:
            body["NextMarker"] = following
        return json_reply(body)

    async def put_provisioned_concurrency_config(request: Request) -> Reply:
        params = request.params
        described = service.provisioned.put(
            params["FunctionName"], params["Qualifier"], params["ProvisionedConcurrentExecutions"]
        )
        return json_reply(described, 202)

    async def get_provisioned_concurrency_config(request: Request) -> Reply:
        return json_reply(service.provisioned.get(request.params["FunctionName"], request.params["Qualifier"]))

    async def delete_provisioned_concurrency_config(request: Request) -> Reply:
        await service.provisioned.delete(request.params["FunctionName"], request.params["Qualifier"])
        return Reply(204)

    async def list_provisioned_concurrency_configs(request: Request) -> Reply:
        params = request.params
        configs, following = page(
            service.provisioned.list(params["FunctionName"]),
            lambda c: c["FunctionArn"],
            params.get("Marker"),
            params.get("MaxItems"),
        )
        body: dict = {"ProvisionedConcurrencyConfigs": list(configs)}
        if following:
            body["NextMarker"] = following
        return json_reply(body)

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
