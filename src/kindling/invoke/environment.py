"""One execution environment: a sandbox, the runtime process in it, its lifecycle.

Serves one invocation at a time over its runtime's channel (``runtime_channel.py``), whichever it
is. Knows how an invocation ends on Lambda (timeouts, crashes, out-of-memory, oversized responses)
and resets the runtime after a failure while keeping the sandbox and its ``/tmp``, as Lambda does.
The runtime's output goes through its ``LogPump``; START/END/REPORT are written by its ``Reporting``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..ids import request_id as new_request_id
from ..limits import RESPONSE_MAX
from ..logs.streams import LogStream, iso_now
from ..models import FunctionVersion, InvokeRequest, InvokeResult
from ..sandbox.contract import RuntimeProcess, Sandbox
from .extensions import Extensions
from .launch import launch
from .log_pump import LogPump
from .outcome import Outcome
from .reporting import Ended, Reporting
from .runtime_channel import RuntimeChannel, RuntimeGone
from .trace import next_hop

INIT_LIMIT_S = 10.0
RUNTIME_GO = b"g"  # to a sandbox with external extensions: start the runtime (see forkserver.py)


@dataclass(frozen=True)
class StreamingInvokeRequest(InvokeRequest):
    """An invocation whose result the runtime may send in pieces (``chunk`` frames) before it ends;
    each piece goes to ``on_chunk(header, body)`` the moment it arrives."""

    on_chunk: Callable[[dict, bytes], None] | None = None


class Environment:
    reporting_class = Reporting

    def __init__(self, env_id: str, version: FunctionVersion, sandbox: Sandbox, stream: LogStream) -> None:
        self.id = env_id
        self.version = version
        self.sandbox = sandbox
        self.stream = stream
        self.process: RuntimeProcess | None = None
        self.last_used = self.born = time.monotonic()
        self.invocations = 0
        self._channel: RuntimeChannel | None = None
        self._init_error: Outcome | None = None
        self.init_ms: float | None = None
        self.logs = LogPump(stream)
        self.reporting = self.reporting_class(version, self.logs.write, sandbox.max_memory_mb)
        self.extensions: Extensions | None = None  # the external extensions of the running runtime process
        self._unreported: Ended | None = None  # the END and REPORT owed for the last invocation
        self.on_post_runtime: Callable[[str, float], None] | None = None  # (function, ms): the metrics'

    # ------------------------------------------------------------- lifecycle
    @property
    def alive(self) -> bool:
        return self.process is not None and not self.process.exited.done()

    @property
    def initialised(self) -> bool:
        """Started and its init code ran without error: ready for an invocation without a cold start."""
        return self.alive and self._init_error is None

    async def start(self) -> None:
        """Start (or restart) the runtime and run the function's init code."""
        started = time.perf_counter()
        self._init_error = None
        spec = self.sandbox.spec
        if spec.extensions:  # served on a Runtime API port; the Python runtime keeps its private channel
            self.extensions = Extensions(spec.extensions, spec.environment, self.sandbox.uid, self.logs.write)
            if self.on_post_runtime is not None:
                self.extensions.post_runtime = functools.partial(self.on_post_runtime, self.version.name)
        self.process, self._channel = await self._launch()
        self.logs.attach(self.process.log_fd)
        if self.extensions is not None:
            self.logs.on_function_line = self.extensions.function_log
            self.extensions.watch(self.process)
            registered = asyncio.ensure_future(self.extensions.registered(self._init_limit_s()))
            waiting: set[asyncio.Future[Any]] = {registered, self.process.exited}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            registered.cancel()
            with contextlib.suppress(OSError):  # gone already: the exit is reported below
                self.process.control.send(RUNTIME_GO)  # as on Lambda, the runtime starts once its extensions registered
        await self._channel.attach(self.process)
        self.process.exited.add_done_callback(self._runtime_exited)
        try:
            first = await self._channel.next(self._init_limit_s())
        except RuntimeGone:
            self.init_ms = (time.perf_counter() - started) * 1000
            self._init_error = await self._exit_outcome("")
            return
        except TimeoutError:
            self.init_ms = (time.perf_counter() - started) * 1000
            message = f"Init timed out after {self.init_ms / 1000:.2f} seconds"
            self.logs.write(f"{iso_now()} {message}")
            self._init_error = Outcome.failed("Sandbox.Timedout", message, timeout=True)
            return
        if first.header["type"] == "init_error":
            self._init_error = Outcome(first.body, "Unhandled")
        elif self.extensions is not None:
            self._init_error = await self.extensions.ready(INIT_LIMIT_S + self.version.timeout)
        self.init_ms = (time.perf_counter() - started) * 1000
        if self.extensions is not None:
            self.extensions.init_over(self.init_ms, self._init_error)
        self.sandbox.limit_cpu()

    def _runtime_exited(self, _: object) -> None:
        if self._channel is not None:  # closed meanwhile: nothing is waiting on it
            self._channel.runtime_exited()

    async def _launch(self) -> tuple[RuntimeProcess, RuntimeChannel]:
        """The runtime's process, a fork of its zygote (a SnapStart environment: of its template), and its channel."""
        return await launch(self.sandbox, self.extensions)

    def _init_limit_s(self) -> float:
        return INIT_LIMIT_S + self.version.timeout

    async def _exit_outcome(self, request_id: str) -> Outcome:
        """Lambda's error for a runtime that is gone; the channel may close before the exit is known."""
        if self.process is not None:
            await asyncio.wait({self.process.exited}, timeout=2)
        code = self.process.exited.result() if self.process and self.process.exited.done() else -9
        if self.sandbox.was_oom_killed():
            error_type, reason = "Runtime.OutOfMemory", "signal: killed"
        elif code < 0:
            error_type, reason = "Runtime.ExitError", "signal: killed" if code == -9 else f"signal: {-code}"
        else:
            error_type, reason = "Runtime.ExitError", f"exit status {code}"
        message = f"RequestId: {request_id} Error: Runtime exited with error: {reason}"
        return Outcome.failed(error_type, message)

    def kill_runtime(self) -> None:
        if self.alive:
            assert self.process is not None
            self.sandbox.kill(self.process)

    async def _close_process(self, reason: str = "spindown") -> None:
        """Kill the runtime, after SHUTDOWN (``spindown``, ``timeout``, ``failure``) to its extensions."""
        self._report_owed()
        if self.process is None:
            return
        if self.extensions is not None and self.alive:
            await self.extensions.shutdown(reason)
        self.kill_runtime()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.process.exited), 5)
        self.logs.detach()
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self.extensions is not None:
            self.extensions.close()
            self.extensions = None
        self.process = None

    async def destroy(self) -> None:
        await self._close_process()
        self.stream.flush()
        self.stream.close()
        await self.sandbox.destroy()

    # ---------------------------------------------------------------- invoke
    async def invoke(self, request: InvokeRequest) -> InvokeResult:
        """Run one invocation, starting the runtime first when it is not running (cold start)."""
        self._report_owed()
        self.invocations += 1
        request_id = request.request_id or new_request_id()
        self.logs.keep_tail(request.log_tail)
        if self._channel is not None and self.alive:
            await self._channel.settle(self.version.timeout)  # a runtime that exits after its answer needs a new one
        if self.extensions is not None and self.alive:  # the last invocation ends when its extensions are done
            failure = await self.extensions.settle(self.version.timeout)
            if failure:
                await self._close_process("timeout" if failure == "timeout" else "failure")
        cold = not self.alive
        init_ms: float | None = None
        if cold:
            await self._close_process()
            await self.start()
            init_ms = self.init_ms
        began = time.perf_counter()
        if self._init_error is not None:
            self._log_start(request_id)
            outcome = self._init_error
            await self._close_process("failure")
        else:
            outcome = await self._run(request, request_id)
        duration = (time.perf_counter() - began) * 1000
        self.last_used = time.monotonic()
        ended = Ended(request_id, duration, init_ms, outcome)
        if not self.logs.keeps_tail and self.extensions is None:
            # the caller is answered first: END and REPORT are written before this environment does anything else
            self._unreported = ended
            asyncio.get_running_loop().call_soon(self._report_owed)
        else:
            self._log_end(ended)
        tail = self.logs.take_tail()
        return InvokeResult(outcome.body, self.version.version, outcome.function_error, tail, cold, duration, init_ms)

    def _log_start(self, request_id: str) -> None:
        self.reporting.start(request_id)
        if self.extensions is not None:
            self.extensions.start(request_id, self.version.version)

    def _log_end(self, ended: Ended) -> None:
        """The function's last lines, then END and REPORT (or their platform records) and the extensions' report."""
        self.logs.drain()
        used = self.reporting.end(ended)
        if self.extensions is not None:
            self.extensions.report(ended.request_id, ended.duration_ms, ended.init_ms, ended.outcome, used)

    def _report_owed(self) -> None:
        """The last invocation's END and REPORT, if they are still to be written."""
        ended, self._unreported = self._unreported, None
        if ended is not None:
            self._log_end(ended)

    async def _run(self, request: InvokeRequest, request_id: str) -> Outcome:
        assert self._channel is not None
        version = self.version
        header = {
            "type": "invoke",
            "request_id": request_id,
            "deadline_ms": int(time.time() * 1000 + version.timeout * 1000),
            "invoked_arn": request.invoked_arn,
            "client_context": request.client_context,
            "cognito_identity": request.cognito_identity,
            "trace_id": next_hop(request.trace_id, version.name),
        }
        on_chunk = request.on_chunk if isinstance(request, StreamingInvokeRequest) else None
        if on_chunk is not None:
            header["stream"] = True
            deadline = time.monotonic() + version.timeout
        self._channel.send(header, request.payload)
        self._log_start(request_id)  # while the runtime works; nothing else can write to the stream before it
        if self.extensions is not None:
            self.extensions.invoke(header)
        try:
            frame = await self._channel.next(version.timeout)
            if on_chunk is not None:
                while frame.header["type"] == "chunk":
                    on_chunk(frame.header, frame.body)
                    frame = await self._channel.next(max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            self.logs.write(f"{iso_now()} {request_id} Task timed out after {version.timeout:.2f} seconds")
            await self._close_process("timeout")
            message = f"RequestId: {request_id} Error: Task timed out after {version.timeout:.2f} seconds"
            return Outcome.failed("Sandbox.Timedout", message, timeout=True)
        except RuntimeGone:
            outcome = await self._exit_outcome(request_id)
            await self._close_process()
            return outcome
        outcome = Outcome.answered(frame)
        if len(outcome.body) > RESPONSE_MAX:
            message = f"Response payload size exceeded maximum allowed payload size ({RESPONSE_MAX} bytes)."
            return Outcome.failed("Function.ResponseSizeTooLarge", message, max_rss_kb=outcome.max_rss_kb)
        return outcome
