"""Lambda's service limits: the checks the botocore model is too loose to make."""

from __future__ import annotations

import json
from typing import Any, TypedDict

from ..errors import InvalidParameterValue, ValidationError
from ..limits import ENV_MAX_BYTES, EPHEMERAL_MAX, EPHEMERAL_MIN, MEMORY_MAX, MEMORY_MIN, TIMEOUT_MAX, TIMEOUT_MIN
from ..models import FunctionVersion

RESERVED_VARIABLES = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)


def _range(value: int, low: int, high: int, member: str) -> str | None:
    prefix = f"Value '{value}' at '{member}' failed to satisfy constraint: Member must have value"
    if value < low:
        return f"{prefix} greater than or equal to {low}"
    if value > high:
        return f"{prefix} less than or equal to {high}"
    return None


def check_settings(params: dict[str, Any]) -> dict[str, Any]:
    """Validate memory, timeout, /tmp and environment; return them as record fields."""
    memory = params.get("MemorySize", 128)
    timeout = params.get("Timeout", 3)
    ephemeral = (params.get("EphemeralStorage") or {}).get("Size", 512)
    problems = [
        p
        for p in (
            _range(memory, MEMORY_MIN, MEMORY_MAX, "memorySize"),
            _range(timeout, TIMEOUT_MIN, TIMEOUT_MAX, "timeout"),
            _range(ephemeral, EPHEMERAL_MIN, EPHEMERAL_MAX, "ephemeralStorage.size"),
        )
        if p
    ]
    if problems:
        count = len(problems)
        raise ValidationError(f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(problems))
    variables = dict((params.get("Environment") or {}).get("Variables") or {})
    reserved = sorted(k for k in variables if k in RESERVED_VARIABLES)
    if reserved:
        raise InvalidParameterValue(
            "Lambda was unable to configure your environment variables because the environment variables you "
            "have provided contains reserved keys that are currently not supported for modification. "
            f"Reserved keys used in this request: {', '.join(reserved)}"
        )
    measured = json.dumps(variables, separators=(",", ":"))
    if len(measured.encode()) > ENV_MAX_BYTES:
        raise InvalidParameterValue(
            "Lambda was unable to configure your environment variables because the environment variables you "
            f"have provided exceeded the 4KB limit. String measured: {measured}"
        )
    return {
        "memory_size": memory,
        "timeout": timeout,
        "ephemeral_storage": ephemeral,
        "environment": variables,
    }


class LogSettings(TypedDict):
    log_format: str
    application_log_level: str
    system_log_level: str


def logging_settings(config: dict[str, Any], current: FunctionVersion | None) -> LogSettings:
    """LoggingConfig merged over the current settings as Lambda applies it: the levels exist only with the
    JSON format (INFO unless given) and are dropped when the format goes back to Text."""
    log_format = config.get("LogFormat", current.log_format if current else "Text")
    if log_format != "JSON":
        if "ApplicationLogLevel" in config or "SystemLogLevel" in config:
            raise InvalidParameterValue(
                'LogLevel is not supported when LogFormat is set to "Text". Remove LogLevel from your request or '
                'change the LogFormat to "Json" and try again.'
            )
        return {"log_format": log_format, "application_log_level": "", "system_log_level": ""}
    app_level = config.get("ApplicationLogLevel") or (current and current.application_log_level) or "INFO"
    system_level = config.get("SystemLogLevel") or (current and current.system_log_level) or "INFO"
    return {"log_format": log_format, "application_log_level": app_level, "system_log_level": system_level}
