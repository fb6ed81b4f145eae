"""Alias rules: names for versions, with an optional weighted share for one other version."""

from __future__ import annotations

import uuid
from typing import Any

from ..errors import InvalidParameterValue, PreconditionFailed, ResourceConflict, ResourceNotFound
from ..models import Alias
from .service import FunctionEntry, FunctionService


class AliasService:
    def __init__(self, functions: FunctionService) -> None:
        self.functions = functions

    def _entry(self, name_or_arn: str) -> FunctionEntry:
        return self.functions.function(name_or_arn)  # a qualified ARN (an alias's own) names its function

    def _alias(self, entry: FunctionEntry, name: str, missing: str = "Cannot find alias arn") -> Alias:
        alias = entry.aliases.get(name)
        if alias is None:
            raise ResourceNotFound(f"{missing}: {self.functions.arn(entry.latest.name, name)}")
        return alias

    def _check_targets(self, entry: FunctionEntry, version: str, weights: dict[str, float]) -> None:
        if version != "$LATEST" and version not in entry.versions:
            raise ResourceNotFound(f"Function not found: {self.functions.arn(entry.latest.name, version)}")
        if not weights:
            return
        if len(weights) > 1:
            raise InvalidParameterValue("Number of items in AdditionalVersionWeights cannot be greater than 1.")
        if version == "$LATEST":
            raise InvalidParameterValue("$LATEST is not supported for an alias pointing to more than 1 version")
        for extra in weights:
            if extra == version:
                raise InvalidParameterValue(
                    f"Invalid function version {extra}. Function version {extra} is already included in "
                    "routing configuration."
                )
            if extra not in entry.versions:
                raise InvalidParameterValue(f"Function version {extra} does not exist.")

    def create(self, params: dict[str, Any]) -> Alias:
        entry = self._entry(params["FunctionName"])
        name = params["Name"]
        arn = self.functions.arn(entry.latest.name, name)
        if name in entry.aliases:
            raise ResourceConflict(f"Alias already exists: {arn}")
        weights = _weights(params)
        self._check_targets(entry, params["FunctionVersion"], weights)
        alias = Alias(
            name=name,
            function_name=entry.latest.name,
            arn=arn,
            function_version=params["FunctionVersion"],
            revision_id=str(uuid.uuid4()),
            description=params.get("Description", ""),
            weights=weights,
        )
        self.functions.store.save_alias(alias)
        entry.aliases[name] = alias
        return alias

    def get(self, function: str, name: str) -> Alias:
        return self._alias(self._entry(function), name)

    def update(self, params: dict[str, Any]) -> Alias:
        entry = self._entry(params["FunctionName"])
        alias = self._alias(entry, params["Name"], missing="Alias not found")
        if params.get("RevisionId") and params["RevisionId"] != alias.revision_id:
            raise PreconditionFailed(
                "The Revision Id provided does not match the latest Revision Id. "
                "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
            )
        version = params.get("FunctionVersion", alias.function_version)
        weights = _weights(params) if "RoutingConfig" in params else alias.weights
        self._check_targets(entry, version, weights)
        updated = alias.replace(
            function_version=version,
            weights=weights,
            revision_id=str(uuid.uuid4()),
            description=params.get("Description", alias.description),
        )
        self.functions.store.save_alias(updated)
        entry.aliases[updated.name] = updated
        return updated

    def delete(self, function: str, name: str) -> None:
        """Deleting an alias that does not exist succeeds, as on AWS."""
        entry = self._entry(function)
        if entry.aliases.pop(name, None) is not None:
            self.functions.store.delete_alias(entry.latest.name, name)

    def list(self, function: str, version: str | None = None) -> list[Alias]:
        aliases = sorted(self._entry(function).aliases.values(), key=lambda a: a.name)
        return [a for a in aliases if version is None or a.function_version == version]


def _weights(params: dict[str, Any]) -> dict[str, float]:
    return dict((params.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {})
