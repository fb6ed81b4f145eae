"""Function rules: create, read, change and delete functions, as the Lambda API defines them.

Takes request members already checked against the botocore model (types, enums, patterns,
lengths) and adds what the model cannot say: service limits, runtime availability, reserved
environment variables, code checks. Keeps every ``$LATEST`` record in memory (the store is
the durable copy), so an invoke never touches the database.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..arn import function_arn, parse_function
from ..code import CodeRef, CodeStore
from ..code.archive import zip_bytes
from ..config import Config
from ..errors import (
    InvalidParameterValue,
    PreconditionFailed,
    RequestEntityTooLarge,
    ResourceConflict,
    ResourceNotFound,
)
from ..images import ImageStore
from ..invoke.images import LAUNCHER
from ..invoke.invoker import Invoker
from ..invoke.snapshots import SnapshotFailed
from ..limits import ZIPPED_MAX
from ..models import Alias, FunctionVersion
from ..runtimes.registry import Runtime
from ..store.db import Store
from . import images, limits, snapstart, vpc
from .keys import EnvironmentKeys
from .layers import LayerService, check_size
from .runtime_checks import check_architectures, has_network, runtime_for
from .timestamps import timestamp


@dataclass
class FunctionEntry:
    latest: FunctionVersion
    code_dir: Path
    versions: dict[str, FunctionVersion] = field(default_factory=dict)  # published, by number
    aliases: dict[str, Alias] = field(default_factory=dict)
    last_version: int = 0


class CodeGate(Protocol):
    """What checks a package before a function takes it (code signing), and remembers a function's setting."""

    def check(self, function: str, config_arn: str | None, package: bytes) -> None: ...

    def attach(self, function: str, config_arn: str) -> None: ...


