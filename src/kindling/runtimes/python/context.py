"""The ``context`` object handed to Python handlers, attribute for attribute as on Lambda."""

from __future__ import annotations

import json
import os
import sys
import time


class CognitoIdentity:
    def __init__(self, raw: str | None) -> None:
        data = json.loads(raw) if raw else {}
        self.cognito_identity_id = data.get("cognitoIdentityId")
        self.cognito_identity_pool_id = data.get("cognitoIdentityPoolId")


class Client:
    def __init__(self, data: dict) -> None:
        self.installation_id = data.get("installation_id")
        self.app_title = data.get("app_title")
        self.app_version_name = data.get("app_version_name")
        self.app_version_code = data.get("app_version_code")
        self.app_package_name = data.get("app_package_name")


class ClientContext:
    def __init__(self, data: dict) -> None:
        self.client = Client(data["client"]) if data.get("client") else None
        self.custom = data.get("custom")
        self.env = data.get("env")


_ENVIRONMENT_FIELDS = (
    ("function_name", "AWS_LAMBDA_FUNCTION_NAME"),
    ("function_version", "AWS_LAMBDA_FUNCTION_VERSION"),
    ("memory_limit_in_mb", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
    ("log_group_name", "AWS_LAMBDA_LOG_GROUP_NAME"),
    ("log_stream_name", "AWS_LAMBDA_LOG_STREAM_NAME"),
)
_from_environment: dict[str, str | None] = {}


class LambdaContext:
    function_name: str
    function_version: str
    memory_limit_in_mb: str
    log_group_name: str
    log_stream_name: str

    def __init__(self, header: dict) -> None:
        if not _from_environment:  # fixed for the environment's life: read once, not per invocation
            _from_environment.update({field: os.environ.get(name) for field, name in _ENVIRONMENT_FIELDS})
        self.__dict__.update(_from_environment)
        self.aws_request_id = header["request_id"]
        self.invoked_function_arn = header["invoked_arn"]
        self._deadline_ms = header["deadline_ms"]
        self.identity = CognitoIdentity(header.get("cognito_identity"))
        raw_context = header.get("client_context")
        self.client_context = ClientContext(json.loads(raw_context)) if raw_context else None
        self.tenant_id = header.get("tenant_id")

    def get_remaining_time_in_millis(self) -> int:
        return max(int(self._deadline_ms - time.time() * 1000), 0)

    def log(self, message: str) -> None:
        sys.stdout.write(message)
        sys.stdout.flush()

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )
