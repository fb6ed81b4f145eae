"""CloudWatch Logs as a service on the port (``api/dispatch.py``): the JSON protocol's ``POST /`` with
``X-Amz-Target: Logs_20140328.<Operation>``.

Every operation but one is answered buffered by ``LogsApi``. ``StartLiveTail`` is an event stream of what
the groups receive: a ``sessionStart`` event, then a ``sessionUpdate`` every second (empty when nothing
came) until the client hangs up or the session is 3 hours old, framed like InvokeWithResponseStream's.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable

from ..errors import AwsError, ServiceFault
from ..web import Reply, header, read_body, send_reply
from .errors import json_protocol_error
from .logs import CONTENT_TYPE, TARGET_PREFIX, LogsApi
from .routes.streaming import event_message

PREFIX = TARGET_PREFIX.encode()
TARGET = PREFIX + b"StartLiveTail"
UPDATE_S = 1.0
SESSION_S = 3 * 3600


class LogsService:
    def __init__(self, logs: LogsApi) -> None:
        self.logs = logs

    def claims(self, scope: dict) -> bool:
        return scope["method"] == "POST" and scope["path"] == "/" and header(scope, b"x-amz-target").startswith(PREFIX)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        target = header(scope, b"x-amz-target")
        if target != TARGET:
            try:
                body = await read_body(receive, header(scope, b"content-length").decode("latin-1"))
            except AwsError as error:
                reply = Reply(error.status, json_protocol_error(error), content_type=CONTENT_TYPE)
            else:
                reply = await self.logs.handle(target[len(PREFIX) :].decode("latin-1"), body)
            return await send_reply(send, reply, str(uuid.uuid4()))
        await self._live_tail(receive, send)

    async def _live_tail(self, receive: Callable, send: Callable) -> None:
        request_id = str(uuid.uuid4())
        try:
            session, start = self.logs.start_live_tail(await read_body(receive, None))
        except ServiceFault as error:
            body = json_protocol_error(error)
            headers = [(b"content-type", b"application/x-amz-json-1.1"), (b"x-amzn-requestid", request_id.encode())]
            await send({"type": "http.response.start", "status": error.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        headers = [(b"content-type", b"application/vnd.amazon.eventstream"), (b"x-amzn-requestid", request_id.encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        hung_up = asyncio.ensure_future(_disconnected(receive))
        try:
            await _event(send, "initial-response", {})  # the JSON protocol's first event: the non-stream members
            await _event(send, "sessionStart", {"requestId": request_id, "sessionId": str(uuid.uuid4()), **start})
            ends = time.monotonic() + SESSION_S
            loop = asyncio.get_running_loop()
            while time.monotonic() < ends:
                await asyncio.wait({hung_up}, timeout=UPDATE_S)
                if hung_up.done():
                    return
                self.logs.logs.flush()
                results, sampled = await loop.run_in_executor(self.logs.reader, session.poll)
                update = {"sessionMetadata": {"sampled": sampled}, "sessionResults": results}
                await _event(send, "sessionUpdate", update)
            await send({"type": "http.response.body", "body": b""})
        finally:
            hung_up.cancel()


async def _disconnected(receive: Callable) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _event(send: Callable, kind: str, payload: dict) -> None:
    message = event_message(kind, json.dumps(payload).encode(), "application/json")
    await send({"type": "http.response.body", "body": message, "more_body": True})
