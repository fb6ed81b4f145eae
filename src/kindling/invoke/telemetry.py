"""The Telemetry API (``PUT /2022-07-01/telemetry``): records delivered to an extension's HTTP listener.

A subscription buffers ``{"time", "type", "record"}`` items and POSTs them as one JSON array when
``maxItems`` or ``maxBytes`` is reached or ``timeoutMs`` after the first one, off the invoke path.
Records from the start of init are kept until init ends, so a subscription made during init still
sees ``platform.initStart``. Destinations are loopback only (``sandbox.localdomain`` is 127.0.0.1:
sandboxes share the host network), and a batch is posted only to a listener owned by the
environment's uid, so an extension cannot make the server talk to anybody else's port.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from urllib.parse import urlsplit

from ..logs.platform import PlatformLog
from ..logs.streams import iso_now
from .connection import Reply, error_reply, socket_owner

log = logging.getLogger("kindling.invoke")
SCHEMAS = ("2022-07-01", "2022-12-13")
TYPES = ("platform", "function", "extension")
LOOPBACK = {"sandbox.localdomain": "127.0.0.1", "sandbox": "127.0.0.1", "localhost": "127.0.0.1"}
LIMITS = {
    "maxItems": (1000, 10_000, 10_000),
    "maxBytes": (262_144, 1_048_576, 262_144),
    "timeoutMs": (25, 30_000, 1000),
}
EARLY_ITEMS = 1000  # records kept from init until the first subscription


def _invalid(message: str) -> Reply:
    return error_reply(400, "ValidationError", message)


class _Subscription:
    def __init__(self, host: str, port: int, path: str, types: set[str], buffering: dict[str, int], uid: int) -> None:
        self.host, self.port, self.path = host, port, path or "/"
        self.types = types
        self.max_items, self.max_bytes, self.timeout_ms = (buffering[k] for k in LIMITS)
        self.uid = uid
        self._items: list[bytes] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    def add(self, item: bytes) -> None:
        self._items.append(item)
        self._size += len(item)
        if len(self._items) >= self.max_items or self._size >= self.max_bytes:
            self._start_flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.timeout_ms / 1000, self._start_flush)

    def _start_flush(self) -> None:
        task = asyncio.get_running_loop().create_task(self.flush())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        async with self._lock:  # one batch at a time, in order
            batch, self._items, self._size = self._items, [], 0
            if batch:
                await self._post(b"[" + b",".join(batch) + b"]")

    async def _post(self, body: bytes) -> None:
        host = LOOPBACK.get(self.host, self.host)
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        writer = None
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, self.port), 2)
            ours, theirs = writer.get_extra_info("sockname"), writer.get_extra_info("peername")
            if socket_owner(theirs, ours) != self.uid:
                log.warning("telemetry: %s:%s is not the environment's own listener; dropped", host, self.port)
                return
            writer.write(head.encode("latin-1") + body)
            await asyncio.wait_for(reader.read(), 5)  # the listener's reply, to its end
        except (OSError, TimeoutError) as error:
            log.info("telemetry: delivery to %s:%s failed: %s", host, self.port, error)
        finally:
            if writer is not None:
                writer.close()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for task in self._tasks:
            task.cancel()


class Telemetry:
    """The subscriptions of one environment's extensions, by extension identifier."""

    def __init__(self, uid: int) -> None:
        self.uid = uid
        self.subscriptions: dict[str, _Subscription] = {}
        self._early: list[tuple[str, bytes]] | None = []
        # platform.start, runtimeDone and report exactly as the JSON log format writes them
        self.platform = PlatformLog("INFO", lambda text: self._add("platform", text.encode()))

    def subscribe(self, identifier: str, body: bytes) -> Reply:
        try:
            request = json.loads(body)
        except ValueError:
            return _invalid("The body is not JSON")
        if not isinstance(request, dict):
            return _invalid("The body must be a JSON object")
        if request.get("schemaVersion") not in SCHEMAS:
            return _invalid(f"schemaVersion must be one of {', '.join(SCHEMAS)}")
        types = request.get("types")
        if not isinstance(types, list) or not types or any(t not in TYPES for t in types):
            return _invalid(f"types must be a non-empty list of {', '.join(TYPES)}")
        buffering = request.get("buffering") or {}
        if not isinstance(buffering, dict):
            return _invalid("buffering must be an object")
        limits: dict[str, int] = {}
        for key, (low, high, default) in LIMITS.items():
            value = buffering.get(key, default)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                return _invalid(f"buffering.{key} must be an integer from {low} to {high}")
            limits[key] = value
        destination = request.get("destination") or {}
        if not isinstance(destination, dict) or destination.get("protocol") != "HTTP":
            return _invalid("destination.protocol must be HTTP (TCP is not supported by Kindling)")
        uri = urlsplit(str(destination.get("URI", "")))
        try:
            port = uri.port or 80
        except ValueError:
            return _invalid("destination.URI has an invalid port")
        if uri.scheme != "http" or (uri.hostname or "") not in {*LOOPBACK, "127.0.0.1"}:
            return _invalid("destination.URI must be http://sandbox.localdomain:<port>/...")
        subscription = _Subscription(uri.hostname or "", port, uri.path, set(types), limits, self.uid)
        if old := self.subscriptions.pop(identifier, None):
            old.close()
        self.subscriptions[identifier] = subscription
        for kind, item in self._early or ():
            if kind in subscription.types:
                subscription.add(item)
        return 200, {}, b"OK"

    def emit(self, kind: str, record: object, at: str = "") -> None:
        """One record of type ``kind`` (``function``, ``extension``, ``platform.start``, ...)."""
        self._add(
            kind.partition(".")[0], json.dumps({"time": at or iso_now(), "type": kind, "record": record}).encode()
        )

    def _add(self, category: str, item: bytes) -> None:
        if self._early is not None and len(self._early) < EARLY_ITEMS:
            self._early.append((category, item))
        for subscription in self.subscriptions.values():
            if category in subscription.types:
                subscription.add(item)

    def platform_init(self, started_at: str, kind: str, duration_ms: float, error_type: str | None) -> None:
        """The init phase's three records, once it is over; init's own records stay queued until then."""
        phase = {"initializationType": kind, "phase": "init"}
        status = {"status": "error", "errorType": error_type} if error_type else {"status": "success"}
        self.emit("platform.initStart", phase, started_at)
        self.emit("platform.initRuntimeDone", {**phase, **status})
        self.emit("platform.initReport", {**phase, **status, "metrics": {"durationMs": round(duration_ms, 3)}})
        self._early = None

    async def flush(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.gather(*(s.flush() for s in self.subscriptions.values()))

    def close(self) -> None:
        for subscription in self.subscriptions.values():
            subscription.close()
        self.subscriptions.clear()
