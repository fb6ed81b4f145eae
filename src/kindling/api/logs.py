"""The CloudWatch Logs API (JSON 1.1, ``X-Amz-Target: Logs_20140328.*``) on the Lambda port.

Not served yet: every request passes through to the Lambda API.
"""

from __future__ import annotations

from collections.abc import Awaitable

from ..config import Config
from ..logs.streams import LogStore
from .app import RawRequest, Reply


class LogsApi:
    def __init__(self, config: Config, logs: LogStore) -> None:
        self.config = config
        self.logs = logs

    def route(self, request: RawRequest) -> Awaitable[Reply] | None:
        return None
