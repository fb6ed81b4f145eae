"""CreateFunction, GetFunction, ListFunctions, Update*, DeleteFunction, GetAccountSettings."""

from __future__ import annotations

import functools

from ...functions.code_source import with_s3_code
from ...functions.images import image_code
from ...functions.invocations import Invocations
from ...functions.service import FunctionService
from ...limits import UNZIPPED_MAX, ZIPPED_MAX
from ...web import Reply, json_reply
from ..app import Handler, Request
from ..pages import listing
from ..shapes import function_configuration, qualified


def handlers(service: FunctionService, invocations: Invocations) -> dict[str, Handler]:
    region = service.config.region

    async def create_function(request: Request) -> Reply:
        params, from_s3 = await with_s3_code(service.config, request.params, "Code")
        await service.keys.prepare(params)
        await service.vpc.prepare(params)
        record = service.create(params, from_s3, await service.image_for(params))
        return json_reply(function_configuration(record, region, state="Pending"), 201)

    async def get_function(request: Request) -> Reply:
        entry, qualifier = service.lookup(request.params["FunctionName"], request.params.get("Qualifier"))
        record = service.record(entry, qualifier)
        if request.params.get("Qualifier") == "$LATEST":
            record = qualified(record)
        body: dict = {
            "Configuration": function_configuration(record, region),
            "Code": image_code(record)
            if record.image
            else {"RepositoryType": "S3", "Location": service.code_location(record)},
        }
        tags = service.tags(record.name)
        if tags:
            body["Tags"] = tags
        reserved = service.reserved_concurrency(record.name)
        if reserved is not None:
            body["Concurrency"] = {"ReservedConcurrentExecutions": reserved}
        return json_reply(body)

    async def get_function_configuration(request: Request) -> Reply:
        entry, qualifier = service.lookup(request.params["FunctionName"], request.params.get("Qualifier"))
        record = service.record(entry, qualifier)
        if request.params.get("Qualifier") == "$LATEST":
            record = qualified(record)
        return json_reply(function_configuration(record, region))

    async def list_functions(request: Request) -> Reply:
        every = request.params.get("FunctionVersion") == "ALL"
        records = [qualified(record) for record in service.list_functions(every)] if every else service.list_functions()
        shape = functools.partial(function_configuration, region=region)
        return json_reply(listing("Functions", records, lambda r: r.arn, request.params, shape))

    async def update_function_code(request: Request) -> Reply:
        params, from_s3 = await with_s3_code(service.config, request.params, None)
        current = service.resolve(params["FunctionName"]).latest
        record = service.update_code(params, from_s3, await service.image_for(params, current))
        return json_reply(function_configuration(record, region, update_status="InProgress"))

    async def update_function_configuration(request: Request) -> Reply:
        await service.keys.prepare(request.params)
        await service.vpc.prepare(request.params)
        record = service.update_configuration(request.params)
        return json_reply(function_configuration(record, region, update_status="InProgress"))

    async def delete_function(request: Request) -> Reply:
        service.delete(request.params["FunctionName"], request.params.get("Qualifier"))
        return Reply(204)

    async def get_account_settings(request: Request) -> Reply:
        config = service.config
        functions = service.list_functions()
        return json_reply(
            {
                "AccountLimit": {
                    "TotalCodeSize": 80_530_636_800,
                    "CodeSizeUnzipped": UNZIPPED_MAX,
                    "CodeSizeZipped": ZIPPED_MAX,
                    "ConcurrentExecutions": config.account_concurrency,
                    "UnreservedConcurrentExecutions": invocations.unreserved_concurrency,
                },
                "AccountUsage": {"TotalCodeSize": service.total_code_size(), "FunctionCount": len(functions)},
            }
        )

    async def put_function_concurrency(request: Request) -> Reply:
        value = service.put_reserved_concurrency(
            request.params["FunctionName"], request.params["ReservedConcurrentExecutions"]
        )
        return json_reply({"ReservedConcurrentExecutions": value})

    async def get_function_concurrency(request: Request) -> Reply:
        value = service.reserved_concurrency(request.params["FunctionName"])
        return json_reply({} if value is None else {"ReservedConcurrentExecutions": value})

    async def delete_function_concurrency(request: Request) -> Reply:
        service.delete_reserved_concurrency(request.params["FunctionName"])
        return Reply(204)

    return {
        "PutFunctionConcurrency": put_function_concurrency,
        "GetFunctionConcurrency": get_function_concurrency,
        "DeleteFunctionConcurrency": delete_function_concurrency,
        "CreateFunction": create_function,
        "GetFunction": get_function,
        "GetFunctionConfiguration": get_function_configuration,
        "ListFunctions": list_functions,
        "UpdateFunctionCode": update_function_code,
        "UpdateFunctionConfiguration": update_function_configuration,
        "DeleteFunction": delete_function,
        "GetAccountSettings": get_account_settings,
    }
