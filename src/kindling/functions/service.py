"""Function rules: create, read, change and delete functions, as the Lambda API defines them.

Takes request members already checked against the botocore model (types, enums, patterns,
lengths) and adds what the model cannot say: service limits, runtime availability, reserved
environment variables, code checks. Keeps every ``$LATEST`` record in memory (the store is
the durable copy), so an invoke never touches the database.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..arn import function_arn, parse_function
from ..code import CodeRef, CodeStore
from ..config import Config
from ..errors import (
    InvalidParameterValue,
    PreconditionFailed,
    RequestEntityTooLarge,
    ResourceConflict,
    ResourceNotFound,
    ValidationError,
)
from ..invoke.invoker import Invoker
from ..models import FunctionVersion
from ..runtimes.registry import DEPRECATED, Runtime
from ..store.db import Store
from . import limits


def timestamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}+0000"


@dataclass
class FunctionEntry:
    latest: FunctionVersion
    code_dir: Path


class FunctionService:
    def __init__(
        self, config: Config, store: Store, code: CodeStore, invoker: Invoker, runtimes: dict[str, Runtime]
    ) -> None:
        self.config = config
        self.store = store
        self.code = code
        self.invoker = invoker
        self.runtimes = runtimes
        self._functions: dict[str, FunctionEntry] = {}
        for record in store.all_versions():
            if record.version == "$LATEST":
                self._functions[record.name] = FunctionEntry(record, code.tree(record.code_sha256_hex))
        for name, reserved in store.reserved_concurrency().items():
            invoker.limits.set_reserved(name, reserved)
        # packages are removed here, never while an environment may still have one mounted
        code.collect(keep={entry.latest.code_sha256_hex for entry in self._functions.values()})

    # ------------------------------------------------------------- lookups
    def resolve(self, name_or_arn: str, qualifier: str | None = None) -> FunctionEntry:
        ref = parse_function(name_or_arn, self.config.region, qualifier)
        entry = self._functions.get(ref.name)
        if entry is None or (ref.qualifier not in (None, "$LATEST")):
            arn = function_arn(self.config.region, self.config.account_id, ref.name, ref.qualifier)
            raise ResourceNotFound(f"Function not found: {arn}")
        return entry

    def list(self) -> list[FunctionVersion]:
        return [self._functions[name].latest for name in sorted(self._functions)]

    def tags(self, name: str) -> dict[str, str]:
        return self.store.tags(name)

    def code_location(self, record: FunctionVersion) -> str:
        return f"{self.config.endpoint}/kindling/code/{record.code_sha256_hex}.zip"

    def total_code_size(self) -> int:
        return sum(entry.latest.code_size for entry in self._functions.values())

    # ----------------------------------------------------------- mutations
    def _runtime(self, name: str) -> Runtime:
        if name in DEPRECATED:
            raise InvalidParameterValue(
                f"The runtime parameter of {name} is no longer supported for creating or updating AWS Lambda "
                "functions. We recommend you use a supported runtime while creating or updating functions."
            )
        runtime = self.runtimes.get(name)
        if runtime is None:
            available = ", ".join(sorted(self.runtimes)) or "none"
            raise InvalidParameterValue(
                f"The runtime {name} is not available on this Kindling server. Available runtimes: {available}."
            )
        return runtime

    def _store_code(self, zip_file: str | bytes | None, s3: bool) -> CodeRef:
        if s3:
            raise InvalidParameterValue(
                "Kindling stores code uploaded with ZipFile; S3 code locations are not supported."
            )
        if zip_file is None:
            raise InvalidParameterValue("Please provide a source for the function code (ZipFile).")
        data = zip_file if isinstance(zip_file, bytes) else _b64(zip_file)
        if len(data) > limits.ZIPPED_MAX:
            raise RequestEntityTooLarge(f"Zipped size must be smaller than {limits.ZIPPED_MAX} bytes")
        return self.code.put(data)

    def create(self, params: dict[str, Any]) -> FunctionVersion:
        name = params["FunctionName"]
        if ":" in name or len(name) > 64:
            raise InvalidParameterValue(
                f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: "
                "Member must have length less than or equal to 64"
                if len(name) > 64
                else "Function names can only contain letters, numbers, hyphens and underscores."
            )
        package_type = params.get("PackageType", "Zip")
        if package_type != "Zip":
            raise InvalidParameterValue("Kindling runs Zip packages only; PackageType Image is not supported.")
        if name in self._functions:
            raise ResourceConflict(f"Function already exist: {name}")
        runtime_name = params.get("Runtime")
        if not runtime_name:
            raise InvalidParameterValue("Runtime is required for .zip deployment packages.")
        self._runtime(runtime_name)
        if not params.get("Handler"):
            raise InvalidParameterValue("Handler is required for .zip deployment packages.")
        settings = limits.check_settings(params)
        code = params["Code"]
        ref = self._store_code(code.get("ZipFile"), bool(code.get("S3Bucket") or code.get("S3Key")))
        now = timestamp()
        logging_config = params.get("LoggingConfig") or {}
        record = FunctionVersion(
            name=name,
            arn=function_arn(self.config.region, self.config.account_id, name),
            version="$LATEST",
            runtime=runtime_name,
            role=params["Role"],
            handler=params["Handler"],
            code_sha256_hex=ref.sha256_hex,
            code_sha256=ref.sha256_b64,
            code_size=ref.size,
            unzipped_size=ref.unzipped_size,
            last_modified=now,
            revision_id=str(uuid.uuid4()),
            description=params.get("Description", ""),
            architectures=tuple(params.get("Architectures") or ("x86_64",)),
            tracing_mode=(params.get("TracingConfig") or {}).get("Mode", "PassThrough"),
            log_format=logging_config.get("LogFormat", "Text"),
            log_group=logging_config.get("LogGroup") or f"/aws/lambda/{name}",
            dead_letter_target=(params.get("DeadLetterConfig") or {}).get("TargetArn", ""),
            **settings,
        )
        code_dir = self.code.tree(ref.sha256_hex)
        self.store.insert_function(record, now, params.get("Tags") or {})
        self._functions[name] = FunctionEntry(record, code_dir)
        return record

    def _check_revision(self, entry: FunctionEntry, revision_id: str | None) -> None:
        if revision_id and revision_id != entry.latest.revision_id:
            raise PreconditionFailed(
                "The Revision Id provided does not match the latest Revision Id. "
                "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
            )

    def _replace_latest(self, entry: FunctionEntry, record: FunctionVersion, code_dir: Path) -> FunctionVersion:
        self.store.save_version(record)
        entry.latest, entry.code_dir = record, code_dir
        self.invoker.retire(record.name)
        return record

    def update_code(self, params: dict[str, Any]) -> FunctionVersion:
        entry = self.resolve(params["FunctionName"])
        self._check_revision(entry, params.get("RevisionId"))
        if params.get("ImageUri"):
            raise InvalidParameterValue("Kindling runs Zip packages only; ImageUri is not supported.")
        ref = self._store_code(params.get("ZipFile"), bool(params.get("S3Bucket") or params.get("S3Key")))
        record = entry.latest.replace(
            code_sha256_hex=ref.sha256_hex,
            code_sha256=ref.sha256_b64,
            code_size=ref.size,
            unzipped_size=ref.unzipped_size,
            last_modified=timestamp(),
            revision_id=str(uuid.uuid4()),
            architectures=tuple(params.get("Architectures") or entry.latest.architectures),
        )
        return self._replace_latest(entry, record, self.code.tree(ref.sha256_hex))

    def update_configuration(self, params: dict[str, Any]) -> FunctionVersion:
        entry = self.resolve(params["FunctionName"])
        self._check_revision(entry, params.get("RevisionId"))
        current = entry.latest
        if "Runtime" in params:
            self._runtime(params["Runtime"])
        merged = {
            "MemorySize": params.get("MemorySize", current.memory_size),
            "Timeout": params.get("Timeout", current.timeout),
            "Environment": params.get("Environment", {"Variables": current.environment}),
            "EphemeralStorage": params.get("EphemeralStorage", {"Size": current.ephemeral_storage}),
        }
        settings = limits.check_settings(merged)
        logging_config = params.get("LoggingConfig") or {}
        record = current.replace(
            runtime=params.get("Runtime", current.runtime),
            handler=params.get("Handler", current.handler),
            role=params.get("Role", current.role),
            description=params.get("Description", current.description),
            tracing_mode=(params.get("TracingConfig") or {}).get("Mode", current.tracing_mode),
            log_format=logging_config.get("LogFormat", current.log_format),
            log_group=logging_config.get("LogGroup", current.log_group),
            dead_letter_target=(params.get("DeadLetterConfig") or {}).get("TargetArn", current.dead_letter_target)
            if "DeadLetterConfig" in params
            else current.dead_letter_target,
            last_modified=timestamp(),
            revision_id=str(uuid.uuid4()),
            **settings,
        )
        return self._replace_latest(entry, record, entry.code_dir)

    def reserved_concurrency(self, name_or_arn: str) -> int | None:
        return self.invoker.limits.reserved.get(self.resolve(name_or_arn).latest.name)

    def put_reserved_concurrency(self, name_or_arn: str, value: int) -> int:
        name = self.resolve(name_or_arn).latest.name
        limits = self.invoker.limits
        others = sum(v for k, v in limits.reserved.items() if k != name)
        minimum = self.config.unreserved_minimum
        if limits.account_limit - others - value < minimum:
            raise InvalidParameterValue(
                "Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{minimum}]."
            )
        self.store.set_reserved_concurrency(name, value)
        limits.set_reserved(name, value)
        return value

    def delete_reserved_concurrency(self, name_or_arn: str) -> None:
        name = self.resolve(name_or_arn).latest.name
        self.store.set_reserved_concurrency(name, None)
        self.invoker.limits.set_reserved(name, None)

    def delete(self, name_or_arn: str, qualifier: str | None) -> None:
        if qualifier not in (None, "$LATEST"):
            self.resolve(name_or_arn, qualifier)
        entry = self.resolve(name_or_arn)
        if qualifier == "$LATEST":
            raise InvalidParameterValue("$LATEST version cannot be deleted without deleting the function.")
        self.store.delete_function(entry.latest.name)
        del self._functions[entry.latest.name]
        self.invoker.limits.set_reserved(entry.latest.name, None)
        self.invoker.retire(entry.latest.name)


def _b64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValidationError(f"Could not decode base64 data: {error}") from None
