"""The metrics part, built in one piece for the composition root: the recorder the invoker, the event queue
and the logs feed, the store it is written to, and the services it is read through (CloudWatch, Prometheus,
``GET /kindling/cost``)."""

from __future__ import annotations

import asyncio
import calendar
import functools
import logging
import time
from collections.abc import Awaitable
from datetime import datetime
from urllib.parse import parse_qs

from ..config import Config
from ..errors import InvalidParameterValue
from ..store.metrics import MetricStore
from ..store.sqlite import Database
from ..store.traces import TraceStore
from ..web import RawRequest, Reply, json_reply
from . import cost
from .alarms import Action, Alarms
from .cloudwatch import CloudWatchService
from .emf import take_line
from .notify import SnsPublisher
from .operations import MetricOperations
from .prometheus import PrometheusService
from .recorder import Recorder
from .series import Metrics
from .usage import UsageSampler
from .xray import Daemon, XRay, XRayService

log = logging.getLogger("kindling.metrics")


class MetricsPart:
    def __init__(self, config: Config, database: Database) -> None:
        self.recorder = Recorder()
        self.store = MetricStore(database)
        self.metrics = Metrics(self.store, self.recorder)
        self.alarms = Alarms(self.store, self.metrics, config.region, config.account_id)
        self.alarms.notify_sns = SnsPublisher(config)
        self.cloudwatch = CloudWatchService(MetricOperations(self.metrics, self.recorder), self.alarms)
        self.prometheus = PrometheusService(self.cloudwatch)
        self.usage = UsageSampler(self.store)
        self.cloudwatch.tick_jobs.append(self._sample_usage)
        self.log_line = functools.partial(take_line, self.recorder)  # for the log store's JSON lines
        self.xray = XRay(TraceStore(database), config.region, config.account_id)
        self.xray_api = XRayService(self.xray)
        self.daemon = Daemon(self.xray)  # the X-Ray daemon's UDP port: the server's own host and port
        self.config = config

    def act_with(self, invoke_function: Action) -> None:
        """How an alarm invokes a Lambda function (asynchronously, through the event queue)."""
        self.alarms.invoke_function = invoke_function

    async def start(self, daemon_host: str) -> None:
        """``daemon_host``: where the X-Ray daemon's UDP port listens (the address functions reach the server at:
        loopback for a server on every address, so nothing outside the host can write traces)."""
        self.cloudwatch.start()
        try:
            await self.daemon.start(daemon_host, self.config.port)
        except OSError as error:  # the UDP port of that number is taken: traces still come through the API
            log.warning("X-Ray daemon port udp:%s:%s unavailable: %s", daemon_host, self.config.port, error)

    async def close(self) -> None:
        self.daemon.close()
        await self.xray.flush()
        await self.cloudwatch.close()

    async def _sample_usage(self) -> None:
        owners = dict(self.recorder.owners)
        provisioned = self.usage.read_provisioned()
        gone = await asyncio.get_running_loop().run_in_executor(None, self.usage.sample, owners, provisioned)
        for env_id in gone:
            self.recorder.owners.pop(env_id, None)

    # ------------------------------------------------------------------ cost
    def cost_route(self, request: RawRequest) -> Awaitable[Reply] | None:
        """``GET /kindling/cost[?month=YYYY-MM | since=…&until=…][&function=NAME]``."""
        if request.method != "GET" or request.path != "/kindling/cost":
            return None
        return self._cost(request)

    async def _cost(self, request: RawRequest) -> Reply:
        query = {key: values[-1] for key, values in parse_qs(request.query).items()}
        since, until = cost_range(query.get("month"), query.get("since"), query.get("until"))
        await self.cloudwatch.flush()
        loop = asyncio.get_running_loop()
        return json_reply(
            await loop.run_in_executor(None, cost.report, self.store, since, until, query.get("function"))
        )


def _moment(text: str) -> int:
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameterValue(
            f"Invalid time {text!r}: use YYYY-MM-DD, an ISO 8601 time or epoch seconds"
        ) from None
    return calendar.timegm(moment.utctimetuple())


def cost_range(month: str | None, since: str | None, until: str | None) -> tuple[int, int]:
    """The range a cost report covers: a month, since/until, or this month (the default)."""
    if month and (since or until):
        raise InvalidParameterValue("Give either month or since/until, not both")
    if since or until:
        start = _moment(since) if since else cost.month_bounds(time.strftime("%Y-%m", time.gmtime()))[0]
        end = _moment(until) if until else int(time.time()) + 3600
        if end <= start:
            raise InvalidParameterValue("until must be after since")
        return start, end
    try:
        return cost.month_bounds(month or time.strftime("%Y-%m", time.gmtime()))
    except ValueError:
        raise InvalidParameterValue(f"Invalid month {month!r}: use YYYY-MM") from None
