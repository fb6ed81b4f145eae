"""The code signing configuration operations, and ``/kindling/signing-profiles``: where a signing profile's
certificate is registered (AWS Signer's part, which a self-hosted platform has to hold itself)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable

from ...errors import InvalidParameterValue
from ...functions.signing import CodeSigning
from ...web import Mount, RawRequest, Reply, json_reply
from ..app import Handler, Request
from ..pages import listing

PROFILES = "/kindling/signing-profiles"
_PROFILE_NAME = re.compile(r"^[a-zA-Z0-9_]{2,64}$")


def handlers(signing: CodeSigning) -> dict[str, Handler]:
    async def create_code_signing_config(request: Request) -> Reply:
        return json_reply({"CodeSigningConfig": signing.create(request.params)}, 201)

    async def get_code_signing_config(request: Request) -> Reply:
        return json_reply({"CodeSigningConfig": signing.get(request.params["CodeSigningConfigArn"])})

    async def update_code_signing_config(request: Request) -> Reply:
        return json_reply({"CodeSigningConfig": signing.update(request.params)})

    async def delete_code_signing_config(request: Request) -> Reply:
        signing.delete(request.params["CodeSigningConfigArn"])
        return Reply(204)

    async def list_code_signing_configs(request: Request) -> Reply:
        configs = signing.list()
        return json_reply(listing("CodeSigningConfigs", configs, lambda c: c["CodeSigningConfigId"], request.params))

    async def list_functions_by_code_signing_config(request: Request) -> Reply:
        arns = signing.functions_using(request.params["CodeSigningConfigArn"])
        return json_reply(listing("FunctionArns", arns, lambda arn: arn, request.params))

    async def put_function_code_signing_config(request: Request) -> Reply:
        params = request.params
        return json_reply(signing.put_function(params["FunctionName"], params["CodeSigningConfigArn"]))

    async def get_function_code_signing_config(request: Request) -> Reply:
        return json_reply(signing.get_function(request.params["FunctionName"]))

    async def delete_function_code_signing_config(request: Request) -> Reply:
        signing.delete_function(request.params["FunctionName"])
        return Reply(204)

    return {
        "CreateCodeSigningConfig": create_code_signing_config,
        "GetCodeSigningConfig": get_code_signing_config,
        "UpdateCodeSigningConfig": update_code_signing_config,
        "DeleteCodeSigningConfig": delete_code_signing_config,
        "ListCodeSigningConfigs": list_code_signing_configs,
        "ListFunctionsByCodeSigningConfig": list_functions_by_code_signing_config,
        "PutFunctionCodeSigningConfig": put_function_code_signing_config,
        "GetFunctionCodeSigningConfig": get_function_code_signing_config,
        "DeleteFunctionCodeSigningConfig": delete_function_code_signing_config,
    }


def signing_profiles_mount(signing: CodeSigning) -> Mount:
    """``PUT /kindling/signing-profiles/NAME`` with a PEM certificate registers (or renews) a profile and answers
    its version ARN; ``GET /kindling/signing-profiles`` lists them."""

    def route(request: RawRequest) -> Awaitable[Reply] | None:
        if request.path != PROFILES and not request.path.startswith(PROFILES + "/"):
            return None
        return serve(request.method, request.path[len(PROFILES) :].strip("/"), request.body)

    async def serve(method: str, name: str, body: bytes) -> Reply:
        if not name and method == "GET":
            return Reply(200, json.dumps({"Profiles": signing.profiles()}).encode())
        if name and method == "PUT":
            if not _PROFILE_NAME.match(name):
                raise InvalidParameterValue("A signing profile name is 2 to 64 letters, digits or underscores.")
            return Reply(200, json.dumps(signing.register_profile(name, body)).encode())
        raise InvalidParameterValue(f"{method} is not supported on {PROFILES}/{name}.")

    return route