class FunctionService:
    def __init__(
        self,
        config: Config,
        store: Store,
        code: CodeStore,
        invoker: Invoker,
        runtimes: dict[str, Runtime],
        layers: LayerService,
        images: ImageStore | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.code = code
        self.invoker = invoker
        self.runtimes = runtimes
        self._functions: dict[str, FunctionEntry] = {}
        self._trees: dict[str, Path] = {}
        self.deletion_listeners: list[Callable[[str], None]] = []  # told the name of each deleted function
        self.code_gate: CodeGate | None = None
        self.images = images  # given where container images can run (the namespaces sandbox)
        self.keys = EnvironmentKeys(None, store.sealer)  # KMSKeyArn; server.py gives it the KMS on the port
        self.vpc = vpc.VpcSettings(None)  # VpcConfig; server.py gives it the EC2 on the port
        self._pulls: set[asyncio.Task[None]] = set()  # the images being pulled in the background
        records = store.all_versions()
        for record in records:
            if record.version == "$LATEST":
                self._functions[record.name] = FunctionEntry(record, self.code_dir(record))
        for record in records:
            if record.version != "$LATEST":
                self._functions[record.name].versions[record.version] = record
        for alias in store.all_aliases():
            self._functions[alias.function_name].aliases[alias.name] = alias
        for name, last in store.last_versions().items():
            self._functions[name].last_version = last
        for name, reserved in store.reserved_concurrency().items():
            invoker.limits.set_reserved(name, reserved)
        # packages are removed here, never while an environment may still have one mounted
        self.layers = layers
        layers.collect(records)
        code.collect(keep={r.code_sha256_hex for r in records} | self.layers.hashes(records))
        if images is not None:
            images.collect({r.code_sha256_hex for r in records if r.package_type == "Image"})
        for record in records:  # templates are made again at start; invokes wait for them meanwhile
            if record.snap_start_optimized and record.state != "Failed":
                invoker.snapshots.prepare(record, self.tree(record.code_sha256_hex))

    def start_pulls(self) -> None:
        """Pull again what a stop interrupted (called once the event loop runs)."""
        for entry in self._functions.values():
            if images.PULL in entry.latest.image:
                self._start_pull(entry.latest)

    def _start_pull(self, record: FunctionVersion) -> None:
        task = asyncio.get_running_loop().create_task(self._pull(record.name, record.image[images.PULL]))
        self._pulls.add(task)
        task.add_done_callback(self._pulls.discard)

    async def _pull(self, name: str, uri: str) -> None:
        """Pull, then settle the function's state (unless it was deleted or changed its mind meanwhile)."""
        architectures = self._functions[name].latest.architectures
        if self.images is None:  # restarted without the namespaces sandbox
            pulled: images.Pulled = images.ImageFailed("Container images run in the namespaces sandbox only.")
        else:
            pulled = await images.pull(self.images, uri, architectures)
        entry = self._functions.get(name)
        if entry is None or entry.latest.image.get(images.PULL) != uri:
            return
        publish = entry.latest.image.get(images.PUBLISH)
        record = images.settled(entry.latest, pulled)
        self._replace_latest(entry, record, self.code_dir(record))
        if publish and record.last_update_status == "Successful":  # as AWS: the version has the new image
            self.publish(name)

    def code_dir(self, record: FunctionVersion) -> Path:
        """What the version runs: its unpacked package, or its image's root file system."""
        if record.package_type != "Image":
            return self.tree(record.code_sha256_hex)
        if self.images is None or not record.code_sha256_hex:
            return self.config.data_dir / "images" / "unavailable"
        return self.images.root_of(record.code_sha256_hex)

    def tree(self, sha256_hex: str) -> Path:
        """The unpacked package, remembered so that an invoke costs no file system lookup."""
        path = self._trees.get(sha256_hex)
        if path is None:
            path = self._trees[sha256_hex] = self.code.tree(sha256_hex)
        return path

    # ------------------------------------------------------------- lookups
    def resolve(self, name_or_arn: str, qualifier: str | None = None) -> FunctionEntry:
        """The function itself, for operations on ``$LATEST`` (a version or alias is refused)."""
        entry, resolved = self.lookup(name_or_arn, qualifier)
        if resolved != "$LATEST":
            raise ResourceNotFound(f"Function not found: {self.arn(entry.latest.name, resolved)}")
        return entry

    def function(self, name_or_arn: str) -> FunctionEntry:
        """The function a name or ARN names, any qualifier set aside: what alias operations act on."""
        name = parse_function(name_or_arn, self.config.region).name
        entry = self._functions.get(name)
        if entry is None:
            raise ResourceNotFound(f"Function not found: {self.arn(name)}")
        return entry

    def unqualified(self, name_or_arn: str) -> FunctionEntry:
        """The function, for operations that AWS refuses on a version or an alias (reserved concurrency)."""
        if parse_function(name_or_arn, self.config.region).qualifier:
            raise InvalidParameterValue(
                "This operation is permitted on Lambda functions only. Aliases and versions do not support this "
                "operation. Please specify either a function name or an unqualified function ARN."
            )
        return self.resolve(name_or_arn)

    def lookup(self, name_or_arn: str, qualifier: str | None = None) -> tuple[FunctionEntry, str]:
        """The function and the qualifier (``$LATEST``, a version number or an alias) that exists."""
        ref = parse_function(name_or_arn, self.config.region, qualifier)
        entry = self._functions.get(ref.name)
        resolved = ref.qualifier or "$LATEST"
        if entry is None or not (resolved == "$LATEST" or resolved in entry.versions or resolved in entry.aliases):
            raise ResourceNotFound(f"Function not found: {self.arn(ref.name, ref.qualifier)}")
        return entry, resolved

    def lookup_qualified(self, name_or_arn: str, qualifier: str | None) -> tuple[FunctionEntry, str]:
        """``lookup`` for the operations that configure a version or an alias (permissions, provisioned
        concurrency): an alias that is not there is named as AWS names it."""
        try:
            return self.lookup(name_or_arn, qualifier)
        except ResourceNotFound as missing:
            named = parse_function(name_or_arn, self.config.region, qualifier).qualifier
            alias = named and named != "$LATEST" and not named.isdigit()
            if alias and missing.message.startswith("Function not found"):
                name = parse_function(name_or_arn, self.config.region).name
                raise ResourceNotFound(f"Cannot find alias arn: {self.arn(name, named)}") from None
            raise

    def arn(self, name: str, qualifier: str | None = None) -> str:
        return function_arn(self.config.region, self.config.account_id, name, qualifier)

    def record(self, entry: FunctionEntry, qualifier: str) -> FunctionVersion:
        """The configuration a qualifier stands for (an alias: its primary version)."""
        if qualifier in entry.aliases:
            qualifier = entry.aliases[qualifier].function_version
        return entry.latest if qualifier == "$LATEST" else entry.versions[qualifier]

    def invoke_target(self, name_or_arn: str, qualifier: str | None) -> tuple[FunctionVersion, Path, str]:
        """What one invocation runs: the record, its code, and the ARN the caller invoked."""
        try:
            entry, resolved = self.lookup(name_or_arn, qualifier)
        except ResourceNotFound as missing:
            ref = parse_function(name_or_arn, self.config.region, qualifier)
            if ref.qualifier or not missing.message.startswith("Function not found"):
                raise
            # an invocation names the version it would run, as AWS's answer does
            raise ResourceNotFound(f"Function not found: {self.arn(ref.name, '$LATEST')}") from None
        version = resolved
        alias = entry.aliases.get(resolved)
        if alias is not None:
            version = alias.function_version
            for extra, weight in alias.weights.items():
                if random.random() < weight:
                    version = extra
        record = entry.latest if version == "$LATEST" else entry.versions[version]
        images.check_invocable(record)
        snapstart.check_invocable(record)
        self.keys.check(record.kms_key_arn)  # a disabled or deleted key: the invocation fails, as on Lambda
        invoked = self.arn(record.name, resolved) if resolved != "$LATEST" or qualifier else record.arn
        return record, self.code_dir(record), invoked

    def list_functions(self, every_version: bool = False) -> list[FunctionVersion]:
        """Each function's ``$LATEST``; with ``every_version``, its published versions after it."""
        if not every_version:
            return [self._functions[name].latest for name in sorted(self._functions)]
        return [record for name in sorted(self._functions) for record in self.list_versions(name)]

    def tags(self, name: str) -> dict[str, str]:
        return self.store.tags(name)

    def code_location(self, record: FunctionVersion) -> str:
        return f"{self.config.endpoint}/kindling/code/{record.code_sha256_hex}.zip"

    def total_code_size(self) -> int:
        return sum(entry.latest.code_size for entry in self._functions.values())

    # ----------------------------------------------------------- mutations
    def _store_code(
        self, zip_file: str | bytes | None, from_s3: bool, function: str, signing_config: str | None = None
    ) -> CodeRef:
        """The package stored, once the code gate (the function's code signing, or ``signing_config``) let it in.
        A package read from S3 (already fetched, see ``code_source``) is not held to the direct upload's limit."""
        if zip_file is None:
            raise InvalidParameterValue("Please provide a source for the function code (ZipFile or S3Bucket/S3Key).")
        data = zip_bytes(zip_file)
        if not from_s3 and len(data) > ZIPPED_MAX:
            raise RequestEntityTooLarge(f"Zipped size must be smaller than {ZIPPED_MAX} bytes")
        ref = self.code.put(data)  # checked as a zip here; a refused package is collected at the next start
        if self.code_gate is not None:
            self.code_gate.check(function, signing_config, data)
        return ref

    async def image_for(self, params: dict[str, Any], current: FunctionVersion | None = None) -> str | None:
        """The image CreateFunction (or, for ``current``, UpdateFunctionCode) names, once found; None for a zip."""
        if current is None:
            images.check_create(params)
            uri = (params.get("Code") or {}).get("ImageUri")
            name = parse_function(params["FunctionName"], self.config.region).name
            if uri and name in self._functions:  # refused before a pull, not after
                raise ResourceConflict(f"Function already exist: {name}")
        else:
            images.check_update(current, params)
            uri = params.get("ImageUri") if current.package_type == "Image" else None
            if uri:
                images.check_settled(current)
        if not uri or (current is None and not images.is_image(params)):
            return None
        if LAUNCHER not in self.runtimes:
            raise InvalidParameterValue("Container images need a Python on the server to launch them; none was found.")
        if not has_network(self.config, parse_function(params["FunctionName"], self.config.region).name):
            raise InvalidParameterValue(
                "Container images talk to the Runtime API over loopback, which --no-network and --egress take away."
            )
        await images.check_source(self.images, uri)
        return str(uri)

    def create(self, params: dict[str, Any], from_s3: bool = False, image: str | None = None) -> FunctionVersion:
        ref = parse_function(params["FunctionName"], self.config.region)  # a name, or a full or partial ARN
        name = ref.name
        if ref.qualifier or len(name) > 64:
            raise InvalidParameterValue(
                f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: "
                "Member must have length less than or equal to 64"
                if len(name) > 64
                else "Function names can only contain letters, numbers, hyphens and underscores."
            )
        images.check_create(params)
        if name in self._functions:
            raise ResourceConflict(f"Function already exist: {name}")
        runtime_name = params.get("Runtime") or ""
        check_architectures(params.get("Architectures"))
        if image is None:
            if not runtime_name:
                raise InvalidParameterValue("Runtime is required for .zip deployment packages.")
            runtime_for(runtime_name, self.runtimes, has_network(self.config, name))
            if not params.get("Handler"):
                raise InvalidParameterValue("Handler is required for .zip deployment packages.")
        settings = limits.check_settings(params)
        apply_on = snapstart.apply_on(params, None, runtime_name, settings["ephemeral_storage"])
        signing_config = params.get("CodeSigningConfigArn")
        if image is None:
            stored = self._store_code(params["Code"].get("ZipFile"), from_s3, name, signing_config)
            code: dict[str, Any] = {
                "code_sha256_hex": stored.sha256_hex,
                "code_sha256": stored.sha256_b64,
                "code_size": stored.size,
                "unzipped_size": stored.unzipped_size,
            }
        else:
            code = images.pending(image, params.get("ImageConfig") or {}, bool(params.get("Publish")))
            code.update(package_type="Image", code_size=0, unzipped_size=0)
        now = timestamp()
        logging_config = limits.logging_settings(params.get("LoggingConfig") or {}, None)
        record = FunctionVersion(
            name=name,
            arn=function_arn(self.config.region, self.config.account_id, name),
            version="$LATEST",
            runtime=runtime_name,
            role=params["Role"],
            handler=params.get("Handler") or "",
            **code,
            last_modified=now,
            revision_id=str(uuid.uuid4()),
            description=params.get("Description", ""),
            architectures=tuple(params.get("Architectures") or ("x86_64",)),
            tracing_mode=(params.get("TracingConfig") or {}).get("Mode", "PassThrough"),
            log_group=(params.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{name}",
            **logging_config,
            dead_letter_target=(params.get("DeadLetterConfig") or {}).get("TargetArn", ""),
            kms_key_arn=params.get("KMSKeyArn") or "",
            vpc=vpc.chosen(params, {}),
            snap_start_apply_on=apply_on,
            **settings,
        )
        if image is None:
            record = record.replace(layers=self.layers.resolve(params.get("Layers") or [], record.unzipped_size))
            self.layers.opt_dir(record)  # merged now, not on the first cold start
        code_dir = self.code_dir(record)
        self.store.insert_function(record, now, params.get("Tags") or {})
        if signing_config and self.code_gate is not None:
            self.code_gate.attach(name, signing_config)
        self._functions[name] = FunctionEntry(record, code_dir)
        if image is not None:
            self._start_pull(record)  # publishes once the image is there, if asked to
        elif params.get("Publish"):
            self.publish(name)
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
        self.invoker.retire(record.name, "$LATEST")
        return record

    def update_code(self, params: dict[str, Any], from_s3: bool = False, image: str | None = None) -> FunctionVersion:
        entry = self.resolve(params["FunctionName"])
        self._check_revision(entry, params.get("RevisionId"))
        if entry.latest.package_type == "Image":
            return self._update_image(entry, params, image)
        if params.get("ImageUri"):
            raise InvalidParameterValue("Please don't provide ImageUri when updating a function with packageType Zip.")
        check_architectures(params.get("Architectures"))
        ref = self._store_code(params.get("ZipFile"), from_s3, entry.latest.name)
        check_size(ref.unzipped_size, entry.latest.layers)
        record = entry.latest.replace(
            code_sha256_hex=ref.sha256_hex,
            code_sha256=ref.sha256_b64,
            code_size=ref.size,
            unzipped_size=ref.unzipped_size,
            last_modified=timestamp(),
            revision_id=str(uuid.uuid4()),
            architectures=tuple(params.get("Architectures") or entry.latest.architectures),
        )
        updated = self._replace_latest(entry, record, self.tree(ref.sha256_hex))
        if params.get("Publish"):
            self.publish(updated.name)
        return updated

    def _update_image(self, entry: FunctionEntry, params: dict[str, Any], image: str | None) -> FunctionVersion:
        images.check_update(entry.latest, params)
        if image is None:
            raise InvalidParameterValue("Please provide ImageUri when updating a function with packageType Image.")
        images.check_settled(entry.latest)
        record = images.updating(entry.latest, image, bool(params.get("Publish"))).replace(
            last_modified=timestamp(),
            revision_id=str(uuid.uuid4()),
            architectures=tuple(params.get("Architectures") or entry.latest.architectures),
        )
        updated = self._replace_latest(entry, record, entry.code_dir)
        self._start_pull(updated)  # publishes once the image is there, if asked to
        return updated

    def update_configuration(self, params: dict[str, Any]) -> FunctionVersion:
        entry = self.resolve(params["FunctionName"])
        self._check_revision(entry, params.get("RevisionId"))
        current = entry.latest
        images.check_update(current, params)
        images.check_settled(current)
        if "Runtime" in params:
            runtime_for(params["Runtime"], self.runtimes, has_network(self.config, current.name))
        merged = {
            "MemorySize": params.get("MemorySize", current.memory_size),
            "Timeout": params.get("Timeout", current.timeout),
            "Environment": params.get("Environment", {"Variables": current.environment}),
            "EphemeralStorage": params.get("EphemeralStorage", {"Size": current.ephemeral_storage}),
        }
        settings = limits.check_settings(merged)
        runtime = params.get("Runtime", current.runtime)
        apply_on = snapstart.apply_on(params, current, runtime, settings["ephemeral_storage"])
        logging_config = limits.logging_settings(params.get("LoggingConfig") or {}, current)
        record = current.replace(
            runtime=runtime,
            snap_start_apply_on=apply_on,
            handler=params.get("Handler", current.handler),
            role=params.get("Role", current.role),
            description=params.get("Description", current.description),
            tracing_mode=(params.get("TracingConfig") or {}).get("Mode", current.tracing_mode),
            log_group=(params.get("LoggingConfig") or {}).get("LogGroup", current.log_group),
            **logging_config,
            dead_letter_target=(params.get("DeadLetterConfig") or {}).get("TargetArn", current.dead_letter_target)
            if "DeadLetterConfig" in params
            else current.dead_letter_target,
            kms_key_arn=params.get("KMSKeyArn", current.kms_key_arn) or "",
            vpc=vpc.chosen(params, current.vpc),
            last_modified=timestamp(),
            revision_id=str(uuid.uuid4()),
            **settings,
        )
        record = images.with_image_config(record, params.get("ImageConfig"))
        if "Layers" in params:
            record = record.replace(layers=self.layers.resolve(params["Layers"], current.unzipped_size))
            self.layers.opt_dir(record)
        return self._replace_latest(entry, record, entry.code_dir)

    def reserved_concurrency(self, name_or_arn: str) -> int | None:
        return self.invoker.limits.reserved.get(self.unqualified(name_or_arn).latest.name)

    def put_reserved_concurrency(self, name_or_arn: str, value: int) -> int:
        name = self.unqualified(name_or_arn).latest.name
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
        name = self.unqualified(name_or_arn).latest.name
        self.store.set_reserved_concurrency(name, None)
        self.invoker.limits.set_reserved(name, None)

    # ----------------------------------------------------------- versions
    def publish(
        self,
        name_or_arn: str,
        code_sha256: str | None = None,
        revision_id: str | None = None,
        description: str | None = None,
    ) -> FunctionVersion:
        """Freeze ``$LATEST`` as the next version, or return the last one if nothing changed."""
        entry = self.resolve(name_or_arn)
        latest = entry.latest
        self._check_revision(entry, revision_id)
        images.check_settled(latest)
        if code_sha256 and code_sha256 != latest.code_sha256:
            raise InvalidParameterValue(
                f"CodeSha256 ({code_sha256}) is different from current CodeSha256 in $LATEST "
                f"({latest.code_sha256}). Please try again with the CodeSha256 in $LATEST."
            )
        if entry.last_version and str(entry.last_version) in entry.versions:
            previous = entry.versions[str(entry.last_version)]
            if _same_configuration(previous, latest) and description in (None, previous.description):
                return previous
        number = str(entry.last_version + 1)
        record = latest.replace(
            version=number,
            arn=self.arn(latest.name, number),
            revision_id=str(uuid.uuid4()),
            last_modified=timestamp(),
            description=latest.description if description is None else description,
        )
        record = snapstart.published(record)
        self.store.publish_version(record)
        entry.versions[number] = record
        entry.last_version = int(number)
        if record.snap_start_optimized:
            self.invoker.snapshots.prepare(record, self.tree(record.code_sha256_hex))
        return record

    def snapshot_settled(self, record: FunctionVersion, failure: SnapshotFailed | None) -> None:
        """A version's template is ready or failed: its State follows (unless it was deleted meanwhile)."""
        entry = self._functions.get(record.name)
        current = entry.versions.get(record.version) if entry else None
        if current is None or current.revision_id != record.revision_id:
            return
        settled = snapstart.settled(current, failure.reason if failure else None, failure.code if failure else "")
        if settled != current and entry is not None:
            self.store.save_version(settled)
            entry.versions[record.version] = settled

    def list_versions(self, name_or_arn: str) -> list[FunctionVersion]:
        entry = self.resolve(name_or_arn)
        return [entry.latest, *sorted(entry.versions.values(), key=lambda r: int(r.version))]

    def _delete_version(self, entry: FunctionEntry, version: str) -> None:
        users = sorted(a.name for a in entry.aliases.values() if a.function_version == version or version in a.weights)
        if users:
            raise ResourceConflict(f"Unable to delete version because the following aliases reference it: {users}")
        self.store.delete_version(entry.latest.name, version)
        del entry.versions[version]
        self.invoker.retire(entry.latest.name, version)

    def delete(self, name_or_arn: str, qualifier: str | None) -> None:
        named = parse_function(name_or_arn, self.config.region, qualifier).qualifier
        if named and named != "$LATEST" and not named.isdigit():  # refused before the function is even looked up
            raise InvalidParameterValue("Deletion of aliases is not currently supported.")
        entry, resolved = self.lookup(name_or_arn, qualifier)
        if qualifier == "$LATEST" or (resolved == "$LATEST" and ":" in name_or_arn.split("function:")[-1]):
            raise InvalidParameterValue("$LATEST version cannot be deleted without deleting the function.")
        if resolved != "$LATEST":
            self._delete_version(entry, resolved)
            return
        self.store.delete_function(entry.latest.name)
        for listener in self.deletion_listeners:
            listener(entry.latest.name)
        del self._functions[entry.latest.name]
        self.invoker.limits.set_reserved(entry.latest.name, None)
        self.invoker.retire(entry.latest.name)


_VOLATILE = {
    "version",
    "arn",
    "revision_id",
    "last_modified",
    "description",
    "state",
    "last_update_status",
    "snap_start_optimized",
    "state_reason",
    "state_reason_code",
    "update_reason",
    "update_reason_code",
}


def _same_configuration(a: FunctionVersion, b: FunctionVersion) -> bool:
    """Whether publishing ``b`` would only repeat version ``a`` (same code and settings)."""
    left, right = a.to_row(), b.to_row()
    return all(left[k] == right[k] for k in left if k not in _VOLATILE)
