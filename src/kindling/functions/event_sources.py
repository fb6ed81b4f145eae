"""Event source mappings, the control plane's side: Create/Get/Update/Delete/ListEventSourceMappings checked
as AWS checks them, kept in the store, with AWS's states. The pollers that act on them are in ``triggers/``:
they are told of every change (``listeners``) and report back when a mapping has reached its state
(``settled``), so ``Creating``, ``Enabling``, ``Updating``, ``Disabling`` and ``Deleting`` are real.

SQS queues, Kinesis streams and DynamoDB streams are supported; Kafka, Amazon MQ and DocumentDB are refused.
"""

from __future__ import annotations

import builtins
import re
import time
import uuid as uuids
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..arn import parse_function
from ..config import Config
from ..errors import InvalidParameterValue, ResourceConflict, ResourceNotFound
from ..patterns import PatternError, compiled
from ..store.event_sources import MappingStore
from .service import FunctionService

SQS, KINESIS, DYNAMODB = "sqs", "kinesis", "dynamodb"
STREAMS = (KINESIS, DYNAMODB)
MAX_TAGS = 50
_SOURCE = re.compile(
    r"^arn:aws[a-zA-Z-]*:(?:(?P<sqs>sqs):[^:]+:\d{12}:[^:/]+"
    r"|(?P<kinesis>kinesis):[^:]+:\d{12}:stream/[^/]+(?:/consumer/.+)?"
    r"|(?P<dynamodb>dynamodb):[^:]+:\d{12}:table/[^/]+/stream/.+)$"
)
_STREAM_ONLY = (
    "ParallelizationFactor",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds",
    "DestinationConfig",
    "TumblingWindowInSeconds",
    "StartingPosition",
    "StartingPositionTimestamp",
)
_SETTABLE = (
    "BatchSize",
    "MaximumBatchingWindowInSeconds",
    "FilterCriteria",
    "ScalingConfig",
    "FunctionResponseTypes",
    "KMSKeyArn",
    "MetricsConfig",
    "LoggingConfig",
    *_STREAM_ONLY,
)
_DEFAULTS: dict[str, dict[str, Any]] = {
    SQS: {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 0, "FunctionResponseTypes": []},
    KINESIS: {
        "BatchSize": 100,
        "MaximumBatchingWindowInSeconds": 0,
        "ParallelizationFactor": 1,
        "DestinationConfig": {"OnFailure": {}},
        "MaximumRecordAgeInSeconds": -1,
        "BisectBatchOnFunctionError": False,
        "MaximumRetryAttempts": -1,
        "TumblingWindowInSeconds": 0,
        "FunctionResponseTypes": [],
    },
}
_DEFAULTS[DYNAMODB] = _DEFAULTS[KINESIS]


@dataclass
class Mapping:
    """One mapping: its settings as the API shows them, what the user asked (enabled) and where it is."""

    uuid: str
    kind: str
    settings: dict[str, Any]  # EventSourceArn, FunctionArn, BatchSize... (API names, defaults filled in)
    enabled: bool
    state: str
    tags: dict[str, str] = field(default_factory=dict)
    last_modified: float = 0.0
    last_result: str = "No records processed"

    @property
    def source_arn(self) -> str:
        return str(self.settings["EventSourceArn"])

    @property
    def function_arn(self) -> str:
        return str(self.settings["FunctionArn"])

    @property
    def deleting(self) -> bool:
        return self.state == "Deleting"

    def to_row(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "kind": self.kind,
            "settings": self.settings,
            "enabled": self.enabled,
            "tags": self.tags,
            "last_modified": self.last_modified,
            "deleting": self.deleting,
        }


def source_kind(arn: str | None) -> str:
    """``sqs``, ``kinesis`` or ``dynamodb``; any other source is refused as AWS refuses one it cannot poll."""
    found = _SOURCE.match(arn or "")
    if found is None:
        raise InvalidParameterValue(
            f"Unrecognized event source, must be kinesis, dynamodb stream or sqs. Unsupported source arn : {arn}"
            if arn
            else "Unrecognized event source."
        )
    return next(kind for kind in (SQS, KINESIS, DYNAMODB) if found.group(kind))


