"""FunctionEventInvokeConfig: per function (and qualifier) retry count, event age and destinations.

The checks the botocore model cannot express are here, with AWS's messages: at least one setting, no
function as its own destination, destinations of a kind AWS knows and Kindling can reach (Lambda
functions, SQS queues). Configurations are kept in memory for the dispatcher and written to the
event store for restarts.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from ..errors import InvalidParameterValue
from .settings import DEFAULT_EVENT_AGE_S, DEFAULT_RETRY_ATTEMPTS
from .store import EventStore

LATEST = "$LATEST"
_ARN = re.compile(
    r"^arn:aws[a-zA-Z0-9-]*:(?P<service>[a-zA-Z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>\d*):(?P<rest>.+)$"
)
_FUNCTION_RESOURCE = re.compile(r"^function:(?P<name>[a-zA-Z0-9_-]+)(?::(?P<qualifier>[a-zA-Z0-9$_-]+))?$")
REACHABLE = ("lambda", "sqs", "sns")
KNOWN = {"OnSuccess": ("lambda", "sqs", "sns", "events"), "OnFailure": ("lambda", "sqs", "sns", "events", "s3")}


@dataclass(frozen=True)
class InvokeConfig:
    function: str
    qualifier: str = LATEST
    max_retry_attempts: int | None = None  # None: not set, AWS's default applies
    max_event_age_s: int | None = None
    on_success: str = ""
    on_failure: str = ""
    last_modified: float = 0.0

    @property
    def retries(self) -> int:
        return DEFAULT_RETRY_ATTEMPTS if self.max_retry_attempts is None else self.max_retry_attempts

    @property
    def event_age_s(self) -> int:
        return DEFAULT_EVENT_AGE_S if self.max_event_age_s is None else self.max_event_age_s

    def to_text(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_text(cls, text: str) -> InvokeConfig:
        return cls(**json.loads(text))


DEFAULTS = InvokeConfig(function="")


def destination_kind(arn: str) -> tuple[str, str]:
    """(service, resource) of a destination ARN; ("", "") when it is not an ARN at all."""
    match = _ARN.match(arn)
    return (match["service"], match["rest"]) if match else ("", "")


def lambda_destination(arn: str) -> str | None:
    """The function name a Lambda destination ARN points at, else None."""
    service, rest = destination_kind(arn)
    match = _FUNCTION_RESOURCE.match(rest) if service == "lambda" else None
    return match["name"] if match else None


def _destinations(params: dict[str, Any]) -> tuple[str, str]:
    config = params.get("DestinationConfig") or {}
    return (
        (config.get("OnSuccess") or {}).get("Destination", ""),
        (config.get("OnFailure") or {}).get("Destination", ""),
    )


def check_destinations(function: str, on_success: str, on_failure: str, exists: Callable[[str], bool]) -> None:
    invalid = False
    for condition, arn in (("OnSuccess", on_success), ("OnFailure", on_failure)):
        if not arn:
            continue
        service, _ = destination_kind(arn)
        if service not in KNOWN[condition]:
            invalid = True
            continue
        if service not in REACHABLE:
            raise InvalidParameterValue(
                f"Kindling delivers asynchronous invocation records to Lambda functions, SQS queues and SNS topics; "
                f"the {service} destination {arn} is not supported."
            )
        if service == "lambda":
            name = lambda_destination(arn)
            if name == function:
                raise InvalidParameterValue("You can't specify the function as a destination for itself.")
            if name is None or not exists(name):
                raise InvalidParameterValue(f"The destination ARN {arn} is invalid.")
    if invalid:
        success = f"OnSuccess(destination={on_success})" if on_success else "null"
        failure = f"OnFailure(destination={on_failure})" if on_failure else "null"
        raise InvalidParameterValue(
            f"The provided destination config DestinationConfig(onSuccess={success}, onFailure={failure}) is invalid."
        )


def from_params(
    function: str, qualifier: str, params: dict[str, Any], base: InvokeConfig | None, exists: Callable[[str], bool]
) -> InvokeConfig:
    """Put (``base`` None: what is not given is unset) or Update (``base``: what is not given is kept)."""
    given = {k for k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig") if k in params}
    if not given:
        raise InvalidParameterValue("You must specify at least one of error handling or destination setting.")
    start = base or InvokeConfig(function, qualifier)
    on_success, on_failure = (
        _destinations(params) if "DestinationConfig" in params else (start.on_success, start.on_failure)
    )
    check_destinations(function, on_success, on_failure, exists)
    return replace(
        start,
        max_retry_attempts=params.get("MaximumRetryAttempts", start.max_retry_attempts),
        max_event_age_s=params.get("MaximumEventAgeInSeconds", start.max_event_age_s),
        on_success=on_success,
        on_failure=on_failure,
        last_modified=time.time(),
    )


def shape(config: InvokeConfig, function_arn: str) -> dict[str, Any]:
    """The FunctionEventInvokeConfig member AWS returns (LastModified in epoch seconds)."""
    body: dict[str, Any] = {"LastModified": config.last_modified, "FunctionArn": f"{function_arn}:{config.qualifier}"}
    if config.max_retry_attempts is not None:
        body["MaximumRetryAttempts"] = config.max_retry_attempts
    if config.max_event_age_s is not None:
        body["MaximumEventAgeInSeconds"] = config.max_event_age_s
    body["DestinationConfig"] = {
        "OnSuccess": {"Destination": config.on_success} if config.on_success else {},
        "OnFailure": {"Destination": config.on_failure} if config.on_failure else {},
    }
    return body


class InvokeConfigs:
    """The configurations in memory, each change written to the event store first."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._configs: dict[tuple[str, str], InvokeConfig] = {}

    def load(self, keep: set[str]) -> None:
        """Read the stored configurations of the functions that still exist."""
        for function, qualifier, text in self.store.load_configs():
            if function in keep:
                self._configs[(function, qualifier)] = InvokeConfig.from_text(text)

    def get(self, function: str, qualifier: str = LATEST) -> InvokeConfig | None:
        return self._configs.get((function, qualifier))

    def effective(self, function: str, qualifier: str) -> InvokeConfig:
        return self._configs.get((function, qualifier)) or DEFAULTS

    def of_function(self, function: str) -> list[InvokeConfig]:
        return [config for (name, _), config in sorted(self._configs.items()) if name == function]

    async def put(self, config: InvokeConfig) -> None:
        await self.store.save_config(config.function, config.qualifier, config.to_text())
        self._configs[(config.function, config.qualifier)] = config

    def forget(self, function: str) -> list[str]:
        """Drop a deleted function's configurations from memory; returns the qualifiers to remove from the store."""
        qualifiers = [qualifier for name, qualifier in self._configs if name == function]
        for qualifier in qualifiers:
            del self._configs[(function, qualifier)]
        return qualifiers

    async def delete(self, function: str, qualifier: str) -> None:
        await self.store.save_config(function, qualifier, None)
        self._configs.pop((function, qualifier), None)
