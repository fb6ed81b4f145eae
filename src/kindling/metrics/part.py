"""The metrics part, built in one piece for the composition root: the recorder the invoker, the event queue
and the logs feed, the store it is written to, and the services it is read through."""

from __future__ import annotations

import functools

from ..config import Config
from ..store.metrics import MetricStore
from ..store.sqlite import Database
from .alarms import Action, Alarms
from .cloudwatch import CloudWatchService
from .emf import take_line
from .operations import MetricOperations
from .prometheus import PrometheusService
from .recorder import Recorder
from .series import Metrics


class MetricsPart:
    def __init__(self, config: Config, database: Database) -> None:
        self.recorder = Recorder()
        self.store = MetricStore(database)
        self.metrics = Metrics(self.store, self.recorder)
        self.alarms = Alarms(self.store, self.metrics, config.region, config.account_id)
        self.cloudwatch = CloudWatchService(MetricOperations(self.metrics, self.recorder), self.alarms)
        self.prometheus = PrometheusService(self.cloudwatch)
        self.log_line = functools.partial(take_line, self.recorder)  # for the log store's JSON lines

    def act_with(self, invoke_function: Action) -> None:
        """How an alarm invokes a Lambda function (asynchronously, through the event queue)."""
        self.alarms.invoke_function = invoke_function

    def start(self) -> None:
        self.cloudwatch.start()

    async def close(self) -> None:
        await self.cloudwatch.close()
