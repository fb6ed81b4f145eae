"""SnapStart: one initialised template per published version, and environments restored from it.

PublishVersion of a function with ``SnapStart.ApplyOn = PublishedVersions`` asks ``Snapshots.prepare``
for the version's template: an environment that runs init once (``AWS_LAMBDA_INITIALIZATION_TYPE=
snap-start``) and the before-snapshot hooks, then parks. Every new environment of that version is then
forked from it (``sandbox/templates.py``) instead of starting a runtime and running init again; its
first REPORT carries ``Restore Duration`` instead of ``Init Duration``. The function service is told
when a template is ready or failed (``on_state``) and turns that into the version's State.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ..errors import SnapStartTimeout
from ..logs.streams import LogStream
from ..models import FunctionVersion
from ..sandbox.contract import RuntimeProcess, Sandbox, SpawnError, Template
from .channel import ControlChannel
from .environment import Environment
from .reporting import RestoredReporting
from .runtime_channel import RuntimeChannel

log = logging.getLogger("kindling.invoke")
RESTORE_LIMIT_S = 10.0  # the after-restore hooks' limit, as on Lambda
INITIALIZATION = "snap-start"
# (version, code dir, initialization type, host /tmp?) -> (environment id, sandbox, log stream)
SandboxFactory = Callable[[FunctionVersion, Path, str, bool], Awaitable[tuple[str, Sandbox, LogStream]]]


class SnapshotFailed(Exception):
    """The version's init or its before-snapshot hooks failed: it has no template to restore from."""

    def __init__(self, reason: str, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class TemplateEnvironment(Environment):
    """The environment a SnapStart version's environments are forked from; it never serves an invoke."""

    template: Template | None = None

    async def _launch(self) -> tuple[RuntimeProcess, RuntimeChannel]:
        process, self.template = await self.sandbox.start_template()
        return process, ControlChannel()

    def failure(self) -> SnapshotFailed:
        """Lambda's StateReason and StateReasonCode for a template whose init did not succeed."""
        error = {}
        if self._init_error is not None:
            with contextlib.suppress(ValueError):
                error = json.loads(self._init_error.body)
        kind, message = error.get("errorType", "Runtime.ExitError"), error.get("errorMessage", "init failed")
        if error.get("errorType") == "Sandbox.Timedout":
            code = "FunctionError.InitTimeout"
        elif kind == "Runtime.BeforeSnapshotError":
            code = "FunctionError"
        else:
            code = "FunctionError.RuntimeInitError"
        return SnapshotFailed(f"Lambda could not create the snapshot: {kind}: {message}", code)


class RestoredEnvironment(Environment):
    """An execution environment forked from its version's template: no runtime start, no init."""

    reporting_class = RestoredReporting

    def __init__(
        self,
        env_id: str,
        version: FunctionVersion,
        sandbox: Sandbox,
        stream: LogStream,
        template: TemplateEnvironment,
        renew: Callable[[TemplateEnvironment], Awaitable[TemplateEnvironment]],
    ) -> None:
        super().__init__(env_id, version, sandbox, stream)
        self.template = template
        self._renew = renew  # a live template in place of a dead one

    async def _launch(self) -> tuple[RuntimeProcess, RuntimeChannel]:
        env = {"AWS_LAMBDA_LOG_STREAM_NAME": self.sandbox.spec.environment["AWS_LAMBDA_LOG_STREAM_NAME"]}
        if not self.template.alive:
            self.template = await self._renew(self.template)
        assert self.template.template is not None
        try:
            return await self.sandbox.restore(self.template.template, env), ControlChannel()
        except SpawnError:  # it died after it was last seen alive: restore from a new one, once
            self.template = await self._renew(self.template)
            assert self.template.template is not None
            return await self.sandbox.restore(self.template.template, env), ControlChannel()

    def _init_limit_s(self) -> float:
        return RESTORE_LIMIT_S

    async def start(self) -> None:
        """A restore whose after-restore hooks outrun their limit is not the function's error: Lambda
        answers the invoke with SnapStartTimeoutException, and the next invoke restores again."""
        await super().start()
        if self._init_error is not None and self._init_error.status == "timeout":
            await self._close_process("failure")
            raise SnapStartTimeout("Lambda couldn't restore the snapshot within the timeout limit.")


def _made(task: asyncio.Task[TemplateEnvironment]) -> bool:
    """The template task finished with a template (not failed, not cancelled)."""
    return task.done() and not task.cancelled() and task.exception() is None


class Snapshots:
    """The templates of every SnapStart version, by exact configuration, created once and kept."""

    def __init__(self, make_sandbox: SandboxFactory) -> None:
        self._make_sandbox = make_sandbox
        self._templates: dict[str, asyncio.Task[TemplateEnvironment]] = {}
        self._versions: dict[str, tuple[FunctionVersion, Path]] = {}
        self._restored_at: dict[str, float] = {}  # when each version last had an environment restored
        self._started = False
        self.max_age: Callable[[], float] = lambda: float("inf")  # a template older is made again before a restore
        # told when a template is ready (None) or failed; set by the function service, which owns State
        self.on_state: Callable[[FunctionVersion, SnapshotFailed | None], None] = lambda version, failure: None

    def prepare(self, version: FunctionVersion, code_dir: Path) -> None:
        """Create the version's template in the background (once the event loop runs, at server start)."""
        self._versions[version.environment_key] = (version, code_dir)
        if self._started:
            self._create(version.environment_key)

    def start(self) -> None:
        """Re-create the templates asked for before the event loop ran (the versions of a restart)."""
        self._started = True
        for key in self._versions:
            self._create(key)

    def _create(self, key: str) -> asyncio.Task[TemplateEnvironment]:
        task = self._templates[key] = asyncio.get_running_loop().create_task(self._build(*self._versions[key]))
        task.add_done_callback(lambda done: done.cancelled() or done.exception())  # awaited by invokes
        return task

    async def _build(self, version: FunctionVersion, code_dir: Path) -> TemplateEnvironment:
        env_id, sandbox, stream = await self._make_sandbox(version, code_dir, INITIALIZATION, True)
        template = TemplateEnvironment(env_id, version, sandbox, stream)
        try:
            await template.start()
        except BaseException:
            await template.destroy()
            raise
        if not template.initialised:
            failure = template.failure()
            await template.destroy()
            self.on_state(version, failure)
            raise failure
        self.on_state(version, None)
        log.info("snapshot of %s:%s ready in %.1f ms", version.name, version.version, template.init_ms or 0)
        return template

    async def environment(self, version: FunctionVersion) -> RestoredEnvironment:
        """A new environment of ``version``, to be restored from its template on its first invoke."""
        key = version.environment_key
        task = self._templates.get(key)
        if task is None:
            if key not in self._versions:
                raise SnapshotFailed("the version has no snapshot", "InternalError")
            task = self._create(key)  # reclaimed to make room: made again on demand
        self._restored_at[key] = time.monotonic()
        template = await asyncio.shield(task)
        if template.born < time.monotonic() - self.max_age() and self._templates.get(key) is task:
            self._background_destroy(template)  # its role credentials, which restored environments inherit, end soon
            template = await asyncio.shield(self._create(key))
        _, code_dir = self._versions[key]
        env_id, sandbox, stream = await self._make_sandbox(version, code_dir, INITIALIZATION, False)
        restored = RestoredEnvironment(
            env_id, version, sandbox, stream, template, lambda dead: self._renewed(key, dead)
        )
        restored.born = template.born  # recycled by the template's age: its credentials are the template's
        return restored

    async def _renewed(self, key: str, dead: TemplateEnvironment) -> TemplateEnvironment:
        """A live template for ``key`` in place of ``dead`` (killed, out of memory): made once, however
        many environments find it dead at the same time."""
        task = self._templates.get(key)
        if task is None:
            raise SnapshotFailed("the version has no snapshot", "InternalError")
        if _made(task) and task.result() is dead:
            version, _ = self._versions[key]
            log.warning("template of %s:%s is gone; creating it again", version.name, version.version)
            self._background_destroy(dead)
            task = self._create(key)
        return await asyncio.shield(task)

    async def reclaim_one(self, in_use: set[str]) -> bool:
        """Under memory pressure: destroy the least recently restored template of a version with no live
        environment (they live in its PID namespace); its next environment makes it again. False when
        there is none to reclaim."""
        candidates = [
            (self._restored_at.get(key, 0.0), key)
            for key, task in self._templates.items()
            if key not in in_use and _made(task)
        ]
        if not candidates:
            return False
        _, key = min(candidates)
        template = self._templates.pop(key).result()
        version, _ = self._versions[key]
        log.info("reclaiming the snapshot of %s:%s to make room", version.name, version.version)
        await template.destroy()
        return True

    def described(self) -> list[dict[str, Any]]:
        """The live templates, for ``GET /kindling/environments``."""
        described = []
        for key, task in self._templates.items():
            if _made(task):
                template = task.result()
                version, _ = self._versions[key]
                pid = template.process.pid if template.process else None
                described.append({"id": template.id, "function": version.name, "version": version.version,
                                  "state": "template", "pid": pid})  # fmt: skip
        return described

    def _background_destroy(self, template: TemplateEnvironment) -> None:
        task = asyncio.get_running_loop().create_task(template.destroy())
        task.add_done_callback(lambda done: done.cancelled() or done.exception())

    def discard(self, function_name: str, version: str | None = None) -> None:
        """The version (or every version of the function) went away: so do their templates."""
        for key, (record, _) in list(self._versions.items()):
            if record.name == function_name and version in (None, record.version):
                del self._versions[key]
                self._restored_at.pop(key, None)
                task = self._templates.pop(key, None)
                if task is not None:
                    task.add_done_callback(self._destroy_result)

    def _destroy_result(self, task: asyncio.Task[TemplateEnvironment]) -> None:
        if _made(task):
            self._background_destroy(task.result())

    async def close(self) -> None:
        for task in self._templates.values():
            task.cancel()
            with contextlib.suppress(BaseException):
                await (await task).destroy()
        self._templates.clear()
