"""Event source mappings at work: one ``EventSourcePoller`` per enabled mapping, started and stopped as the
mapping's state changes (``functions/event_sources.py`` tells ``Pollers`` of every change) and with the server.

Pollers reach their source with boto3 at ``config.endpoint_for(service)`` (this server, or the endpoint the
operator named), on daemon threads so a 20-second long poll never holds the event loop or the server's exit,
and invoke the function synchronously through ``Invocations``: a mapping handles its failures itself.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from ..config import Config
from ..functions.event_sources import SQS, EventSources, Mapping
from ..functions.invocations import Invocations
from ..invoke.role_keys import RoleKeys
from ..metrics.recorder import Recorder
from .sources import Blocking, EventSourcePoller, problem
from .sqs_poller import SqsPoller
from .stream_poller import StreamPoller

log = logging.getLogger("kindling.pollers")
RETRY_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)  # a mapping whose source cannot be reached tries again, less and less often


class Pollers:
    def __init__(self, config: Config, mappings: EventSources, invocations: Invocations) -> None:
        self.config = config
        self.mappings = mappings
        self.invocations = invocations
        self.blocking = Blocking()
        self._running: dict[str, EventSourcePoller] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._failures: dict[str, int] = {}
        self._started = False
        self.metrics: Recorder | None = None  # IteratorAge and the mappings' event counts, set by the server
        self.role_keys = RoleKeys(config.platform_keys)  # the functions' roles under --auth iam, set by the server
        mappings.listeners.append(self.changed)

    def client(self, service: str, region: str, role: str | None = None) -> Any:
        """A boto3 client for the source (called on a poller thread: making one takes tens of ms). On the
        services of the port (no credentials in the server's environment) it signs as the function's role."""
        session = boto3.session.Session()
        if session.get_credentials() is None:
            session = boto3.session.Session(botocore_session=self.role_keys.session(role))
        return session.client(
            service,
            endpoint_url=self.config.endpoint_for(service),
            region_name=region,
            config=BotoConfig(retries={"max_attempts": 2}, read_timeout=30, max_pool_connections=50),
        )

    def start(self) -> None:
        self._started = True
        for mapping in list(self.mappings.mappings.values()):
            self.changed(mapping)

    def changed(self, mapping: Mapping) -> None:
        if not self._started:
            return
        task = asyncio.get_running_loop().create_task(self._apply(mapping), name=f"mapping-{mapping.uuid}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _apply(self, mapping: Mapping) -> None:
        """Stop what runs, start what the mapping now asks for, then let it reach its resting state."""
        lock = self._locks.setdefault(mapping.uuid, asyncio.Lock())
        async with lock:
            running = self._running.pop(mapping.uuid, None)
            if running is not None:
                await running.stop()
            if mapping.enabled and not mapping.deleting:
                poller = self._poller(mapping)
                try:
                    await poller.start()
                    self._running[mapping.uuid] = poller
                    self._failures.pop(mapping.uuid, None)
                except Exception as error:  # the source is unreachable: the mapping says so, and tries again
                    log.warning("event source mapping %s could not start: %s", mapping.uuid, error)
                    self.mappings.processed(mapping.uuid, problem(mapping.kind, error))
                    self._retry(mapping.uuid)
            self.mappings.settled(mapping.uuid)
            if mapping.deleting:
                self._locks.pop(mapping.uuid, None)

    def _retry(self, uuid: str) -> None:
        """Starts the mapping again later, unless it was changed, deleted or started meanwhile (the source may
        be this very server, not listening yet while it starts, or a service that is down for a while)."""
        failures = self._failures[uuid] = self._failures.get(uuid, 0) + 1

        async def later() -> None:
            await asyncio.sleep(RETRY_S[min(failures, len(RETRY_S)) - 1])
            mapping = self.mappings.mappings.get(uuid)
            if mapping is not None and uuid not in self._running and self._failures.get(uuid) == failures:
                self.changed(mapping)

        task = asyncio.get_running_loop().create_task(later(), name=f"mapping-retry-{uuid}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _poller(self, mapping: Mapping) -> EventSourcePoller:
        return SqsPoller(mapping, self) if mapping.kind == SQS else StreamPoller(mapping, self)

    async def close(self) -> None:
        self._started = False
        for task in list(self._tasks):
            task.cancel()
        running, self._running = self._running, {}
        await asyncio.gather(*(poller.stop() for poller in running.values()), return_exceptions=True)
