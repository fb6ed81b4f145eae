"""The Extensions API (``/2020-01-01/extension/...``) of one environment, for external extensions.

Extensions are the ``/opt/extensions/*`` executables, started in the sandbox just before the runtime
(``forkserver.py:start_extensions``), and speak HTTP on the runtime's own Runtime API port. This
object holds their lifecycle as Lambda defines it: init ends once the runtime and every extension
have called ``next``; each invocation's INVOKE goes to the extensions registered for it, and the
environment takes another event only once all of them are back in ``next``; at reset or reclaim
the SHUTDOWN event gives them 2,000 ms before everything is killed. The Telemetry API lives in
``telemetry.py``; its records are fed from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ..logs.streams import iso_now
from ..sandbox.contract import RuntimeProcess
from .connection import ACCEPTED, Connection, Listener, Reply, error_reply
from .outcome import Outcome
from .telemetry import Telemetry

PREFIX = "/2020-01-01/extension/"
SHUTDOWN_DEADLINE_S = 2.0
EVENTS = ("INVOKE", "SHUTDOWN")
_UNKNOWN_ID = error_reply(403, "Extension.UnknownExtensionIdentifier", "Unknown extension identifier")


@dataclass
class _Extension:
    name: str
    events: tuple[str, ...]
    queue: deque[bytes] = field(default_factory=deque)  # events not yet taken by a ``next``
    parked: Connection | None = None
    waiting: bool = False  # called ``next`` since its last event: done with it
    exited: bool = False


class Extensions:
    """The external extensions of one runtime process (a reset starts a new set)."""

    def __init__(
        self, files: tuple[str, ...], environment: dict[str, str], uid: int, log: Callable[[str], None]
    ) -> None:
        self.expected = {os.path.basename(path) for path in files}
        self.env = environment
        self.log = log  # the environment's log stream (and the invocation's tail)
        self.telemetry = Telemetry(uid)
        self.listener: Listener | None = None  # the port they are served on (the runtime's Runtime API)
        self.started_at = iso_now()
        self.by_id: dict[str, _Extension] = {}
        self.phase = "init"  # init -> ready -> shutdown
        self.failure = ""  # the error type that ends this environment: Extension.InitError / Extension.Crash
        self._changed = asyncio.Event()
        self._partial = b""
        # Lambda's PostRuntimeExtensionsDuration: from the runtime's answer until every extension is back in next
        self.post_runtime: Callable[[float], None] = lambda ms: None
        self._answered: float | None = None
        self._fds: list[int] = []

    # ------------------------------------------------------------ the process side
    def watch(self, process: RuntimeProcess) -> None:
        """Read the extensions' exit reports and output (their lines go to the log and to telemetry)."""
        loop = asyncio.get_running_loop()
        self._fds = [process.extension_exits, process.extension_log]
        for fd, handler in zip(self._fds, (self._on_exits, self._on_output), strict=True):
            os.set_blocking(fd, False)
            loop.add_reader(fd, handler, fd)

    def _read(self, fd: int) -> bytes:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return b""
        except OSError:
            chunk = b""
        if not chunk:
            asyncio.get_running_loop().remove_reader(fd)
        return chunk

    def _on_exits(self, fd: int) -> None:
        for line in self._read(fd).decode().splitlines():
            name, _, status = line.rpartition(" ")
            self._exited(name, int(status))

    def _on_output(self, fd: int) -> None:
        lines = (self._partial + self._read(fd)).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            text = line.decode("utf-8", "backslashreplace")
            self.log(text)
            self.telemetry.emit("extension", text)

    def _exited(self, name: str, status: int) -> None:
        for extension in self.by_id.values():
            if extension.name == name:
                extension.exited = True
        if self.phase != "shutdown" and not self.failure:
            crash = "Extension.InitError" if self.phase == "init" else "Extension.Crash"
            self.log(f"{iso_now()} {crash}: extension {name} exited with status {status}")
            self.failure = crash
        self._signal()

    def close(self) -> None:
        """After the kill: what the extensions wrote last (their SHUTDOWN work) still reaches the log."""
        loop = asyncio.get_running_loop()
        if self._fds:
            self._on_output(self._fds[1])
            if self._partial:
                self.log(self._partial.decode("utf-8", "backslashreplace"))
        for fd in self._fds:
            loop.remove_reader(fd)
            os.close(fd)
        self._fds = []
        self.telemetry.close()
        if self.listener is not None:
            self.listener.close()

    # ------------------------------------------------------------ the lifecycle (Environment)
    def _signal(self) -> None:
        self._changed.set()

    async def _until(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not done():
            self._changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return True

    def _all_waiting(self, events: str | None = None) -> bool:
        """Every extension (registered for ``events``) is back in ``next``, or gone, or one has failed."""
        return bool(self.failure) or all(
            e.waiting or e.exited for e in self.by_id.values() if events is None or events in e.events
        )

    def _all_registered(self) -> bool:
        return self.expected <= {e.name for e in self.by_id.values()}

    async def registered(self, timeout: float) -> None:
        """Until every external extension has registered (or one failed, or time ran out: ``ready`` reports
        it): Lambda starts the runtime only then, so what an extension sets up at init is there for it."""
        await self._until(lambda: bool(self.failure) or self._all_registered(), timeout)

    async def ready(self, timeout: float) -> Outcome | None:
        """Init ends when every extension has registered and called ``next``: None, or the init error."""
        ready = lambda: self._all_registered() and self._all_waiting()  # noqa: E731
        if not await self._until(lambda: bool(self.failure) or ready(), timeout):
            self.failure = "Extension.InitError"
            self.log(f"{iso_now()} Extension.InitError: extensions did not call next in time")
        self.phase = "ready"
        for extension in self.by_id.values():
            events = ",".join(extension.events)
            state = "Ready" if extension.waiting else "InitError"
            self.log(f"EXTENSION\tName: {extension.name}\tState: {state}\tEvents: [{events}]")
        if not self.failure:
            return None
        return Outcome.failed(self.failure, f"Extension initialization failed: {self.failure}")

    def init_over(self, init_ms: float, error: Outcome | None) -> None:
        error_type = json.loads(error.body).get("errorType") if error is not None else None
        kind = self.env.get("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        self.telemetry.platform_init(self.started_at, kind, init_ms, error_type)

    def start(self, request_id: str, version: str) -> None:
        """The invocation's ``platform.start``, once the runtime has it."""
        self.telemetry.platform.start(request_id, version)

    def function_log(self, line: str) -> None:
        """A line the function wrote, for the subscribers to ``function`` records."""
        self.telemetry.emit("function", line)

    def report(self, request_id: str, duration: float, init_ms: float | None, outcome: Outcome, used_mb: int) -> None:
        """The invocation's ``platform.runtimeDone`` and ``platform.report``, with REPORT's numbers."""
        memory_mb = int(self.env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "0"))
        self._answered = time.monotonic()
        self._extensions_done()
        self.telemetry.platform.done(
            request_id, duration, init_ms, outcome.platform_status, outcome.error_type, memory_mb, used_mb
        )

    def invoke(self, header: dict) -> None:
        event = {
            "eventType": "INVOKE",
            "deadlineMs": header["deadline_ms"],
            "requestId": header["request_id"],
            "invokedFunctionArn": header["invoked_arn"],
            "tracing": {"type": "X-Amzn-Trace-Id", "value": header.get("trace_id") or ""},
        }
        self._send("INVOKE", event)

    async def settle(self, timeout: float) -> str:
        """Wait until the extensions are done with the last invocation: '' or the error that resets them."""
        if not await self._until(lambda: self._all_waiting("INVOKE"), timeout):
            self.log(f"{iso_now()} Extensions did not return to next within {timeout:.2f} seconds")
            return "timeout"
        return self.failure

    async def shutdown(self, reason: str) -> None:
        """SHUTDOWN to the extensions registered for it; back in ``next`` (or gone) within 2,000 ms."""
        if self.phase == "shutdown":
            return
        self.phase = "shutdown"
        await self.telemetry.flush()
        deadline_ms = int(time.time() * 1000 + SHUTDOWN_DEADLINE_S * 1000)
        self._send("SHUTDOWN", {"eventType": "SHUTDOWN", "shutdownReason": reason, "deadlineMs": deadline_ms})
        self.failure = ""  # from here on only the replies to SHUTDOWN count
        await self._until(lambda: self._all_waiting("SHUTDOWN"), SHUTDOWN_DEADLINE_S)

    def _send(self, kind: str, event: dict) -> None:
        body = json.dumps(event).encode()
        for extension in self.by_id.values():
            if kind in extension.events and not extension.exited:
                extension.queue.append(body)
                extension.waiting = False
                if extension.parked is not None:
                    connection, extension.parked = extension.parked, None
                    self._hand_out(extension, connection)

    # ------------------------------------------------------------ the HTTP side (the extensions)
    def forget(self, connection: Connection) -> None:
        for extension in self.by_id.values():
            if extension.parked is connection:
                extension.parked = None

    def dispatch(self, connection: Connection, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        if path.startswith("/2022-07-01/telemetry"):
            if method != "PUT":
                connection.reply(*error_reply(405, "InvalidRequest", "Use PUT to subscribe"))
            elif headers.get("lambda-extension-identifier") not in self.by_id:
                connection.reply(*_UNKNOWN_ID)
            else:
                connection.reply(*self.telemetry.subscribe(headers["lambda-extension-identifier"], body))
            return
        route = path[len(PREFIX) :]
        if method == "POST" and route == "register":
            connection.reply(*self._register(headers, body))
            return
        extension = self.by_id.get(headers.get("lambda-extension-identifier", ""))
        if route not in ("event/next", "init/error", "exit/error"):
            connection.reply(*error_reply(404, "InvalidRequest", "Unknown Extensions API path"))
        elif extension is None:
            connection.reply(*_UNKNOWN_ID)
        elif method == "GET" and route == "event/next":
            self._next(extension, connection)
        elif method == "POST":
            connection.reply(*self._report_error(extension, route, headers))
        else:
            connection.reply(*error_reply(405, "InvalidRequest", f"{method} is not allowed on {route}"))

    def _register(self, headers: dict[str, str], body: bytes) -> Reply:
        name = headers.get("lambda-extension-name", "")
        if not name:
            return error_reply(400, "InvalidRequest", "Missing Lambda-Extension-Name header")
        if self.phase != "init":
            return error_reply(403, "Extension.InvalidStateTransition", "Extensions register during init only")
        if any(e.name == name for e in self.by_id.values()):
            return error_reply(409, "Extension.AlreadyRegistered", f"Extension {name} is already registered")
        try:
            events = json.loads(body or b"{}").get("events", [])
        except (ValueError, AttributeError):
            events = None
        if not isinstance(events, list) or any(event not in EVENTS for event in events):
            return error_reply(400, "InvalidRequest", f"events must be a list of {', '.join(EVENTS)}")
        if name not in self.expected and "SHUTDOWN" in events:
            return error_reply(
                400, "ShutdownEventNotSupportedForInternalExtension", "Internal extensions get INVOKE only"
            )
        identifier = str(uuid.uuid4())
        self.by_id[identifier] = _Extension(name, tuple(e for e in EVENTS if e in events))
        reply = {
            "functionName": self.env.get("AWS_LAMBDA_FUNCTION_NAME", ""),
            "functionVersion": self.env.get("AWS_LAMBDA_FUNCTION_VERSION", ""),
            "handler": self.env.get("_HANDLER", ""),
        }
        if "accountId" in headers.get("lambda-extension-accept-feature", ""):
            reply["accountId"] = self.env.get("KINDLING_ACCOUNT_ID", "000000000000")
        return 200, {"Lambda-Extension-Identifier": identifier}, json.dumps(reply).encode()

    def _next(self, extension: _Extension, connection: Connection) -> None:
        if extension.queue:
            self._hand_out(extension, connection)
            return
        extension.waiting = True
        if extension.parked is not None and extension.parked.transport is not None:
            extension.parked.transport.close()  # a newer ``next`` wins
        extension.parked = connection
        self._extensions_done()
        self._signal()

    def _extensions_done(self) -> None:
        """Once the extensions are done with an answered invocation: how long their post-invoke work took."""
        if self._answered is not None and self._all_waiting("INVOKE"):
            self.post_runtime((time.monotonic() - self._answered) * 1000)
            self._answered = None

    def _hand_out(self, extension: _Extension, connection: Connection) -> None:
        headers = {"Lambda-Extension-Event-Identifier": str(uuid.uuid4())}
        connection.reply(200, headers, extension.queue.popleft())

    def _report_error(self, extension: _Extension, route: str, headers: dict[str, str]) -> Reply:
        error_type = headers.get("lambda-extension-function-error-type", "Unknown")
        if route == "init/error" and self.phase != "init":
            return error_reply(403, "Extension.InvalidStateTransition", "Init errors can only be reported during init")
        failure = "Extension.InitError" if route == "init/error" else "Extension.ExitError"
        self.log(f"{iso_now()} {failure}: extension {extension.name} reported {error_type}")
        if self.phase != "shutdown":
            self.failure = self.failure or failure
        self._signal()
        return ACCEPTED
