"""One execution environment: a sandbox, the runtime process in it, its log stream.

Serves one invocation at a time over the private channel. Knows how Lambda reports what
happened (START/END/REPORT, timeouts, crashes, out-of-memory) and resets the runtime after a
failure while keeping the sandbox and its ``/tmp``, as Lambda does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from ..ids import request_id as new_request_id
from ..limits import RESPONSE_MAX
from ..logs.platform import PlatformLog, billed_ms
from ..logs.streams import LogStream, iso_now
from ..models import FunctionVersion, InvokeRequest, InvokeResult
from ..sandbox.backend import RuntimeProcess, Sandbox, kill_process
from .channel import ControlChannel, Outcome, RuntimeGone
from .extensions import Extensions
from .runtime_api import RuntimeApi, start_runtime
from .trace import next_hop

TAIL_BYTES = 4096
INIT_LIMIT_S = 10.0
RUNTIME_GO = b"g"  # to a sandbox with external extensions: start the runtime (see forkserver.py)


@dataclass(frozen=True)
class StreamingInvokeRequest(InvokeRequest):
    """An invocation whose result the runtime may send in pieces (``chunk`` frames) before it ends;
    each piece goes to ``on_chunk(header, body)`` the moment it arrives."""

    on_chunk: Callable[[dict, bytes], None] | None = None


class _Ended(NamedTuple):
    """What END and REPORT say about one finished invocation."""

    request_id: str
    duration_ms: float
    init_ms: float | None
    outcome: Outcome


class Environment:
    def __init__(self, env_id: str, version: FunctionVersion, sandbox: Sandbox, stream: LogStream) -> None:
        self.id = env_id
        self.version = version
        self.sandbox = sandbox
        self.stream = stream
        self.process: RuntimeProcess | None = None
        self.last_used = time.monotonic()
        self.invocations = 0
        self._channel: ControlChannel | None = None
        self._partial = b""
        self._tail: deque[str] | None = None
        self._init_error: Outcome | None = None
        self.init_ms: float | None = None
        # LogFormat JSON: START/END/REPORT as platform records; None (Text) keeps the hot path as it was
        self._platform = PlatformLog(version.system_log_level, self._log) if version.log_format == "JSON" else None
        self.extensions: Extensions | None = None  # the external extensions of the running runtime process
        self._unreported: _Ended | None = None  # the END and REPORT owed for the last invocation

    # ------------------------------------------------------------------ logs
    def _log(self, message: str) -> None:
        self.stream.write(message)
        if self._tail is not None:
            self._tail.append(message)

    def _on_log_readable(self) -> None:
        assert self.process is not None
        try:
            chunk = os.read(self.process.log_fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            asyncio.get_running_loop().remove_reader(self.process.log_fd)
            self._flush_partial()
            return
        self._take_log(chunk)

    def _take_log(self, chunk: bytes) -> None:
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            self._function_log(line.decode("utf-8", "backslashreplace"))

    def _flush_partial(self) -> None:
        if self._partial:
            self._function_log(self._partial.decode("utf-8", "backslashreplace"))
            self._partial = b""

    def _function_log(self, line: str) -> None:
        self._log(line)
        if self.extensions is not None:
            self.extensions.telemetry.emit("function", line)

    def _drain_logs(self) -> None:
        """Take whatever the runtime wrote before it answered, so it lands before END."""
        if self.process is None:
            return
        with contextlib.suppress(OSError):
            while chunk := os.read(self.process.log_fd, 65536):
                self._take_log(chunk)
        self._flush_partial()

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
        http_api = bool(spec.runtime.command)  # Node, custom runtimes: the Runtime API
        if spec.extensions:  # served on the Runtime API's port; the Python runtime keeps its private channel
            self.extensions = Extensions(spec.extensions, spec.environment, self.sandbox.uid, self._log)
        if http_api or self.extensions:
            self.process, api = await start_runtime(self.sandbox, self.extensions)
            if http_api:
                self._channel = api
        else:
            self.process = await self._launch()
        os.set_blocking(self.process.log_fd, False)
        loop = asyncio.get_running_loop()
        loop.add_reader(self.process.log_fd, self._on_log_readable)
        if self.extensions is not None:
            self.extensions.watch(self.process)
            registered = asyncio.ensure_future(self.extensions.registered(self._init_limit_s()))
            await asyncio.wait({registered, self.process.exited}, return_when=asyncio.FIRST_COMPLETED)
            registered.cancel()
            with contextlib.suppress(OSError):  # gone already: the exit is reported below
                self.process.control.send(RUNTIME_GO)  # as on Lambda, the runtime starts once its extensions registered
        if http_api:
            self.process.control.close()  # the private channel stays unused
        else:
            _, self._channel = await loop.create_unix_connection(ControlChannel, sock=self.process.control)
        self.process.exited.add_done_callback(lambda _: self._channel and self._channel.runtime_exited())
        try:
            first = await self._channel.next(self._init_limit_s())
        except RuntimeGone:
            self.init_ms = (time.perf_counter() - started) * 1000
            self._init_error = await self._exit_outcome("")
            return
        except TimeoutError:
            self.init_ms = (time.perf_counter() - started) * 1000
            self._log(f"{iso_now()} Init timed out after {self.init_ms / 1000:.2f} seconds")
            body = json.dumps(
                {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"Init timed out after {self.init_ms / 1000:.2f} seconds",
                }
            ).encode()
            self._init_error = Outcome({"type": "error", "function_error": "Unhandled", "status": "timeout"}, body)
            return
        if first.header["type"] == "init_error":
            self._init_error = Outcome({"type": "error", "function_error": "Unhandled"}, first.body)
        elif self.extensions is not None:
            self._init_error = await self.extensions.ready(INIT_LIMIT_S + self.version.timeout)
        self.init_ms = (time.perf_counter() - started) * 1000
        if self.extensions is not None:
            self.extensions.init_over(self.init_ms, self._init_error)
        self.sandbox.limit_cpu()

    async def _launch(self) -> RuntimeProcess:
        """The built-in Python runtime's process: a fork of its zygote (a SnapStart environment: of its template)."""
        return await self.sandbox.start()

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
        body = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
        return Outcome(
            {"type": "error", "function_error": "Unhandled", "status": "error", "error_type": error_type},
            body,
        )

    def kill_runtime(self) -> None:
        if self.alive:
            assert self.process is not None
            kill_process(self.process)

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
        self._drain_logs()
        asyncio.get_running_loop().remove_reader(self.process.log_fd)
        os.close(self.process.log_fd)
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
        self._tail = deque() if request.log_tail else None
        if isinstance(self._channel, RuntimeApi) and self.alive:
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
        ended = _Ended(request_id, duration, init_ms, outcome)
        if self._tail is None and self.extensions is None:
            # the caller is answered first: END and REPORT are written before this environment does anything else
            self._unreported = ended
            asyncio.get_running_loop().call_soon(self._report_owed)
        else:
            self._log_end(ended)
        tail = self._encode_tail()
        self._tail = None
        error = outcome.header.get("function_error")
        return InvokeResult(outcome.body, self.version.version, error, tail, cold, duration, init_ms)

    def _log_start(self, request_id: str) -> None:
        version = self.version.version
        if self._platform is None:
            self._log(f"START RequestId: {request_id} Version: {version}")
        else:
            self._platform.start(request_id, version)
        if self.extensions is not None:
            self.extensions.telemetry.platform.start(request_id, version)

    def _log_end(self, ended: _Ended) -> None:
        """The function's last lines, then END and REPORT (or their platform records) and the extensions' report."""
        self._drain_logs()
        request_id, duration, init_ms, outcome = ended
        if self._platform is None:
            self._log(f"END RequestId: {request_id}")
            self._log(self._report(request_id, duration, init_ms, outcome))
        else:
            used = self._memory_used(outcome)
            self._platform.done(request_id, duration, init_ms, outcome.header, self.version.memory_size, used)
        if self.extensions is not None:
            self.extensions.report(request_id, duration, init_ms, outcome, self._memory_used(outcome))

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
            outcome = await self._channel.next(version.timeout)
            if on_chunk is not None:
                while outcome.header["type"] == "chunk":
                    on_chunk(outcome.header, outcome.body)
                    outcome = await self._channel.next(max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            self._log(f"{iso_now()} {request_id} Task timed out after {version.timeout:.2f} seconds")
            await self._close_process("timeout")
            message = f"RequestId: {request_id} Error: Task timed out after {version.timeout:.2f} seconds"
            body = json.dumps({"errorMessage": message, "errorType": "Sandbox.Timedout"}).encode()
            return Outcome({"type": "error", "function_error": "Unhandled", "status": "timeout"}, body)
        except RuntimeGone:
            outcome = await self._exit_outcome(request_id)
            await self._close_process()
            return outcome
        if len(outcome.body) > RESPONSE_MAX:
            body = json.dumps(
                {
                    "errorMessage": "Response payload size exceeded maximum allowed payload size "
                    f"({RESPONSE_MAX} bytes).",
                    "errorType": "Function.ResponseSizeTooLarge",
                }
            ).encode()
            return Outcome(
                {
                    "type": "error",
                    "function_error": "Unhandled",
                    "status": "error",
                    "error_type": "Function.ResponseSizeTooLarge",
                    "max_rss_kb": outcome.header.get("max_rss_kb"),
                },
                body,
            )
        return outcome

    def _report(self, request_id: str, duration: float, init_ms: float | None, outcome: Outcome) -> str:
        version = self.version
        used = self._memory_used(outcome)
        billed, cold_start = self._cold_start_report(duration, init_ms)
        parts = [
            f"REPORT RequestId: {request_id}",
            f"Duration: {duration:.2f} ms",
            f"Billed Duration: {billed} ms",
            f"Memory Size: {version.memory_size} MB",
            f"Max Memory Used: {used} MB",
            *cold_start,
        ]
        status = outcome.header.get("status")
        if status == "timeout":
            parts.append("Status: timeout")
        elif status == "error":
            parts.append(f"Status: error\tError Type: {outcome.header.get('error_type')}")
        return "\t".join(parts)

    def _cold_start_report(self, duration: float, init_ms: float | None) -> tuple[int, list[str]]:
        """Billed Duration (init included, as on Lambda since 2025) and the REPORT fields of a cold start."""
        return billed_ms(duration, init_ms), [] if init_ms is None else [f"Init Duration: {init_ms:.2f} ms"]

    def _memory_used(self, outcome: Outcome) -> int:
        """The runtime's resident high-water mark (zygote pages included, as a fresh process would have
        them) or the cgroup's peak (children and /tmp included), whichever is higher, in MB."""
        return max(self.sandbox.max_memory_mb() or 0, round((outcome.header.get("max_rss_kb") or 0) / 1024), 1)

    def _encode_tail(self) -> str:
        if self._tail is None:
            return ""
        text = ("\n".join(self._tail) + "\n").encode()
        return base64.b64encode(text[-TAIL_BYTES:]).decode()
