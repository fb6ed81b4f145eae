"""Records to AWS JSON, field for field as the Lambda API returns them."""

from __future__ import annotations

import hashlib
from typing import Any

from ..models import Alias, FunctionVersion

RUNTIME_VERSION = "arn:aws:lambda:{region}::runtime:{digest}"


def function_configuration(
    record: FunctionVersion, region: str, *, state: str | None = None, update_status: str | None = None
) -> dict[str, Any]:
    """``state``/``update_status`` override what is stored, for the responses of Create/Update*."""
    config: dict[str, Any] = {
        "FunctionName": record.name,
        "FunctionArn": record.arn,
        "Runtime": record.runtime,
        "Role": record.role,
        "Handler": record.handler,
        "CodeSize": record.code_size,
        "Description": record.description,
        "Timeout": record.timeout,
        "MemorySize": record.memory_size,
        "LastModified": record.last_modified,
        "CodeSha256": record.code_sha256,
        "Version": record.version,
        "Environment": {"Variables": dict(record.environment)},
        "TracingConfig": {"Mode": record.tracing_mode},
        "RevisionId": record.revision_id,
        "Layers": [{"Arn": layer["Arn"], "CodeSize": layer["CodeSize"]} for layer in record.layers],
        "State": state or record.state,
        "PackageType": record.package_type,
        "Architectures": list(record.architectures),
        "EphemeralStorage": {"Size": record.ephemeral_storage},
        "SnapStart": {
            "ApplyOn": record.snap_start_apply_on,
            "OptimizationStatus": "On" if record.snap_start_optimized else "Off",
        },
        "RuntimeVersionConfig": {
            "RuntimeVersionArn": RUNTIME_VERSION.format(region=region, digest=_runtime_digest(record.runtime))
        },
        "LoggingConfig": {"LogFormat": record.log_format, "LogGroup": record.log_group},
    }
    if record.log_format == "JSON":
        config["LoggingConfig"].update(
            ApplicationLogLevel=record.application_log_level, SystemLogLevel=record.system_log_level
        )
    if record.package_type == "Image":  # no runtime of Lambda's: the image brings its own
        for key in ("Runtime", "Handler", "RuntimeVersionConfig"):
            del config[key]
        if record.image.get("ImageConfig"):
            config["ImageConfigResponse"] = {"ImageConfig": record.image["ImageConfig"]}
    if record.kms_key_arn:
        config["KMSKeyArn"] = record.kms_key_arn
    if record.vpc:
        config["VpcConfig"] = dict(record.vpc)
    if record.dead_letter_target:
        config["DeadLetterConfig"] = {"TargetArn": record.dead_letter_target}
    if state == "Pending":
        config.update(StateReason="The function is being created.", StateReasonCode="Creating")
    elif state is None and record.state_reason:  # a SnapStart version while or after its snapshot is made
        config.update(StateReason=record.state_reason, StateReasonCode=record.state_reason_code)
        config.update(LastUpdateStatusReason=record.state_reason, LastUpdateStatusReasonCode=record.state_reason_code)
    if state is None and record.update_reason:  # an image function's update, being pulled or failed
        config.update(LastUpdateStatusReason=record.update_reason, LastUpdateStatusReasonCode=record.update_reason_code)
    if update_status == "InProgress":
        config.update(
            LastUpdateStatus="InProgress",
            LastUpdateStatusReason="The function is being created.",
            LastUpdateStatusReasonCode="Creating",
        )
    elif state is None:
        config["LastUpdateStatus"] = record.last_update_status
    return config


def qualified(record: FunctionVersion) -> FunctionVersion:
    """``$LATEST`` named with its qualifier, as AWS names it wherever versions are listed or it was asked for."""
    return record.replace(arn=f"{record.arn}:$LATEST") if record.version == "$LATEST" else record


def _runtime_digest(runtime: str) -> str:
    return hashlib.sha256(runtime.encode()).hexdigest()


def alias_configuration(alias: Alias) -> dict[str, Any]:
    body: dict[str, Any] = {
        "AliasArn": alias.arn,
        "Name": alias.name,
        "FunctionVersion": alias.function_version,
        "Description": alias.description,
        "RevisionId": alias.revision_id,
    }
    if alias.weights:
        body["RoutingConfig"] = {"AdditionalVersionWeights": alias.weights}
    return body
