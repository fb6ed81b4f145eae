"""Plain records that cross folder boundaries. No behaviour beyond copying."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FunctionVersion:
    """One version of a function (``$LATEST`` or a number): everything an environment needs."""

    name: str
    arn: str
    version: str
    runtime: str
    role: str
    handler: str
    code_sha256_hex: str
    code_sha256: str
    code_size: int
    unzipped_size: int
    last_modified: str
    revision_id: str
    description: str = ""
    timeout: int = 3
    memory_size: int = 128
    environment: dict[str, str] = field(default_factory=dict)
    kms_key_arn: str = ""  # KMSKeyArn: the customer key the environment's data key is made with ("": the default)
    ephemeral_storage: int = 512
    architectures: tuple[str, ...] = ("x86_64",)
    tracing_mode: str = "PassThrough"
    package_type: str = "Zip"
    state: str = "Active"
    last_update_status: str = "Successful"
    log_format: str = "Text"
    log_group: str = ""
    application_log_level: str = ""  # LoggingConfig levels: set (default INFO) only with LogFormat JSON
    system_log_level: str = ""
    dead_letter_target: str = ""  # DeadLetterConfig.TargetArn (an SQS queue or SNS topic ARN)
    layers: tuple[dict[str, Any], ...] = ()  # {Arn, CodeSize, sha256_hex, unzipped_size}, in /opt order
    snap_start_apply_on: str = "None"  # SnapStart.ApplyOn: "PublishedVersions" or "None"
    snap_start_optimized: bool = False  # OptimizationStatus On: a version published with ApplyOn set
    state_reason: str = ""  # with state_reason_code: why a version is Pending or Failed
    state_reason_code: str = ""
    update_reason: str = ""  # with update_reason_code: LastUpdateStatusReason while InProgress or once Failed
    update_reason_code: str = ""
    # PackageType Image: ImageUri, ResolvedImageUri, ImageConfig (as set), the image's EntryPoint/Cmd/Env/WorkingDir
    image: dict[str, Any] = field(default_factory=dict)
    vpc: dict[str, Any] = field(default_factory=dict)  # VpcConfig as answered (with VpcId); recorded, not applied

    def replace(self, **changes: Any) -> FunctionVersion:
        return dataclasses.replace(self, **changes)

    def to_row(self) -> dict[str, Any]:
        row = dataclasses.asdict(self)
        row["architectures"] = list(self.architectures)
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> FunctionVersion:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in row.items() if k in known}
        values["architectures"] = tuple(values.get("architectures", ("x86_64",)))
        values["layers"] = tuple(values.get("layers", ()))
        return cls(**values)

    @property
    def environment_key(self) -> str:
        """Environments are only reused for the exact configuration they were started with."""
        return f"{self.arn}:{self.version}:{self.revision_id}"


@dataclass(frozen=True)
class Alias:
    """A name for a version, optionally sending a share of the traffic to one other version."""

    name: str
    function_name: str
    arn: str
    function_version: str
    revision_id: str
    description: str = ""
    weights: dict[str, float] = field(default_factory=dict)  # RoutingConfig.AdditionalVersionWeights

    def replace(self, **changes: Any) -> Alias:
        return dataclasses.replace(self, **changes)

    def to_row(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Alias:
        return cls(**row)


@dataclass(frozen=True)
class InvokeRequest:
    payload: bytes
    invoked_arn: str
    log_tail: bool = False
    client_context: str | None = None  # JSON text, already decoded from base64
    cognito_identity: str | None = None
    trace_id: str = ""
    request_id: str = ""  # the caller's RequestId, the invocation's own (START, context); "" for a new one
    queued_at: float | None = None  # an async event's arrival (epoch seconds): its trace's Dwell Time
    attempt: int = 1  # an async event's attempt (its trace's "Attempt #n")


@dataclass
class InvokeResult:
    payload: bytes
    executed_version: str
    function_error: str | None = None
    log_tail: str = ""
    cold: bool = False
    duration_ms: float | None = None  # as REPORT gives it, for the metrics
    init_ms: float | None = None  # a cold start's Init Duration
