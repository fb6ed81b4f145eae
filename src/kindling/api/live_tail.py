"""``StartLiveTail``: the Logs API's one streaming operation, an event stream of what the groups receive.

It cannot be an ordinary (buffered) Logs operation, so this ASGI wrapper takes it before the HTTP
front: a ``sessionStart`` event, then a ``sessionUpdate`` every second (empty when nothing came) until
the client hangs up or the session is 3 hours old, framed like InvokeWithResponseStream's events.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable

from ..errors import ServiceFault
from ..web import read_body
from .errors import json_protocol_error
from .logs import TARGET_PREFIX, LogsApi
from .routes.streaming import event_message

Asgi = Callable[..., object]
TARGET = (TARGET_PREFIX + "StartLiveTail").encode()
UPDATE_S = 1.0
SESSION_S = 3 * 3600


def _is_live_tail(scope: dict) -> bool:
    if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/":
        return False
    return any(name == b"x-amz-target" and value == TARGET for name, value in scope["headers"])


class LiveTailFront:
    def __init__(self, app: Asgi, logs: LogsApi) -> None:
        self.app = app
        self.logs = logs

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if not _is_live_tail(scope):
            return await self.app(scope, receive, send)  # type: ignore[misc]
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