def _unsupported(name: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Unsupported {name} parameter for given event source mapping type.")


def check_settings(kind: str, settings: dict[str, Any]) -> None:
    """What the model cannot say: which settings each kind of source takes, and how they combine."""
    batch, window = settings["BatchSize"], settings.get("MaximumBatchingWindowInSeconds", 0)
    if kind == SQS:
        if settings.get("StartingPosition") is not None:
            raise InvalidParameterValue("StartingPosition is not valid for SQS event sources.")
        for name in _STREAM_ONLY:
            if settings.get(name) is not None:
                raise _unsupported(name)
        if settings["EventSourceArn"].endswith(".fifo"):
            if batch > 10:
                raise InvalidParameterValue("Batch size for FIFO queues must be between 1 and 10.")
            if window:
                raise InvalidParameterValue("Batching window is not supported for FIFO queues.")
        elif batch > 10 and not window:
            raise InvalidParameterValue(
                "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"
            )
    else:
        if settings.get("ScalingConfig"):
            raise _unsupported("ScalingConfig")
        position = settings.get("StartingPosition")
        if position is None:
            raise InvalidParameterValue(
                "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: "
                "Member must not be null."
            )
        if position == "AT_TIMESTAMP":
            if kind == DYNAMODB:
                raise InvalidParameterValue("Unsupported starting position for DynamoDB: AT_TIMESTAMP")
            if settings.get("StartingPositionTimestamp") is None:
                raise InvalidParameterValue(
                    "StartingPositionTimestamp must be set when StartingPosition is AT_TIMESTAMP."
                )
        elif settings.get("StartingPositionTimestamp") is not None:
            raise InvalidParameterValue("StartingPositionTimestamp is only valid with StartingPosition AT_TIMESTAMP.")
        on_failure = settings.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if on_failure and not re.match(r"^arn:aws[a-zA-Z-]*:(sqs|sns):", on_failure):
            raise InvalidParameterValue("The destination ARN is not valid: only SQS queues and SNS topics are.")
    for item in settings.get("FilterCriteria", {}).get("Filters", []):
        try:
            compiled(item.get("Pattern", ""))
        except PatternError:
            raise InvalidParameterValue("Invalid filter pattern definition.") from None


class EventSources:
    def __init__(self, config: Config, store: MappingStore, functions: FunctionService) -> None:
        self.config = config
        self.store = store
        self.functions = functions
        self.mappings: dict[str, Mapping] = {}
        for row in store.all():
            mapping = Mapping(
                row["uuid"], row["kind"], row["settings"], row["enabled"], "Deleting" if row["deleting"] else "",
                row["tags"], row["last_modified"],
            )  # fmt: skip
            mapping.state = mapping.state or ("Enabling" if mapping.enabled else "Disabled")
            self.mappings[mapping.uuid] = mapping
        self.listeners: list[Callable[[Mapping], None]] = []  # the pollers, told of every change

    # ---------------------------------------------------------------- shapes
    def arn(self, uuid: str) -> str:
        return f"arn:aws:lambda:{self.config.region}:{self.config.account_id}:event-source-mapping:{uuid}"

    def describe(self, mapping: Mapping) -> dict[str, Any]:
        described = {
            "UUID": mapping.uuid,
            **mapping.settings,
            "LastModified": mapping.last_modified,
            "State": mapping.state,
            "StateTransitionReason": "USER_INITIATED",
            "EventSourceMappingArn": self.arn(mapping.uuid),
        }
        if mapping.kind in STREAMS or mapping.last_result.startswith("PROBLEM"):  # an SQS mapping's only when it fails
            described["LastProcessingResult"] = mapping.last_result
        return described

    # ------------------------------------------------------------ operations
    def get(self, uuid: str) -> Mapping:
        mapping = self.mappings.get(uuid)
        if mapping is None:
            raise ResourceNotFound("The resource you requested does not exist.")
        return mapping

    def _function_arn(self, name: str) -> str:
        ref = parse_function(name, self.config.region)
        entry, _ = self.functions.lookup(name)
        return self.functions.arn(entry.latest.name, ref.qualifier)

    def create(self, params: dict[str, Any]) -> Mapping:
        kind = source_kind(params.get("EventSourceArn"))
        function_arn = self._function_arn(params["FunctionName"])
        settings = {
            **_DEFAULTS[kind],
            **{name: params[name] for name in _SETTABLE if params.get(name) is not None},
            "EventSourceArn": params["EventSourceArn"],
            "FunctionArn": function_arn,
        }
        check_settings(kind, settings)
        for existing in self.mappings.values():
            if existing.source_arn == settings["EventSourceArn"] and existing.function_arn == function_arn:
                raise ResourceConflict(
                    f"The event source arn ({existing.source_arn}) and function "
                    f"({params['FunctionName']}) provided mapping already exists. Please update or delete the "
                    f"existing mapping with UUID {existing.uuid}"
                )
        tags = params.get("Tags") or {}
        if len(tags) > MAX_TAGS:
            raise InvalidParameterValue("Number of tags exceeds resource tag limit.")
        enabled = params.get("Enabled", True)
        mapping = Mapping(str(uuids.uuid4()), kind, settings, enabled, "Creating", dict(tags), time.time())
        self._save(mapping)
        return mapping

    def update(self, params: dict[str, Any]) -> Mapping:
        mapping = self.get(params["UUID"])
        if mapping.deleting:
            raise ResourceConflict(f"The resource you requested is currently being deleted: {mapping.uuid}")
        settings = dict(mapping.settings)
        if params.get("FunctionName"):
            settings["FunctionArn"] = self._function_arn(params["FunctionName"])
        for name in _SETTABLE:
            if name in ("StartingPosition", "StartingPositionTimestamp") or params.get(name) is None:
                continue
            if mapping.kind == SQS and name in _STREAM_ONLY:
                raise _unsupported(name)
            settings[name] = params[name]
        if settings.get("ScalingConfig") == {}:
            settings.pop("ScalingConfig")  # "To remove the configuration, pass an empty value."
        if settings.get("FilterCriteria") == {}:
            settings.pop("FilterCriteria")
        check_settings(mapping.kind, settings)
        enabled = params.get("Enabled", mapping.enabled)
        state = "Updating"
        if enabled != mapping.enabled:
            state = "Enabling" if enabled else "Disabling"
        mapping.settings, mapping.enabled, mapping.state = settings, enabled, state
        mapping.last_modified = time.time()
        self._save(mapping)
        return mapping

    def delete(self, uuid: str) -> Mapping:
        mapping = self.get(uuid)
        mapping.state = "Deleting"
        self._save(mapping)
        return mapping

    def list(self, function: str | None, source: str | None) -> list[Mapping]:
        function_arn = self._function_arn(function) if function else None
        return sorted(
            (
                m
                for m in self.mappings.values()
                if (source is None or m.source_arn == source)
                and (function_arn is None or m.function_arn == function_arn)
            ),
            key=lambda m: (m.last_modified, m.uuid),
        )

    def _save(self, mapping: Mapping) -> None:
        self.store.save(mapping.uuid, mapping.to_row())
        self.mappings[mapping.uuid] = mapping
        for listener in self.listeners:
            listener(mapping)
        if not self.listeners:
            self.settled(mapping.uuid)

    # ------------------------------------------------------ told by the pollers
    def settled(self, uuid: str) -> None:
        """The pollers have done what the mapping's last change asked: it reaches its resting state."""
        mapping = self.mappings.get(uuid)
        if mapping is None:
            return
        if mapping.deleting:
            self.store.delete(uuid)
            del self.mappings[uuid]
        else:
            mapping.state = "Enabled" if mapping.enabled else "Disabled"

    def processed(self, uuid: str, result: str) -> None:
        """LastProcessingResult, as the stream pollers report it."""
        mapping = self.mappings.get(uuid)
        if mapping is not None:
            mapping.last_result = result

    def checkpoints(self, uuid: str) -> dict[str, str]:
        return self.store.checkpoints(uuid)

    def checkpoint(self, uuid: str, shard: str, sequence: str) -> None:
        self.store.checkpoint(uuid, shard, sequence)

    # ------------------------------------------------------------------ tags
    def is_mapping_arn(self, arn: str) -> bool:
        return ":event-source-mapping:" in arn

    def _tagged(self, arn: str) -> Mapping:
        return self.get(arn.rsplit(":", 1)[-1])

    def tags(self, arn: str) -> dict[str, str]:
        return dict(self._tagged(arn).tags)

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        mapping = self._tagged(arn)
        merged = {**mapping.tags, **tags}
        if len(merged) > MAX_TAGS:
            raise InvalidParameterValue("Number of tags exceeds resource tag limit.")
        mapping.tags = merged
        self.store.save(mapping.uuid, mapping.to_row())

    def untag(self, arn: str, keys: builtins.list[str]) -> None:
        mapping = self._tagged(arn)
        mapping.tags = {k: v for k, v in mapping.tags.items() if k not in keys}
        self.store.save(mapping.uuid, mapping.to_row())
