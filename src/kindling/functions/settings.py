"""Runtime management and scaling configurations: kept per version and returned as AWS returns them.

Kindling runs each runtime name on the one interpreter the host has, so a runtime version pinned with
``Manual`` is recorded, not switched to; scaling limits belong to Lambda Managed Instances (capacity
providers), which Kindling does not run, so they are recorded and returned.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidParameterValue, ResourceNotFound
from ..store.settings import SettingsStore
from .service import FunctionService

RUNTIME = "runtime-management"
SCALING = "scaling"


class FunctionSettings:
    def __init__(self, functions: FunctionService, store: SettingsStore) -> None:
        self.functions = functions
        self.store = store

    def _version(self, name_or_arn: str, qualifier: str | None) -> tuple[str, str, str]:
        """Function name, the version a qualifier stands for, and the ARN the answer names."""
        entry, resolved = self.functions.lookup(name_or_arn, qualifier)
        version = self.functions.record(entry, resolved).version
        name = entry.latest.name
        return name, version, self.functions.arn(name, resolved if qualifier or resolved != "$LATEST" else None)

    # --------------------------------------------------------- runtime management
    def runtime_management(self, name_or_arn: str, qualifier: str | None) -> dict[str, Any]:
        name, version, arn = self._version(name_or_arn, qualifier)
        stored = self.store.get(name, version, RUNTIME) or {"UpdateRuntimeOn": "Auto"}
        return {**stored, "FunctionArn": arn}

    def put_runtime_management(self, params: dict[str, Any]) -> dict[str, Any]:
        name, version, arn = self._version(params["FunctionName"], params.get("Qualifier"))
        mode, pinned = params["UpdateRuntimeOn"], params.get("RuntimeVersionArn")
        if mode == "Manual" and not pinned:
            raise InvalidParameterValue("RuntimeVersionArn is required when UpdateRuntimeOn is Manual.")
        if mode != "Manual" and pinned:
            raise InvalidParameterValue("RuntimeVersionArn can only be given when UpdateRuntimeOn is Manual.")
        config = {"UpdateRuntimeOn": mode, **({"RuntimeVersionArn": pinned} if pinned else {})}
        self.store.save(name, version, RUNTIME, config)
        return {**config, "FunctionArn": arn}

    # ------------------------------------------------------------------ scaling
    def _published(self, name_or_arn: str, qualifier: str) -> tuple[str, str]:
        """Scaling applies to a published version (a number, or ``$LATEST.PUBLISHED``: the newest one)."""
        entry = self.functions.resolve(name_or_arn)
        name = entry.latest.name
        version = str(entry.last_version) if qualifier == "$LATEST.PUBLISHED" else qualifier
        if version not in entry.versions:
            raise ResourceNotFound(f"Function not found: {self.functions.arn(name, qualifier)}")
        return name, version

    def scaling(self, name_or_arn: str, qualifier: str) -> dict[str, Any]:
        name, version = self._published(name_or_arn, qualifier)
        body: dict[str, Any] = {"FunctionArn": self.functions.arn(name, qualifier)}
        stored = self.store.get(name, version, SCALING)
        if stored is not None:
            body.update(RequestedFunctionScalingConfig=stored, AppliedFunctionScalingConfig=stored)
        return body

    def put_scaling(self, name_or_arn: str, qualifier: str, config: dict[str, Any]) -> str:
        name, version = self._published(name_or_arn, qualifier)
        low, high = config.get("MinExecutionEnvironments"), config.get("MaxExecutionEnvironments")
        if low is not None and high is not None and low > high:
            raise InvalidParameterValue(
                "MinExecutionEnvironments must be less than or equal to MaxExecutionEnvironments."
            )
        self.store.save(name, version, SCALING, config)
        return self.functions.record(self.functions.resolve(name), version).state
