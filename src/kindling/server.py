"""Composition root: the only place that builds the parts and wires them together.

Config -> store, code store, logs -> sandbox backend -> invoker -> function service -> API.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import functools
import json
import logging
import os
import re
import resource
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator

import uvicorn

from .api.app import LambdaApi
from .api.dispatch import Dispatcher, Service
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
from .api.routes.signing import signing_profiles_mount
from .api.routes.streaming import ResponseStreamInvoke
from .auth.audit import AuditTrail, Event
from .auth.directory import Directory
from .auth.gate import Caller, Gate
from .auth.identities import Identities, root_keys
from .auth.lambda_access import LambdaAccess
from .auth.sigv4 import AuthFailure
from .auth.trail_api import TrailApi, users_mount
from .code import CodeStore
from .config import Config
from .console.assets import ConsoleAssets
from .errors import AwsError
from .events.queue import EventQueue
from .events.settings import QueueSettings
from .functions.event_sources import EventSources
from .functions.invocations import Invocations
from .functions.layers import LayerService
from .functions.policy import PolicyService
from .functions.provisioned import ProvisionedConcurrency
from .functions.routes import RouteTables
from .functions.schedules import RuleStore, Schedules
from .functions.service import FunctionService
from .functions.settings import FunctionSettings
from .functions.signing import CodeSigning
from .functions.urls import UrlService
from .ids import request_id
from .images import ImageStore
from .invoke.credentials import FunctionCredentials
from .invoke.invoker import Invoker
from .invoke.role_keys import RoleKeys
from .logs.streams import LogStore
from .metrics.part import MetricsPart
from .models import InvokeRequest
from .runtimes import architectures
from .runtimes.registry import discover
from .sandbox.bridge import EndpointBridge, reachable_host
from .sandbox.contract import SandboxBackend
from .sandbox.egress import EgressProxy
from .sandbox.namespaces import NamespacesBackend
from .sandbox.process import ProcessBackend
from .services.access import ServiceAccess
from .services.adapter import AwsServices
from .services.deliveries import LambdaDeliveries
from .services.ec2_network import Ec2Network
from .services.kms_keys import KmsKeys
from .services.secrets_extension import PARAMETERS_PATH, SECRETS_PATH, LocalPort, SecretsExtension, extension_port
from .store.db import Store
from .store.event_sources import MappingStore
from .store.layers import LayerStore
from .store.resources import ResourceStore
from .store.sealed import Sealer, master_key
from .store.settings import SettingsStore
from .store.signing import SigningStore
from .store.sqlite import Database
from .triggers.http.front import HttpFront
from .triggers.http.serve import HttpGateway
from .triggers.pollers import Pollers
from .triggers.schedules import Scheduler
from .web import RawRequest, Reply

log = logging.getLogger("kindling")
_CODE_PATH = re.compile(r"^/kindling/code/([0-9a-f]{64})\.zip$")


def choose_backend(config: Config) -> SandboxBackend:
    """The sandbox backend ``--sandbox`` asks for; ``auto`` takes namespaces whenever the host allows it."""
    capable = sys.platform.startswith("linux") and os.geteuid() == 0
    if config.sandbox == "namespaces" and not capable:
        raise SystemExit("the namespaces sandbox needs Linux and root; use --sandbox process")
    if config.egress and (config.sandbox == "process" or not capable):  # an allowlist is never ignored
        raise SystemExit("--egress needs the namespaces sandbox (Linux and root)")
    if any(port == config.port for rules in config.egress.values() for _, port in rules):
        raise SystemExit(f"--egress: port {config.port} is the endpoint's own inside a function's namespace")
    if config.sandbox == "process" or not capable:
        log.warning(
            "*** sandbox 'process': functions run as plain processes WITHOUT isolation "
            "(no namespaces, no cgroups, same user as the server) ***"
        )
        return ProcessBackend(config.data_dir)
    return NamespacesBackend(
        config.data_dir,
        uid_base=config.uid_base,
        uid_count=config.uid_count,
        cpu_quota=config.cpu_quota,
        cpu_priority=config.cpu_priority,
        server_id=str(os.getpid()),
    )


class _HttpServer(uvicorn.Server):
    """uvicorn re-raises SIGTERM after its shutdown, which would kill us before our own cleanup;
    here a first signal asks for a graceful stop and a second one forces it."""

    def __init__(self, config: uvicorn.Config, on_stop: Callable[[], None], on_listening: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_stop = on_stop
        self.on_listening = on_listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.on_listening()

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
        data = config.data_dir
        data.mkdir(parents=True, exist_ok=True)
        os.chmod(data, 0o711)
        # the root identity: the platform's own clients of the services on its port sign with it too
        root_key, root_secret, self.credentials_path = root_keys(data)
        self.config = config = dataclasses.replace(config, platform_keys=(root_key, root_secret))
        self.database = Database(data / "kindling.db")  # every table group below shares this connection
        self.code = CodeStore(data / "code")
        self.logs = LogStore(data / "logs")
        self.metrics = MetricsPart(config, self.database)
        self.logs.on_json = self.metrics.log_line  # Embedded Metric Format lines become custom metrics
        self.runtimes = discover(config.runtime_paths)
        if not self.runtimes:
            log.warning("no Python interpreter found for python3.11, python3.12 or python3.13")
        self.backend = choose_backend(config)
        self.bridge = None
        self.egress = None
        if (not config.network or config.egress) and isinstance(self.backend, NamespacesBackend):
            self.bridge = EndpointBridge(self.backend.root, config.host, config.port)  # the endpoint stays reachable
            self.backend.bridge = (str(self.bridge.path), config.port)
            self.bridge.on_datagram = self.metrics.xray.datagram  # the X-Ray daemon's port, from inside
            self.egress = EgressProxy(self.bridge.path.parent, list(config.egress.values()))  # --egress allowlists
            self.backend.egress = {rules: str(path) for rules, path in self.egress.paths.items()}
        self.layers = LayerService(config, self.code, LayerStore(self.database))
        self.invoker = Invoker(config, self.backend, self.logs, self.runtimes, self.metrics.recorder)
        self.invoker.opt_dir = self.layers.opt_dir
        if config.otlp_endpoint:
            self.invoker.tracing.export_to(config.otlp_endpoint)
        self.invoker.tracing.on_segments = self.metrics.xray.record  # sampled invocations' X-Ray segments
        images = ImageStore(data / "images") if isinstance(self.backend, NamespacesBackend) else None
        self.functions = FunctionService(
            config,
            Store(self.database, Sealer(master_key(data))),
            self.code,
            self.invoker,
            self.runtimes,
            self.layers,
            images,
        )
        self.invoker.snapshots.on_state = self.functions.snapshot_settled
        self.invocations = Invocations(self.functions, self.invoker)
        self.provisioned = ProvisionedConcurrency(self.functions)
        self.functions.deletion_listeners.append(self.provisioned.forget)
        settings = dataclasses.replace(QueueSettings.from_env(), sqs_keys=config.platform_keys)
        if config.sqs_endpoint or not settings.sqs_endpoint:  # by default, the SQS served on this port
            settings = dataclasses.replace(settings, sqs_endpoint=config.endpoint_for("sqs"))
        self.events = EventQueue(config, data, self.invocations, self.functions, settings)
        self.events.destinations.sqs.sns_endpoint = config.endpoint_for("sns")
        self.functions.deletion_listeners.append(self.events.function_deleted)
        self.events.metrics = self.metrics.recorder
        self.metrics.act_with(self._alarm_action)
        self.metrics.prometheus.internals = self._internals
        self.metrics.usage.read_provisioned = self.invoker.provisioned_allocations
        if isinstance(self.backend, NamespacesBackend) and self.backend.cgroups is not None:
            self.metrics.usage.read_environments = self.backend.cgroups.usage
        self.logs_api = LogsApi(config, self.logs)
        rules = RuleStore(self.database)
        rules.adopt(data / "schedules.db")
        self.schedules = Schedules(config, rules, self.functions)
        self.scheduler = Scheduler(self.schedules, self.functions, self.events)
        self.resources = ResourceStore(self.database)
        self.policies = PolicyService(self.functions, self.resources)
        self.signing = CodeSigning(self.functions, SigningStore(self.database))
        self.functions.code_gate = self.signing
        self.policies.recursion_dropped = functools.partial(self.metrics.recorder.count, "RecursiveInvocationsDropped")
        self.urls = UrlService(self.functions, self.resources)
        self.route_tables = RouteTables(self.functions, self.resources)
        self.mappings = EventSources(config, MappingStore(self.database), self.functions)
        self.pollers = Pollers(config, self.mappings, self.invocations)
        self.pollers.metrics = self.metrics.recorder
        model = ServiceModel()
        self.directory = Directory(config.account_id)  # the IAM API's users and roles, and role sessions
        self.identities = Identities(self.database, config.account_id, root_key, root_secret, self.directory)
        self.invoker.credentials = FunctionCredentials(self.directory)
        if config.auth == "iam":  # mappings and async destinations act as the function's role, as on AWS
            acting = RoleKeys(config.platform_keys, self.directory, self.invoker.credentials)
            self.pollers.role_keys = self.events.destinations.sqs.role_keys = acting
        self.trail = AuditTrail(
            data, config.audit_retention_days
        )  # a database of its own: the functions' data and the trail part ways
        access = LambdaAccess(
            config.region,
            config.account_id,
            self.identities,
            lambda name, qualifier: self.policies.statements(name, qualifier or "$LATEST"),
            self.trail,
            enforce=config.auth == "iam",
            assumable=self.directory.lambda_may_assume,
            role_of=self._function_role,
        )
        gateway = HttpGateway(self.invocations, self.policies, access.url_allowed)
        api = LambdaApi(
            model,
            handlers(
                self.functions,
                self.invocations,
                self.provisioned,
                self.events,
                self.urls,
                self.policies,
                FunctionSettings(self.functions, SettingsStore(self.database)),
                self.signing,
                self.mappings,
            ),
            [recursion_guard(self.policies)],
            access,
        )
        streaming = ResponseStreamInvoke(model, self.invocations, self.policies, access)
        front = HttpFront(self.urls, self.route_tables, gateway, streaming)
        platform = PlatformApi(
            [
                self._own_routes,
                route_tables_mount(self.route_tables),
                schedules_mount(self.schedules),
                counters_mount(self.events),
                signing_profiles_mount(self.signing),
                users_mount(self.identities, access.require),
                self.metrics.cost_route,
            ]
        )
        # S3, SQS, DynamoDB... (moto) on the same port, their Lambda notifications through the event queue
        self.services = AwsServices(config, data, LambdaDeliveries(self.functions, self.events, self.policies))
        self.services.access = ServiceAccess(access, self.directory, config.region, config.account_id)
        self.services.on_iam_change = self.directory.publish
        self.functions.keys.keys = KmsKeys(self.services)  # KMSKeyArn: the keys of the KMS on the port
        self.functions.vpc.network = Ec2Network(self.services)  # VpcConfig: the subnets of the EC2 on the port
        self.extension_port = LocalPort(extension_port(), (reachable_host(config.host), config.port), config.tls_cert)
        # every API on the port, in the order they are asked; the Lambda API takes the rest
        services: list[Service] = [TrailApi(self.trail, access.require), front, LogsService(self.logs_api)]
        services += [self.metrics.cloudwatch, self.metrics.prometheus, self.metrics.xray_api, self.services]
        services += [platform, ConsoleAssets(), SecretsExtension(self.services, self.directory)]
        dispatcher = Dispatcher(services, fallback=api)

        def public(scope: dict) -> bool:
            """Doors whose own rules decide (function URLs by AuthType, route tables), and the health check."""
            path: str = scope["path"]
            if path in ("/health", SECRETS_PATH, PARAMETERS_PATH) or path.startswith(("/kindling/code/", "/console")):
                return True
            return front.claims(scope) and not path.startswith("/2021-11-15/")

        # the front of the port: every request is authenticated before the dispatcher sees it
        self.app = Gate(dispatcher, self.identities, config.auth == "iam", public, self._refused)
        self.http_protocol = protocol_class([self.app.lane(invoke_lane(api, front.owns))])

    def _function_role(self, name: str) -> str | None:
        try:
            entry, qualifier = self.functions.lookup(name)
        except AwsError:
            return None
        return self.functions.record(entry, qualifier).role

    def _refused(self, caller: Caller, method: str, path: str, failure: AuthFailure, request_id: str) -> None:
        params = {"method": method, "path": path}
        event = Event("kindling", "RequestRefused", caller, self.config.region, request_id, params)
        event.error_code, event.error_message = failure.code, failure.message
        self.trail.record(event)

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
            "auth": self.config.auth,  # the console asks for a key pair unless this says "open"
            "sandbox": self.backend.name,
            "runtimes": sorted(self.runtimes),
            "architectures": sorted(architectures.runnable()),  # the foreign one only emulated, for custom runtimes
            "functions": len(self.functions.list_functions()),
        }
        prestarts = getattr(self.backend, "prestarts", None)  # the namespaces backend's (sandbox/prestart.py)
        if prestarts is not None:
            body["prestarted"] = prestarts.ready()
        return Reply(200, json.dumps(body).encode())

    async def _environments(self) -> Reply:
        described = {"Environments": self.invoker.environments(), "Templates": self.invoker.snapshots.described()}
        return Reply(200, json.dumps(described).encode())

    def _internals(self) -> dict:
        """The platform's state for ``GET /metrics``: environments by state, zygote spares, the async queue."""
        states = collections.Counter(
            "provisioned" if env["provisioned"] else "idle" for env in self.invoker.environments()
        )
        states.update(busy=self.invoker.limits.total_busy, template=len(self.invoker.snapshots.described()))
        queue = {
            name: {"depth": counters["QueueDepth"], "max_age_ms": counters["EventAgeAtStartMs"]["Max"]}
            for name, counters in self.events.counters.summary()["Functions"].items()
        }
        pool = self.backend.spares if isinstance(self.backend, NamespacesBackend) else None
        spares = pool.ready() if pool is not None else 0
        return {"environments": dict(states), "spares": spares, "queue": queue}

    def _stopping(self) -> None:
        self.events.pause()  # queued events wait for the next start instead of starting now
        self.services.stop_waiting()  # an SQS long poll (a mapping's) would hold the graceful shutdown up to 20 s

    async def _alarm_action(self, function_arn: str, payload: bytes) -> None:
        record, code_dir, invoked = self.functions.invoke_target(function_arn, None)
        await self.events.enqueue(record, code_dir, InvokeRequest(payload, invoked, request_id=request_id()))

    async def _code(self, sha256_hex: str) -> Reply:
        if not self.code.exists(sha256_hex):
            return Reply(404, b'{"Message": "Code not found"}')
        return Reply(200, self.code.read(sha256_hex), content_type=b"application/zip")

    async def _serve_extension(self) -> None:
        """The Parameters and Secrets extension's address in sandboxes: ``localhost:2773`` where they share the
        host's network and that port is ours; else the server's port (their loopback forwards it)."""
        credentials = self.invoker.credentials
        credentials.extension_port = self.config.port
        if self.config.network and self.extension_port.port and await self.extension_port.start():
            credentials.extension_port = self.extension_port.port

    async def serve(self) -> None:
        self.invoker.start()
        self.functions.start_pulls()
        self.provisioned.start()
        await self.events.start()
        await self.services.start()
        await self.metrics.start(reachable_host(self.config.host))
        flusher = asyncio.create_task(self.logs.flush_forever())
        self.scheduler.start()
        self.pollers.start()
        if self.bridge is not None:
            await self.bridge.start()
        if self.egress is not None:
            await self.egress.start()
        await self._serve_extension()
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
                ssl_certfile=self.config.tls_cert or None,
                ssl_keyfile=self.config.tls_key or None,
            ),
            on_stop=self._stopping,
            # stored events run once the port answers: their functions' SDK calls may come back to it
            on_listening=self.events.resume,
        )
        log.info(
            "Kindling serving the Lambda API on %s (sandbox: %s, runtimes: %s, architectures: %s, auth: %s)",
            self.config.endpoint,
            self.backend.name,
            ", ".join(sorted(self.runtimes)) or "none",
            ", ".join(sorted(architectures.runnable())),
            self.config.auth,
        )
        if self.credentials_path:
            log.info("root credentials: %s (profile %s)", self.credentials_path, "kindling")
        try:
            await server.serve()
        finally:
            log.info("stopping: reclaiming execution environments")
            flusher.cancel()
            await self.pollers.close()
            await self.events.close()
            await self.services.close()
            await self.invoker.close()
            await self.metrics.close()
            self.invoker.tracing.close()
            self.logs.flush()
            await self.backend.close()
            if self.bridge is not None:
                await self.bridge.close()
            if self.egress is not None:
                await self.egress.close()
            await self.extension_port.close()
            self.database.close()
            self.trail.close()
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
