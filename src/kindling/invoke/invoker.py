"""Places invocations on execution environments: warm first, else a new one from the zygote.

Environments are pooled per exact configuration (function, version, revision), so a change
to ``$LATEST`` never serves an old environment again. Concurrency is counted here, where
environments are handed out, and idle environments are reclaimed after the keep-alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..config import Config
from ..errors import TooManyRequests
from ..logs.streams import LogStore, LogStream, stream_name
from ..metrics.recorder import Recorder
from ..metrics.tracing import Tracing
from ..models import FunctionVersion, InvokeRequest, InvokeResult
from ..runtimes.registry import Runtime
from ..sandbox.contract import Sandbox, SandboxBackend, SandboxFull, SandboxSpec
from .concurrency import ACCOUNT_REASON, ConcurrencyLimits
from .credentials import FunctionCredentials, ca_bundle, sandbox_endpoint, sdk_environment
from .environment import Environment
from .images import image_environment, image_opt_dir, image_runtime
from .snapshots import Snapshots

log = logging.getLogger("kindling.invoke")
NODE_PATH = (
    "/opt/nodejs/node{major}/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task"
)
LD_LIBRARY_PATH = "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"


@dataclass
class Pool:
    version: FunctionVersion
    code_dir: Path
    idle: list[Environment] = field(default_factory=list)
    busy: int = 0
    retired: bool = False
    provisioned: list[Environment] = field(default_factory=list)  # initialised ahead, idle, never reaped
    provisioned_ids: set[str] = field(default_factory=set)  # every provisioned environment, idle or busy
    provisioning_failed: str = ""


def lambda_environment(
    version: FunctionVersion,
    runtime: Runtime,
    region: str,
    stream: str,
    initialization: str = "on-demand",
    sdk: dict[str, str] | None = None,
) -> dict[str, str]:
    """The variables Lambda sets, then the user's (which win where AWS lets them); ``sdk``: the endpoint and
    credentials the AWS SDKs pick up (``credentials.py``)."""
    env = {
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
        "LD_LIBRARY_PATH": LD_LIBRARY_PATH,
        "PYTHONPATH": "/var/runtime",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        **(sdk or {}),
        **version.environment,
        "_HANDLER": version.handler,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime.name}",
        "AWS_LAMBDA_FUNCTION_NAME": version.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(version.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": version.version,
        "AWS_LAMBDA_INITIALIZATION_TYPE": initialization,
        "AWS_LAMBDA_LOG_GROUP_NAME": version.log_group,
        "AWS_LAMBDA_LOG_STREAM_NAME": stream,
        "LAMBDA_TASK_ROOT": "/var/task",
    }
    if version.log_format == "JSON":
        env.update(AWS_LAMBDA_LOG_FORMAT="JSON", AWS_LAMBDA_LOG_LEVEL=version.application_log_level)
    if runtime.name.startswith("provided"):
        del env["AWS_EXECUTION_ENV"]  # Lambda sets none for custom runtimes
    elif runtime.name.startswith("nodejs"):
        env.setdefault("NODE_PATH", NODE_PATH.format(major=runtime.version))
    for name, value in runtime.variables:
        env.setdefault(name, value)
    return env


def daemon_environment(config: Config) -> dict[str, str]:
    """Where a function's X-Ray SDK sends its segments: the server's own host and port, over UDP
    (``metrics/xray.py``), at the address the function reaches the endpoint at."""
    endpoint = urlsplit(sandbox_endpoint(config))
    host, port = endpoint.hostname or "127.0.0.1", str(endpoint.port)
    return {
        "AWS_XRAY_DAEMON_ADDRESS": f"{host}:{port}",
        "_AWS_XRAY_DAEMON_ADDRESS": host,
        "_AWS_XRAY_DAEMON_PORT": port,
    }


def available_memory_mb(meminfo: str = "/proc/meminfo") -> float:
    try:
        with open(meminfo) as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("inf")


class Invoker:
    def __init__(
        self,
        config: Config,
        backend: SandboxBackend,
        logs: LogStore,
        runtimes: dict[str, Runtime],
        metrics: Recorder | None = None,
    ) -> None:
        self.config = config
        self.ca_bundle = ca_bundle(config)  # read once: the certificate sandboxes trust under --tls-cert
        self.metrics = metrics or Recorder()  # CloudWatch's figures, counted where invocations are placed
        self.tracing = Tracing(config.region, config.account_id)  # the composition root may set an exporter
        self.backend = backend
        self.logs = logs
        self.runtimes = runtimes
        # the merged layers of a version, bound at /opt: set by the function service, which owns layers
        self.opt_dir: Callable[[FunctionVersion], Path | None] = lambda version: None
        self._pools: dict[str, Pool] = {}
        self.limits = ConcurrencyLimits(config.account_concurrency)
        self._reaper: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._reclaims: set[asyncio.Task[None]] = set()  # finished, not cancelled, at close (SHUTDOWN takes time)
        self.snapshots = Snapshots(self._sandbox)
        self.credentials = FunctionCredentials()  # the execution role's, minted per environment (server.py)
        self.snapshots.max_age = lambda: self.credentials.recycle_s
        self._renewing: set[str] = set()  # provisioned environments being replaced before their credentials end

    def reserved_concurrency(self, function_name: str) -> int | None:
        return self.limits.reserved.get(function_name)

    def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap_forever())
        self.snapshots.start()

    def _pool(self, version: FunctionVersion, code_dir: Path) -> Pool:
        pool = self._pools.get(version.environment_key)
        if pool is None:
            pool = self._pools[version.environment_key] = Pool(version, code_dir)
        return pool

    async def _new_environment(self, pool: Pool, initialization: str = "on-demand") -> Environment:
        env: Environment
        if pool.version.snap_start_optimized:
            env = await self.snapshots.environment(pool.version)
        else:
            env_id, sandbox, stream = await self._sandbox(pool.version, pool.code_dir, initialization)
            env = Environment(env_id, pool.version, sandbox, stream)
        env.on_post_runtime = self.metrics.post_runtime
        return env

    async def _sandbox(
        self, version: FunctionVersion, code_dir: Path, initialization: str, host_tmp: bool = True
    ) -> tuple[str, Sandbox, LogStream]:
        """A new sandbox for one of ``version``'s environments (or its SnapStart template), with its log stream."""
        sdk = {**sdk_environment(self.config, version, self.credentials), **daemon_environment(self.config)}
        env_id = uuid.uuid4().hex
        self.metrics.environment(env_id, version)
        stream = stream_name(version.version, env_id)
        image = version.package_type == "Image"
        runtime, cwd = image_runtime(version, self.runtimes) if image else (self.runtimes[version.runtime], "/var/task")
        environment = lambda_environment(version, runtime, self.config.region, stream, initialization, sdk)
        spec = SandboxSpec(
            env_id=env_id,
            runtime=runtime,
            code_dir=code_dir,
            memory_mb=version.memory_size,
            ephemeral_mb=version.ephemeral_storage,
            environment=image_environment(version, environment) if image else environment,
            network=self.config.network and version.name not in self.config.egress,
            egress=self.config.egress.get(version.name, ()),
            opt_dir=image_opt_dir(code_dir) if image else self.opt_dir(version),
            snapshot=version.snap_start_optimized,
            image=image,
            cwd=cwd,
            ca_bundle=self.ca_bundle,
        )
        try:
            sandbox = await self.backend.create(spec, host_tmp=host_tmp)
        except SandboxFull:
            raise TooManyRequests(reason=ACCOUNT_REASON) from None
        return env_id, sandbox, self.logs.open_stream(version.log_group, stream)

    async def invoke(self, version: FunctionVersion, code_dir: Path, request: InvokeRequest) -> InvokeResult:
        request = self.tracing.enter(version, request)  # Active: a new trace; sampled: the segment's id
        try:
            self.limits.acquire(version.name)
        except TooManyRequests:
            self.metrics.throttled(version.name, request.invoked_arn)
            raise
        reserved = version.name in self.limits.reserved
        self.metrics.started(version.name, reserved)
        pool = self._pool(version, code_dir)
        pool.busy += 1
        env: Environment | None = None
        result: InvokeResult | None = None
        provisioned = "spillover" if pool.provisioned_ids else ""
        try:
            if pool.provisioned:
                env = pool.provisioned.pop()
                provisioned = "provisioned"
                self.metrics.on_provisioned(version.name, len(pool.provisioned_ids))
            elif pool.idle:
                env = pool.idle.pop()
                if env.born < time.monotonic() - self.credentials.recycle_s:  # its role credentials end soon
                    self._background(env.destroy(), reclaim=True)
                    env = await self._new_environment(pool)
            else:
                await self._make_room()
                env = await self._new_environment(pool)
            result = await env.invoke(request)
            return result
        except BaseException:
            if env is not None:
                pool.provisioned_ids.discard(env.id)
                await env.destroy()
                env = None
            raise
        finally:
            self.limits.release(version.name)
            self._record(version, request, reserved, result, provisioned)
            pool.busy -= 1
            if env is not None:
                if pool.retired:
                    await env.destroy()
                elif env.id in pool.provisioned_ids:
                    pool.provisioned.append(env)
                else:
                    pool.idle.append(env)

    def _record(
        self, version: FunctionVersion, request: InvokeRequest, reserved: bool, result: InvokeResult | None, pc: str
    ) -> None:
        duration = result.duration_ms if result is not None else None
        init = result.init_ms if result is not None else None
        error = result is not None and bool(result.function_error)
        self.metrics.finished(version, request.invoked_arn, reserved, duration, init, error, pc)
        if init is not None:
            self.metrics.cold_start(version.name, version.runtime, init)
        if result is not None:
            self.tracing.finished(version, request, result)

    # ------------------------------------------------------------ provisioned concurrency
    async def provision(self, version: FunctionVersion, code_dir: Path, count: int) -> None:
        """Keep ``count`` environments of this version initialised ahead of demand."""
        pool = self._pool(version, code_dir)
        pool.provisioning_failed = ""
        while len(pool.provisioned_ids) > count:  # scale down: idle ones first
            if not pool.provisioned:
                break
            env = pool.provisioned.pop()
            pool.provisioned_ids.discard(env.id)
            await env.destroy()
        missing = count - len(pool.provisioned_ids)
        if missing <= 0:
            return
        created = await asyncio.gather(
            *(self._new_environment(pool, "provisioned-concurrency") for _ in range(missing)), return_exceptions=True
        )
        for made in created:
            if isinstance(made, BaseException):
                pool.provisioning_failed = f"FUNCTION_ERROR_INIT_FAILURE: {made}"
                continue
            await made.start()
            if not made.initialised:
                pool.provisioning_failed = "FUNCTION_ERROR_INIT_FAILURE"
                await made.destroy()
                continue
            pool.provisioned_ids.add(made.id)
            pool.provisioned.append(made)

    async def _renew(self, pool: Pool, env: Environment) -> None:
        """A provisioned environment whose role credentials end soon, replaced by a new one made first (the
        swap waits for the old one to be idle: the next reap tries again)."""
        try:
            fresh = await self._new_environment(pool, "provisioned-concurrency")
            try:
                await fresh.start()
            except BaseException:
                await fresh.destroy()
                raise
            if not fresh.initialised or pool.retired or env not in pool.provisioned:
                await fresh.destroy()
                return
            pool.provisioned.remove(env)
            pool.provisioned_ids.discard(env.id)
            pool.provisioned_ids.add(fresh.id)
            pool.provisioned.append(fresh)
            await env.destroy()
        finally:
            self._renewing.discard(env.id)

    def provisioned_allocations(self) -> list[tuple[str, str, int, int]]:
        """(function, version, memory MB, environments) held for provisioned concurrency, for its cost."""
        return [
            (pool.version.name, pool.version.version, pool.version.memory_size, len(pool.provisioned_ids))
            for pool in self._pools.values()
            if pool.provisioned_ids
        ]

    def provisioned_status(self, version: FunctionVersion) -> tuple[int, int, str]:
        """(allocated, available, failure reason) of a version's provisioned environments."""
        pool = self._pools.get(version.environment_key)
        if pool is None:
            return 0, 0, ""
        return len(pool.provisioned_ids), len(pool.provisioned), pool.provisioning_failed

    async def unprovision(self, version: FunctionVersion) -> None:
        pool = self._pools.get(version.environment_key)
        if pool is None:
            return
        for env in pool.provisioned:
            await env.destroy()
        pool.provisioned.clear()
        pool.provisioned_ids.clear()

    def _background(self, work: Coroutine[Any, Any, None], *, reclaim: bool = False) -> None:
        """Keep a reference to background work so it is neither collected nor forgotten at close."""
        task = asyncio.create_task(work)
        for tasks in (self._tasks, self._reclaims) if reclaim else (self._tasks,):
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    def retire(self, function_name: str, version: str | None = None) -> None:
        """Stop reusing environments of a version (or of every version) that changed or went away."""
        self.snapshots.discard(function_name, version)
        for key, pool in list(self._pools.items()):
            if pool.version.name == function_name and version in (None, pool.version.version):
                pool.retired = True
                del self._pools[key]
                for env in [*pool.idle, *pool.provisioned]:
                    self._background(env.destroy(), reclaim=True)
                pool.idle.clear()
                pool.provisioned.clear()

    async def _reap_forever(self) -> None:
        interval = max(0.2, min(10.0, self.config.keep_alive_s / 4))
        while True:
            await asyncio.sleep(interval)
            await self.reap()

    async def reap(self) -> None:
        deadline = time.monotonic() - self.config.keep_alive_s
        for pool in list(self._pools.values()):
            old = time.monotonic() - self.credentials.recycle_s
            for env in pool.provisioned:
                if env.born < old and env.id not in self._renewing:
                    self._renewing.add(env.id)
                    self._background(self._renew(pool, env), reclaim=True)  # close waits: no sandbox left behind
            stale = [env for env in pool.idle if env.last_used < deadline or env.born < old]
            for env in stale:
                pool.idle.remove(env)
                await env.destroy()

    async def _make_room(self) -> None:
        """Before a new environment: under memory pressure, or out of uids, reclaim the least recently used
        idle environment, then SnapStart templates no environment needs."""
        while self.backend.exhausted() or available_memory_mb() < self.config.min_free_memory_mb:
            idle = [(env.last_used, pool, env) for pool in self._pools.values() for env in pool.idle]
            if not idle:
                in_use = {key for key, pool in self._pools.items() if pool.busy or pool.provisioned}
                if await self.snapshots.reclaim_one(in_use):
                    continue
                return
            _, pool, oldest = min(idle, key=lambda item: item[0])
            pool.idle.remove(oldest)
            log.info("reclaiming idle environment %s of %s to make room", oldest.id, pool.version.name)
            await oldest.destroy()

    def environments(self) -> list[dict[str, Any]]:
        """Every environment, for operators and the bench (``GET /kindling/environments``)."""
        described = []
        for pool in self._pools.values():
            idle = {env.id: env for env in [*pool.idle, *pool.provisioned]}
            for env in idle.values():
                described.append(
                    {
                        "id": env.id,
                        "function": pool.version.name,
                        "version": pool.version.version,
                        "state": "idle",
                        "provisioned": env.id in pool.provisioned_ids,
                        "pid": env.process.pid if env.process else None,
                        "invocations": env.invocations,
                        "idle_seconds": round(time.monotonic() - env.last_used, 3),
                    }
                )
        return described

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        if self._reclaims:
            await asyncio.wait(set(self._reclaims))
        for task in list(self._tasks):
            task.cancel()
        for pool in self._pools.values():
            for env in [*pool.idle, *pool.provisioned]:
                await env.destroy()
        self._pools.clear()
        await self.snapshots.close()  # last: its environments live in its PID namespace
