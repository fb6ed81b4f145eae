"""CloudWatch alarms on a single metric: kept in the store, evaluated every minute, acting on state changes.

An alarm looks at its last ``EvaluationPeriods`` periods (the current one once it has data, so a burst of
errors shows within the minute; until then the last complete ones) and goes to ALARM when
``DatapointsToAlarm`` of them breach, to OK when enough data says otherwise, to INSUFFICIENT_DATA when there
is none; ``TreatMissingData`` decides what an empty period counts as. Each change is written to the alarm's
history and runs the new state's actions: a Lambda function ARN is invoked asynchronously (through the
event queue, by a callback the composition root provides) with the event AWS sends; an SNS topic ARN gets
AWS's alarm notification, published by ``notify_sns`` (``notify.py``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import ServiceFault
from ..store.metrics import MetricStore
from .cbor import Timestamp
from .notify import notification
from .series import BASIC, PERCENTILE, Metrics, statistic

log = logging.getLogger("kindling.metrics")
STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
COMPARE: dict[str, Callable[[float, float], bool]] = {
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}
MISSING = ("breaching", "notBreaching", "ignore", "missing")
Action = Callable[[str, bytes], Awaitable[None]]  # (target ARN, payload)


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}+0000"


class Alarms:
    def __init__(self, store: MetricStore, metrics: Metrics, region: str, account: str) -> None:
        self.store = store
        self.metrics = metrics
        self.region = region
        self.account = account
        self.invoke_function: Action | None = None  # the composition root's: an async Invoke through the queue
        self.notify_sns: Action | None = None  # an SNS Publish (``notify.SnsPublisher``)
        self.pending: list[tuple[str, str, bytes]] = []  # (alarm, action ARN, payload) to run on the loop

    def arn(self, name: str) -> str:
        return f"arn:aws:cloudwatch:{self.region}:{self.account}:alarm:{name}"

    # ------------------------------------------------------------ operations
    def put(self, params: dict[str, Any]) -> dict[str, Any]:
        name = _required(params, "AlarmName")
        for key in ("EvaluationPeriods", "ComparisonOperator"):
            _required(params, key)
        if "Metrics" in params:
            raise ServiceFault("InvalidParameterValue", "Metric math alarms are not supported by Kindling")
        for key in ("MetricName", "Namespace", "Period"):
            _required(params, key)
        if params["ComparisonOperator"] not in COMPARE:
            raise ServiceFault("ValidationError", f"ComparisonOperator {params['ComparisonOperator']} is not supported")
        stat, extended = params.get("Statistic"), params.get("ExtendedStatistic")
        if bool(stat) == bool(extended):
            raise ServiceFault(
                "InvalidParameterCombination", "Exactly one of Statistic and ExtendedStatistic is needed"
            )
        if (stat and stat not in BASIC) or (extended and not PERCENTILE.match(extended)):
            raise ServiceFault("InvalidParameterValue", f"Invalid statistic {stat or extended}")
        periods, period = int(params["EvaluationPeriods"]), int(params["Period"])
        datapoints = int(params.get("DatapointsToAlarm") or periods)
        if periods < 1 or period < 10 or period % 60 not in (0, 10, 30) or not 1 <= datapoints <= periods:
            raise ServiceFault("ValidationError", "Period, EvaluationPeriods or DatapointsToAlarm is out of range")
        if params.get("TreatMissingData", "missing") not in MISSING:
            raise ServiceFault("ValidationError", f"TreatMissingData must be one of {', '.join(MISSING)}")
        now = time.time()
        old = self._find(name)
        alarm = {
            key: params[key]
            for key in (
                "AlarmName", "AlarmDescription", "MetricName", "Namespace", "Statistic", "ExtendedStatistic",
                "Period", "Unit", "EvaluationPeriods", "DatapointsToAlarm", "Threshold", "ComparisonOperator",
                "TreatMissingData",
            )
            if params.get(key) is not None
        }  # fmt: skip
        alarm.update(
            AlarmArn=self.arn(name),
            Dimensions=params.get("Dimensions") or [],
            ActionsEnabled=params.get("ActionsEnabled", True),
            OKActions=params.get("OKActions") or [],
            AlarmActions=params.get("AlarmActions") or [],
            InsufficientDataActions=params.get("InsufficientDataActions") or [],
            AlarmConfigurationUpdatedTimestamp=now,
            StateValue=old["StateValue"] if old else "INSUFFICIENT_DATA",
            StateReason=old["StateReason"] if old else "Unchecked: Initial alarm creation",
            StateUpdatedTimestamp=old["StateUpdatedTimestamp"] if old else now,
            StateTransitionedTimestamp=old.get("StateTransitionedTimestamp", now) if old else now,
        )
        alarm.setdefault("Threshold", 0.0)
        self.store.save_alarm(alarm)
        verb = "updated" if old else "created"
        self.store.add_history(name, now, "ConfigurationUpdate", f'Alarm "{name}" {verb}', json.dumps({"type": verb}))
        return {}

    def describe(self, params: dict[str, Any]) -> dict[str, Any]:
        names = set(params.get("AlarmNames") or [])
        prefix = params.get("AlarmNamePrefix") or ""
        state = params.get("StateValue")
        action = params.get("ActionPrefix") or ""
        found = [
            alarm
            for alarm in self.store.alarms()
            if (not names or alarm["AlarmName"] in names)
            and alarm["AlarmName"].startswith(prefix)
            and (not state or alarm["StateValue"] == state)
            and (not action or any(a.startswith(action) for a in alarm["AlarmActions"]))
        ]
        return {"MetricAlarms": [_wire(alarm) for alarm in found], "CompositeAlarms": []}

    def history(self, params: dict[str, Any]) -> dict[str, Any]:
        start = float(params.get("StartDate") or 0)
        end = float(params.get("EndDate") or time.time() + 1)
        rows = self.store.history(params.get("AlarmName"), params.get("HistoryItemType"), start, end)
        if params.get("ScanBy") == "TimestampAscending":
            rows.reverse()
        limit = int(params.get("MaxRecords") or 100)
        items = [
            {
                "AlarmName": name,
                "AlarmType": "MetricAlarm",
                "Timestamp": Timestamp(ts),
                "HistoryItemType": kind,
                "HistorySummary": summary,
                "HistoryData": data,
            }
            for name, ts, kind, summary, data in rows[:limit]
        ]
        return {"AlarmHistoryItems": items}

    def delete(self, params: dict[str, Any]) -> dict[str, Any]:
        names = params.get("AlarmNames") or []
        missing = [name for name in names if self._find(name) is None]
        if missing:
            raise ServiceFault("ResourceNotFound", f"Alarm(s) not found: {', '.join(missing)}", 404)
        for name in names:
            self.store.delete_alarm(name)
        return {}

    def set_state(self, params: dict[str, Any]) -> dict[str, Any]:
        name = _required(params, "AlarmName")
        value = _required(params, "StateValue")
        reason = _required(params, "StateReason")
        if value not in STATES:
            raise ServiceFault("ValidationError", f"StateValue must be one of {', '.join(STATES)}")
        alarm = self._find(name)
        if alarm is None:
            raise ServiceFault("ResourceNotFound", f"Alarm {name} not found", 404)
        self._change(alarm, value, reason, params.get("StateReasonData") or "{}", time.time())
        return {}

    def _find(self, name: str) -> dict[str, Any] | None:
        return next((alarm for alarm in self.store.alarms() if alarm["AlarmName"] == name), None)

    # ------------------------------------------------------------ evaluation
    def evaluate(self, now: float) -> None:
        """Every alarm, once; state changes leave their actions in ``pending`` for the loop to run."""
        for alarm in self.store.alarms():
            try:
                decided = self._decide(alarm, now)
            except Exception:
                log.exception("evaluating alarm %s failed", alarm["AlarmName"])
                continue
            if decided is not None and decided[0] != alarm["StateValue"]:
                self._change(alarm, decided[0], decided[1], decided[2], now)

    def _decide(self, alarm: dict[str, Any], now: float) -> tuple[str, str, str] | None:
        period, count = int(alarm["Period"]), int(alarm["EvaluationPeriods"])
        needed = int(alarm.get("DatapointsToAlarm") or count)
        stat = alarm.get("Statistic") or alarm["ExtendedStatistic"]
        end = (int(now) // period + 1) * period  # the current period's end: it counts once it has data
        start = end - (count + 1) * period
        dims = tuple((d["Name"], d["Value"]) for d in alarm["Dimensions"])
        series = self.metrics.find_series(alarm["Namespace"], alarm["MetricName"], dims, alarm.get("Unit"))
        periods = self.metrics.periods(series, start, end, period) if series else {}
        values = [statistic(periods[ts], stat) if ts in periods else None for ts in range(start, end, period)]
        values = values[1:] if values[-1] is not None else values[:-1]  # else the last complete periods
        present = [value for value in values if value is not None]
        treat = alarm.get("TreatMissingData", "missing")
        compare = COMPARE[alarm["ComparisonOperator"]]
        threshold = float(alarm["Threshold"])
        breaching = sum(1 for value in present if compare(value, threshold))
        if treat == "breaching":
            breaching += len(values) - len(present)
        if not present and treat in ("missing", "ignore"):
            if treat == "ignore":
                return None
            return "INSUFFICIENT_DATA", "Insufficient Data: no datapoints were received", "{}"
        shown = ", ".join(f"{value:g}" for value in present[-needed:]) or "none"
        data = json.dumps(
            {"version": "1.0", "queryDate": _iso(now), "recentDatapoints": present, "threshold": threshold}
        )
        operator = alarm["ComparisonOperator"].removesuffix("Threshold")
        if breaching >= needed:
            return (
                "ALARM",
                f"Threshold Crossed: {breaching} datapoint(s) [{shown}] were {operator} the threshold ({threshold:g}).",
                data,
            )
        return (
            "OK",
            f"Threshold Crossed: {needed} datapoint(s) needed, {breaching} breaching [{shown}] ({threshold:g}).",
            data,
        )

    def _change(self, alarm: dict[str, Any], value: str, reason: str, data: str, now: float) -> None:
        old = alarm["StateValue"]
        previous = {"value": old, "reason": alarm["StateReason"], "timestamp": _iso(alarm["StateUpdatedTimestamp"])}
        alarm.update(StateValue=value, StateReason=reason, StateReasonData=data, StateUpdatedTimestamp=now)
        if old != value:
            alarm["StateTransitionedTimestamp"] = now
        self.store.save_alarm(alarm)
        name = alarm["AlarmName"]
        history = {"version": "1.0", "oldState": {"stateValue": old, "stateReason": previous["reason"]},
                   "newState": {"stateValue": value, "stateReason": reason}}  # fmt: skip
        self.store.add_history(name, now, "StateUpdate", f"Alarm updated from {old} to {value}", json.dumps(history))
        if not alarm.get("ActionsEnabled", True):
            return
        key = {"OK": "OKActions", "ALARM": "AlarmActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}[value]
        event = json.dumps(self._event(alarm, previous, now)).encode()
        for target in alarm.get(key) or []:
            payload = notification(alarm, old, self.account, self.region, now) if _service(target) == "sns" else event
            self.pending.append((name, target, payload))

    def _event(self, alarm: dict[str, Any], previous: dict[str, str], now: float) -> dict[str, Any]:
        """What a Lambda function receives as an alarm action, as AWS sends it."""
        stat = alarm.get("Statistic") or alarm.get("ExtendedStatistic")
        metric = {
            "namespace": alarm["Namespace"],
            "name": alarm["MetricName"],
            "dimensions": {d["Name"]: d["Value"] for d in alarm["Dimensions"]},
        }
        return {
            "source": "aws.cloudwatch",
            "alarmArn": alarm["AlarmArn"],
            "accountId": self.account,
            "time": _iso(now),
            "region": self.region,
            "alarmData": {
                "alarmName": alarm["AlarmName"],
                "state": {"value": alarm["StateValue"], "reason": alarm["StateReason"], "timestamp": _iso(now)},
                "previousState": previous,
                "configuration": {
                    "description": alarm.get("AlarmDescription", ""),
                    "metrics": [
                        {
                            "id": "m1",
                            "metricStat": {"metric": metric, "period": alarm["Period"], "stat": stat},
                            "returnData": True,
                        }
                    ],
                },
            },
        }

    async def run_actions(self) -> None:
        """The actions state changes left, each recorded in the alarm's history as it went."""
        pending, self.pending = self.pending, []
        for name, target, payload in pending:
            action = {"lambda": self.invoke_function, "sns": self.notify_sns}.get(_service(target))
            if action is None:
                log.warning("alarm %s: no service on this server runs action %s", name, target)
                summary = f"Failed to execute action {target}: no such service here"
            else:
                try:
                    await action(target, payload)
                    summary = f"Successfully executed action {target}"
                except Exception as error:
                    summary = f"Failed to execute action {target}: {error}"
            self.store.add_history(name, time.time(), "Action", summary, json.dumps({"actionState": "Succeeded"
                                   if summary.startswith("Succ") else "Failed"}))  # fmt: skip


def _service(target: str) -> str:
    """``lambda``, ``sns``... of an action's ARN."""
    return target.split(":")[2] if target.count(":") >= 5 else ""


def _required(params: dict[str, Any], key: str) -> Any:
    value = params.get(key)
    if value is None or value == "":
        raise ServiceFault("MissingParameter", f"The parameter {key} is required.")
    return value


def _wire(alarm: dict[str, Any]) -> dict[str, Any]:
    """An alarm as DescribeAlarms answers: timestamps as timestamps."""
    wired = dict(alarm)
    for key in ("AlarmConfigurationUpdatedTimestamp", "StateUpdatedTimestamp", "StateTransitionedTimestamp"):
        if key in wired:
            wired[key] = Timestamp(wired[key])
    return wired
