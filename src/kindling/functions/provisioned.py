"""Provisioned concurrency: environments of a published version or alias, initialised ahead of demand.

The configuration is stored; the invoker does the work in the background, and the status a
caller sees (IN_PROGRESS, READY, FAILED) is read off the environments that actually exist.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidParameterValue, ResourceNotFound
from ..models import FunctionVersion
from .service import FunctionService
from .snapstart import check_provisioned
from .timestamps import timestamp


class ProvisionedConfigNotFound(ResourceNotFound):
    code = "ProvisionedConcurrencyConfigNotFoundException"
    message_key = "message"


@dataclass
class _Config:
    function: str
    qualifier: str
    requested: int
    last_modified: str
    task: asyncio.Task[None] | None = None


class ProvisionedConcurrency:
    def __init__(self, functions: FunctionService) -> None:
        self.functions = functions
        self._configs: dict[tuple[str, str], _Config] = {}
        for function, qualifier, requested, last_modified in functions.store.all_provisioned():
            self._configs[function, qualifier] = _Config(function, qualifier, requested, last_modified)

    def start(self) -> None:
        """Provision again what was configured before a restart."""
        for config in self._configs.values():
            self._apply(config)

    def _target(self, config: _Config) -> FunctionVersion:
        entry, qualifier = self.functions.lookup(config.function, config.qualifier)
        return self.functions.record(entry, qualifier)

    def _apply(self, config: _Config) -> None:
        record = self._target(config)
        work = self.functions.invoker.provision(record, self.functions.code_dir(record), config.requested)
        config.task = asyncio.get_running_loop().create_task(work)

    def put(self, name_or_arn: str, qualifier: str, requested: int) -> dict[str, Any]:
        entry, resolved = self.functions.lookup_qualified(name_or_arn, qualifier)
        if resolved == "$LATEST":
            raise InvalidParameterValue(
                "Provisioned Concurrency Configs cannot be applied to unpublished function versions."
            )
        check_provisioned(self.functions.record(entry, resolved))
        name = entry.latest.name
        reserved = self.functions.invoker.limits.reserved.get(name)
        if reserved is not None and requested > reserved:
            raise InvalidParameterValue(
                "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution "
                "for function"
            )
        config = _Config(name, resolved, requested, timestamp())
        self.functions.store.save_provisioned(name, resolved, requested, config.last_modified)
        self._configs[name, resolved] = config
        self._apply(config)
        return self._describe(config)

    def _config(self, name_or_arn: str, qualifier: str) -> _Config:
        entry, resolved = self.functions.lookup_qualified(name_or_arn, qualifier)
        if resolved == "$LATEST":
            raise InvalidParameterValue("The function resource provided must be an alias or a published version.")
        config = self._configs.get((entry.latest.name, resolved))
        if config is None:
            raise ProvisionedConfigNotFound("No Provisioned Concurrency Config found for this function")
        return config

    def get(self, name_or_arn: str, qualifier: str) -> dict[str, Any]:
        return self._describe(self._config(name_or_arn, qualifier))

    async def delete(self, name_or_arn: str, qualifier: str) -> None:
        config = self._config(name_or_arn, qualifier)
        if config.task is not None:
            config.task.cancel()
        del self._configs[config.function, config.qualifier]
        self.functions.store.delete_provisioned(config.function, config.qualifier)
        await self.functions.invoker.unprovision(self._target(config))

    def list(self, name_or_arn: str) -> list[dict[str, Any]]:
        name = self.functions.resolve(name_or_arn).latest.name
        return [
            {"FunctionArn": self.functions.arn(name, c.qualifier), **self._describe(c)}
            for c in sorted(self._configs.values(), key=lambda c: c.qualifier)
            if c.function == name
        ]

    def forget(self, function: str) -> None:
        """The function was deleted: its configurations went with it (the store cascades)."""
        for key in [k for k in self._configs if k[0] == function]:
            task = self._configs.pop(key).task
            if task is not None:
                task.cancel()

    def _describe(self, config: _Config) -> dict[str, Any]:
        allocated, available, failure = self.functions.invoker.provisioned_status(self._target(config))
        running = config.task is not None and not config.task.done()
        if failure and not running:
            status = "FAILED"
        elif allocated >= config.requested and not running:
            status = "READY"
        else:
            status = "IN_PROGRESS"
        described: dict[str, Any] = {
            "RequestedProvisionedConcurrentExecutions": config.requested,
            "AvailableProvisionedConcurrentExecutions": available,
            "AllocatedProvisionedConcurrentExecutions": allocated,
            "Status": status,
            "LastModified": config.last_modified,
        }
        if status == "FAILED":
            described["StatusReason"] = failure
        return described
