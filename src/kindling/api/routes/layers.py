"""PublishLayerVersion, Get/List/Delete layer versions, and layer version permissions."""

from __future__ import annotations

import json
from typing import Any

from ...functions.code_source import with_s3_code
from ...functions.layers import LayerService
from ...web import Reply, json_reply
from ..app import Handler, Request
from ..pages import listing


def handlers(layers: LayerService, endpoint: str) -> dict[str, Handler]:
    def summary(record: dict[str, Any]) -> dict[str, Any]:
        """The LayerVersionsListItem shape; Get/Publish add ``Content`` and ``LayerArn``."""
        body: dict[str, Any] = {
            "LayerVersionArn": f"{layers.layer_arn(record['name'])}:{record['version']}",
            "Version": record["version"],
            "Description": record["description"],
            "CreatedDate": record["created"],
            "CompatibleRuntimes": record["compatible_runtimes"],
            "CompatibleArchitectures": record["compatible_architectures"],
        }
        if record["license_info"] is not None:
            body["LicenseInfo"] = record["license_info"]
        return body

    def full(record: dict[str, Any]) -> dict[str, Any]:
        content = {
            "Location": f"{endpoint}/kindling/code/{record['sha256_hex']}.zip",
            "CodeSha256": record["sha256"],
            "CodeSize": record["size"],
        }
        return {"Content": content, "LayerArn": layers.layer_arn(record["name"]), **summary(record)}

    def paged(records: list[dict[str, Any]], params: dict[str, Any], key: str, shape: Any) -> Reply:
        return json_reply(listing(key, records, lambda r: f"{r['name']}:{r['version']}", params, shape))

    async def publish_layer_version(request: Request) -> Reply:
        params, from_s3 = await with_s3_code(layers.config, request.params, "Content")
        return json_reply(full(layers.publish(params, from_s3)), 201)

    async def get_layer_version(request: Request) -> Reply:
        return json_reply(full(layers.get(request.params["LayerName"], request.params["VersionNumber"])))

    async def get_layer_version_by_arn(request: Request) -> Reply:
        return json_reply(full(layers.get_by_arn(request.params["Arn"])))

    async def list_layer_versions(request: Request) -> Reply:
        params = request.params
        runtime, architecture = params.get("CompatibleRuntime"), params.get("CompatibleArchitecture")
        found = layers.versions(params["LayerName"], runtime, architecture)
        return paged(found, params, "LayerVersions", summary)

    async def list_layers(request: Request) -> Reply:
        params = request.params
        found = layers.latest(params.get("CompatibleRuntime"), params.get("CompatibleArchitecture"))

        def item(record: dict[str, Any]) -> dict[str, Any]:
            arn = layers.layer_arn(record["name"])
            return {"LayerName": record["name"], "LayerArn": arn, "LatestMatchingVersion": summary(record)}

        return paged(found, params, "Layers", item)

    async def delete_layer_version(request: Request) -> Reply:
        layers.delete(request.params["LayerName"], request.params["VersionNumber"])
        return Reply(204)

    async def add_layer_version_permission(request: Request) -> Reply:
        statement = layers.add_permission(request.params)
        revision = layers.get(request.params["LayerName"], request.params["VersionNumber"])["revision_id"]
        return json_reply({"Statement": json.dumps(statement), "RevisionId": revision}, 201)

    async def remove_layer_version_permission(request: Request) -> Reply:
        layers.remove_permission(request.params)
        return Reply(204)

    async def get_layer_version_policy(request: Request) -> Reply:
        return json_reply(layers.policy(request.params["LayerName"], request.params["VersionNumber"]))

    return {
        "PublishLayerVersion": publish_layer_version,
        "GetLayerVersion": get_layer_version,
        "GetLayerVersionByArn": get_layer_version_by_arn,
        "ListLayerVersions": list_layer_versions,
        "ListLayers": list_layers,
        "DeleteLayerVersion": delete_layer_version,
        "AddLayerVersionPermission": add_layer_version_permission,
        "RemoveLayerVersionPermission": remove_layer_version_permission,
        "GetLayerVersionPolicy": get_layer_version_policy,
    }
