"""The AWS services as one service of the port (``api/dispatch.py``): S3, SQS, SNS, DynamoDB (and its
streams), Kinesis, EventBridge, Secrets Manager, SSM, STS, IAM, EC2 and KMS, emulated by moto in process.

The event loop only receives and answers: a request body is streamed into memory when small, into a file
of the data dir when large (S3 uploads), and moto runs in one thread of its own (``engine.py``), one
request at a time. A request that changed state is journaled before its answer leaves (``journal.py``);
at start the last snapshot is loaded and the journal run again, and both are folded into a new snapshot
then and at a clean stop (``persistence.py``). An SQS receive that would wait is answered from the event
loop: the thread is never blocked for a long poll. A service given to ``--service-endpoint`` is not
served here: requests for it are left to the Lambda API, which does not know them.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import secrets
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from ..auth.gate import current
from ..config import Config
from . import s3_reads
from .deliveries import LambdaDeliveries
from .journal import INLINE_MAX, Record
from .persistence import Persistence
from .routing import SERVICES, changes_state, operation, service_of
from .scheduled_rules import ScheduledRules

log = logging.getLogger("kindling.services")
POLL_RECHECK_S = 0.5  # a waiting receive looks again this often (visibility timeouts end without a send)
SCOPE_KEY = "kindling.service"
COMPACT_AFTER = 50_000  # journaled requests before the state is folded into a new snapshot while serving


class AwsServices:
    def __init__(self, config: Config, data_dir: Path, deliveries: LambdaDeliveries | None = None) -> None:
        self.config = config
        self.deliveries = deliveries
        self.served = frozenset(s for s in SERVICES if config.endpoint_for(s) == config.endpoint)
        self.persistence = Persistence(data_dir / "services")
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="aws-services")
        self.engine: Any = None  # made in the thread: importing moto takes a while
        self._arrival = asyncio.Event()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.targets: Any = None  # lambda_targets.Targets, once moto is imported
        self.access: Any = None  # access.ServiceAccess: authorizes each request (--auth iam), in the thread
        self.on_iam_change: Callable[[Any], None] | None = None  # given the new auth.directory.IamSnapshot
        self.schedules = ScheduledRules(self, deliveries) if deliveries is not None else None

    def claims(self, scope: dict) -> bool:
        service = service_of(scope)
        if service is None or service not in self.served:
            return False
        scope[SCOPE_KEY] = service
        return True

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Bring back the state a restart or a crash left (in the thread, before any request runs)."""
        self._loop = asyncio.get_running_loop()
        await self._loop.run_in_executor(self.thread, self._restore)
        if self.schedules is not None:
            self.schedules.start()  # EventBridge rules with a ScheduleExpression fire their functions

    def _ensure_engine(self) -> Any:
        if self.engine is None:
            from . import lambda_targets, moto_patches
            from .engine import Engine

            self.engine = Engine(self.config.account_id, f"{self.config.host}:{self.config.port}")
            moto_patches.on_message = self._message_arrived
            self.targets = lambda_targets.Targets(
                self.deliveries or _NoFunctions(), self.config.account_id, enforce=self.config.auth == "iam"
            )
            lambda_targets.apply(self.targets)
        return self.engine

    def _restore(self) -> None:
        state, records = self.persistence.load()
        if state is None and not records:
            return
        started = time.monotonic()
        engine = self._ensure_engine()
        if state is not None:
            engine.restore(state)
        self.targets.replaying = True  # S3's permission check is not made again for a journaled request
        try:
            for record in records:
                self._replay(engine, record)
        finally:
            self.targets.replaying = False
        if records:
            self._compact()
        self._publish_iam()
        log.info(
            "AWS services restored (%s, %d journaled requests) in %.2f s",
            ", ".join(sorted(engine.used)) or "no state",
            len(records),
            time.monotonic() - started,
        )

    def _replay(self, engine: Any, record: Record) -> None:
        from .engine import Call

        call = Call(record.service, record.method, record.path, record.query, record.headers)
        if record.body is not None:
            body: IO[bytes] = io.BytesIO(record.body)
            size = len(record.body)
        else:
            path = self.persistence.journal.body_path(record.seq)
            if not path.exists():
                log.error("services journal: the body of request %d is missing; skipped", record.seq)
                return
            body, size = open(path, "rb"), path.stat().st_size  # noqa: SIM115 - closed below
        try:
            answer = engine.run(call, body, size, record.seed)
        finally:
            body.close()
        if answer.status >= 400:
            log.warning("services journal: request %d answered %d when run again", record.seq, answer.status)

    def _compact(self) -> None:
        """Fold the journal into a snapshot; if that fails, the journal stays in force and nothing is lost."""
        try:
            self.persistence.compact(self.engine.state())
        except Exception:
            log.exception("services: the snapshot could not be written; the journal is kept")

    async def close(self) -> None:
        """Fold the journal into a snapshot: the next start loads it instead of running every request again."""
        loop = asyncio.get_running_loop()
        if self.schedules is not None:
            await self.schedules.close()
        try:
            if self.engine is not None and self.engine.used:
                await loop.run_in_executor(self.thread, self._compact)
        finally:
            self.persistence.close()
            self.thread.shutdown(wait=True)

    # ------------------------------------------------------------------ requests
    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        from .engine import Call

        service = scope.get(SCOPE_KEY) or service_of(scope)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        raw_path = scope.get("raw_path") or scope["path"].encode()
        client = (scope.get("client") or ("", 0))[0]
        query = scope["query_string"].decode("latin-1")
        call = Call(str(service), scope["method"], raw_path.decode("latin-1"), query, headers, client, current())
        if s3_reads.streamable(call) and await self._stream_object(call, send):
            return
        body, spool, size = await self._receive_body(scope, receive)
        try:
            loop = asyncio.get_running_loop()
            arrival = self._arrival  # taken before the receive runs: a send right after it still wakes the wait
            answer, wait, deliveries = await loop.run_in_executor(self.thread, self._run, call, body, spool, size)
            for function_arn, payload in deliveries:  # queued (durably) before the request is answered
                assert self.deliveries is not None
                await self.deliveries.invoke(function_arn, payload)
            while self.targets is not None and self.targets.refused and self.deliveries is not None:
                self.deliveries.refused(*self.targets.refused.popleft())
            if service == "events" and self.schedules is not None:
                self.schedules.changed()
            if wait:
                answer = await self._long_poll(call, body, size, wait, answer, arrival)
        finally:
            if spool is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(spool)  # unless the journal took it
        await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
        await send({"type": "http.response.body", "body": answer.body})

    async def _stream_object(self, call: Any, send: Callable) -> bool:
        """A large object's GET (or one range of it), its body sent chunk by chunk from disk; False: take
        the ordinary path."""
        loop = asyncio.get_running_loop()
        answer, opened = await loop.run_in_executor(self.thread, self._head_and_open, call)
        if opened is None:
            return False
        fd, size = opened
        try:
            wanted = s3_reads.byte_range(call, size)
            if wanted is None:
                return False
            start, end = wanted
            ranged = any(k.lower() == "range" for k, _ in call.headers)
            multipart = b"-" in dict(answer.headers).get(b"etag", b"")
            # a range has no checksum, and a multipart object's is per part (moto leaves out AWS's "-N")
            dropped = (b"content-length", b"x-amz-checksum-") if ranged or multipart else (b"content-length",)
            headers = [(k, v) for k, v in answer.headers if not k.startswith(dropped)]
            headers.append((b"content-length", str(end - start + 1).encode()))
            status = 200
            if ranged:
                status = 206
                headers.append((b"content-range", f"bytes {start}-{end}/{size}".encode()))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            offset = start
            while offset <= end:
                chunk = await loop.run_in_executor(None, os.pread, fd, min(s3_reads.CHUNK, end + 1 - offset), offset)
                if not chunk:  # shorter than moto said: end the reply rather than hang
                    break
                offset += len(chunk)
                await send({"type": "http.response.body", "body": chunk, "more_body": offset <= end})
            if offset <= end:
                await send({"type": "http.response.body", "body": b""})
        finally:
            os.close(fd)
        return True

    def _head_and_open(self, call: Any) -> tuple[Any, tuple[int, int] | None]:
        if self.access is not None and (refused := self.access.screen(call, None, call.caller)) is not None:
            return refused, None
        head = s3_reads.without_range(call)
        answer = self._ensure_engine().run(head, io.BytesIO(), 0, secrets.randbits(63))
        if answer.status != 200:
            return answer, None
        return answer, s3_reads.open_body(self.config.account_id, call)

    async def _receive_body(self, scope: dict, receive: Callable) -> tuple[Any, Path | None, int]:
        """The body in memory when small, else streamed to a file (which the journal may keep)."""
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
        if declared.isdigit() and int(declared) <= INLINE_MAX:
            chunks = []
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    data = b"".join(chunks)
                    return data, None, len(data)
        fd, name = tempfile.mkstemp(dir=self.persistence.incoming)
        size = 0
        with os.fdopen(fd, "wb") as file:
            while True:
                message = await receive()
                chunk = message.get("body", b"")
                file.write(chunk)
                size += len(chunk)
                if not message.get("more_body"):
                    break
        return None, Path(name), size

    def _run(self, call: Any, data: bytes | None, spool: Path | None, size: int) -> tuple[Any, int, list]:
        from . import moto_patches

        engine = self._ensure_engine()
        if self.access is not None and (refused := self.access.screen(call, data, call.caller)) is not None:
            return refused, 0, []
        seed = secrets.randbits(63)
        body: IO[bytes] = io.BytesIO(data or b"") if spool is None else open(spool, "rb")  # noqa: SIM115
        try:
            answer = engine.run(call, body, size, seed)
        finally:
            body.close()
        state = moto_patches.CALL
        target = next((v for k, v in call.headers if k.lower() == "x-amz-target"), "")
        name = operation(call.method, target, call.query, data if spool is None else None)
        if answer.status < 400 and (changes_state(call.service, call.method, name) or state.received):
            journal = self.persistence.journal
            record = Record(
                journal.next_seq(), seed, call.service, call.method, call.path, call.query, call.headers, data
            )
            journal.append(record, spool)
            if journal.seq >= COMPACT_AFTER:  # a crash's replay stays short on a server that runs for weeks
                self._compact()
            if call.service in ("iam", "sts"):
                self._publish_iam()
                if self.access is not None:
                    self.access.record(call, data, answer.status)
        return answer, state.long_poll, state.deliveries

    async def call_as(self, caller: Any, service: str, target: str, params: dict[str, Any]) -> Any:
        """One JSON-protocol call made on behalf of ``caller`` (authorized as any request is): the answer."""
        from .engine import Call

        body = json.dumps(params).encode()
        headers = [("x-amz-target", target), ("content-type", "application/x-amz-json-1.1")]
        call = Call(service, "POST", "/", "", headers, "", caller)
        loop = asyncio.get_running_loop()
        answer, _, _ = await loop.run_in_executor(self.thread, self._run, call, body, None, len(body))
        return answer

    def _publish_iam(self) -> None:
        """In the thread: the IAM users, keys, roles and sessions, to authentication and authorization."""
        if self.on_iam_change is not None and self.engine is not None and self.engine.used & {"iam", "sts"}:
            from .iam_feed import snapshot

            self.on_iam_change(snapshot(self.config.account_id))

    async def _long_poll(
        self, call: Any, data: bytes | None, size: int, wait: int, answer: Any, arrival: asyncio.Event
    ) -> Any:
        """An SQS receive that found nothing waits here, on the loop, for a message or its deadline."""
        loop = asyncio.get_running_loop()
        deadline = time.monotonic() + wait
        while not self._stopping and (left := deadline - time.monotonic()) > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrival.wait(), min(left, POLL_RECHECK_S))
            arrival = self._arrival
            answer, still_empty, _ = await loop.run_in_executor(self.thread, self._run, call, data, None, size)
            if not still_empty or self._stopping:
                break
        return answer

    def stop_waiting(self) -> None:
        """Shutdown has begun: the SQS receives that wait answer now, so an event source poller's 20-second
        long poll on this port does not hold the graceful stop (uvicorn waits for open requests)."""
        self._stopping = True
        self._wake()

    def _message_arrived(self) -> None:
        """From the thread: a message was added to a queue; wake the receives that wait."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        arrival, self._arrival = self._arrival, asyncio.Event()
        arrival.set()


class _NoFunctions:
    """Without Kindling's functions (a services-only setup), no function may be a destination."""

    def may_invoke(self, function_arn: str, principal: str, source_arn: str, source_account: str) -> bool:
        return False
