"""Composition root: the only place that builds the parts and wires them together.

Config -> store, code store, logs -> sandbox backend -> invoker -> function service -> API.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import re
import resource
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator

import uvicorn

from .api.app import LambdaApi
from .api.dispatch import Dispatcher
from .api.fast_lane import invoke_lane, protocol_class
from .api.live_tail import LogsService
from .api.logs import LogsApi
from .api.model import ServiceModel
from .api.platform import PlatformApi
from .api.routes import handlers
from .api.routes.event_config import counters_mount
from .api.routes.policy import recursion_guard
from .api.routes.route_tables import route_tables_mount
from .api.routes.schedules import schedules_mount
from .api.routes.streaming import ResponseStreamInvoke
from .code import CodeStore
from .config import Config
from .console.assets import ConsoleAssets
from .events.queue import EventQueue
from .events.settings import QueueSettings
from .functions.invocations import Invocations
from .functions.layers import LayerService
from .functions.policy import PolicyService
from .functions.provisioned import ProvisionedConcurrency
from .functions.routes import RouteTables
from .functions.schedules import RuleStore, Schedules
from .functions.service import FunctionService
from .functions.urls import UrlService
from .invoke.invoker import Invoker
from .logs.streams import LogStore
from .runtimes.registry import discover
from .sandbox.backend import SandboxBackend
from .store.db import Store
from .store.layers import LayerStore
from .store.resources import ResourceStore
from .store.sqlite import Database
from .triggers.http.front import HttpFront
from .triggers.http.serve import HttpGateway
from .triggers.schedules import Scheduler
from .web import RawRequest, Reply

log = logging.getLogger("kindling")
_CODE_PATH = re.compile(r"^/kindling/code/([0-9a-f]{64})\.zip$")


def choose_backend(requested: str) -> bool:
    """True for the namespaces backend. ``auto`` takes it whenever the host allows it."""
    capable = sys.platform.startswith("linux") and os.geteuid() == 0
    if requested == "namespaces" and not capable:
        raise SystemExit("the namespaces sandbox needs Linux and root; use --sandbox process")
    if requested == "process" or not capable:
        log.warning(
            "*** sandbox 'process': functions run as plain processes WITHOUT isolation "
            "(no namespaces, no cgroups, same user as the server) ***"
        )
        return False
    return True


class _HttpServer(uvicorn.Server):
    """uvicorn re-raises SIGTERM after its shutdown, which would kill us before our own cleanup;
    here a first signal asks for a graceful stop and a second one forces it."""

    def __init__(self, config: uvicorn.Config, on_stop: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_stop = on_stop

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stop_requested)
        try:
            yield
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    def _stop_requested(self) -> None:
        if self.should_exit:
            self.force_exit = True
        self.should_exit = True
        self.on_stop()


class Kindling:
    def __init__(self, config: Config) -> None:
        self.config = config
        data = config.data_dir
        data.mkdir(parents=True, exist_ok=True)
        os.chmod(data, 0o711)
        self.database = Database(data / "kindling.db")  # every table group below shares this connection
        self.code = CodeStore(data / "code")
        self.logs = LogStore(data / "logs")
        self.runtimes = discover(config.runtime_paths)
        if not self.runtimes:
            log.warning("no Python interpreter found for python3.11, python3.12 or python3.13")
        self.backend = SandboxBackend(
            data,
            isolate_=choose_backend(config.sandbox),
            uid_base=config.uid_base,
            uid_count=config.uid_count,
            cpu_quota=config.cpu_quota,
            server_id=str(os.getpid()),
        )
        self.layers = LayerService(config, self.code, LayerStore(self.database))
        self.invoker = Invoker(config, self.backend, self.logs, self.runtimes)
        self.invoker.opt_dir = self.layers.opt_dir
        self.functions = FunctionService(
            config, Store(self.database), self.code, self.invoker, self.runtimes, self.layers
        )
        self.invoker.snapshots.on_state = self.functions.snapshot_settled
        self.invocations = Invocations(self.functions, self.invoker)
        self.provisioned = ProvisionedConcurrency(self.functions)
        self.functions.deletion_listeners.append(self.provisioned.forget)
        settings = QueueSettings.from_env()
        if config.sqs_endpoint:
            settings = dataclasses.replace(settings, sqs_endpoint=config.sqs_endpoint)
        self.events = EventQueue(config, data, self.invocations, self.functions, settings)
        self.functions.deletion_listeners.append(self.events.function_deleted)
        self.logs_api = LogsApi(config, self.logs)
        rules = RuleStore(self.database)
        rules.adopt(data / "schedules.db")
        self.schedules = Schedules(config, rules, self.functions)
        self.scheduler = Scheduler(self.schedules, self.functions, self.events)
        self.resources = ResourceStore(self.database)
        self.policies = PolicyService(self.functions, self.resources)
        self.urls = UrlService(self.functions, self.resources)
        self.route_tables = RouteTables(self.functions, self.resources)
        gateway = HttpGateway(self.invocations, self.policies)
        model = ServiceModel()
        api = LambdaApi(
            model,
            handlers(self.functions, self.invocations, self.provisioned, self.events, self.urls, self.policies),
            [recursion_guard(self.policies)],
        )
        streaming = ResponseStreamInvoke(model, self.invocations, self.policies)
        front = HttpFront(self.urls, self.route_tables, gateway, streaming)
        platform = PlatformApi(
            [
                self._own_routes,
                route_tables_mount(self.route_tables),
                schedules_mount(self.schedules),
                counters_mount(self.events),
            ]
        )
        # every API on the port, in the order they are asked; the Lambda API takes the rest
        self.app = Dispatcher([front, LogsService(self.logs_api), platform, ConsoleAssets()], fallback=api)
        self.http_protocol = protocol_class([invoke_lane(api, front.owns)])

    def _own_routes(self, request: RawRequest) -> Awaitable[Reply] | None:
        if request.method == "GET" and request.path == "/health":
            return self._health()
        if request.method == "GET" and request.path == "/kindling/environments":
            return self._environments()
        match = _CODE_PATH.match(request.path)
        if request.method == "GET" and match:
            return self._code(match.group(1))
        return None

    async def _health(self) -> Reply:
        body = {
            "status": "ok",
            "auth": "open",  # no signature is checked yet; the console asks for a key when this says otherwise
            "sandbox": self.backend.name,
            "runtimes": sorted(self.runtimes),
            "functions": len(self.functions.list()),
        }
        return Reply(200, json.dumps(body).encode())

    async def _environments(self) -> Reply:
        described = {"Environments": self.invoker.environments(), "Templates": self.invoker.snapshots.described()}
        return Reply(200, json.dumps(described).encode())

    async def _code(self, sha256_hex: str) -> Reply:
        if not self.code.exists(sha256_hex):
            return Reply(404, b'{"Message": "Code not found"}')
        return Reply(200, self.code.read(sha256_hex), content_type=b"application/zip")

    async def serve(self) -> None:
        self.invoker.start()
        self.provisioned.start()
        await self.events.start()
        flusher = asyncio.create_task(self.logs.flush_forever())
        self.scheduler.start()
        for runtime in self.runtimes.values():
            await self.backend.prewarm(runtime)
        server = _HttpServer(
            uvicorn.Config(
                self.app,
                host=self.config.host,
                port=self.config.port,
                lifespan="off",
                access_log=False,
                log_level="warning",
                http=self.http_protocol,
                proxy_headers=False,
                server_header=False,
                timeout_graceful_shutdown=30,
            ),
            on_stop=self.events.pause,  # queued events wait for the next start instead of starting now
        )
        log.info(
            "Kindling serving the Lambda API on %s (sandbox: %s, runtimes: %s)",
            self.config.endpoint,
            self.backend.name,
            ", ".join(sorted(self.runtimes)) or "none",
        )
        try:
            await server.serve()
        finally:
            log.info("stopping: reclaiming execution environments")
            flusher.cancel()
            await self.events.close()
            await self.invoker.close()
            self.logs.flush()
            await self.backend.close()
            self.database.close()
            log.info("stopped")


def raise_file_limit() -> None:
    """Each environment holds a few descriptors in the server: allow thousands of them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run(config: Config) -> None:
    import uvloop

    raise_file_limit()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(Kindling(config).serve())
