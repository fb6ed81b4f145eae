"""An alarm's SNS action: AWS's alarm notification (the JSON message CloudWatch publishes, its
``ALARM: "name" in Region`` subject) published to the topic, on the SNS this server serves or the one
``--service-endpoint sns=URL`` names, signed with the platform's own keys; the topic's subscribers (a Lambda
function among them) get it as from AWS.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from ..config import Config

REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
    "eu-west-2": "EU (London)",
    "eu-central-1": "EU (Frankfurt)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
}


def region_name(region: str) -> str:
    return REGION_NAMES.get(region, region)


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}+0000"


def message(alarm: dict[str, Any], old_state: str, account: str, region: str, now: float) -> dict[str, Any]:
    """The notification CloudWatch publishes to an alarm's SNS topics."""
    statistic = alarm.get("Statistic")
    trigger = {
        "MetricName": alarm["MetricName"],
        "Namespace": alarm["Namespace"],
        "StatisticType": "Statistic" if statistic else "ExtendedStatistic",
        "Statistic": statistic.upper() if statistic else alarm.get("ExtendedStatistic"),
        "Unit": alarm.get("Unit"),
        "Dimensions": [{"value": d["Value"], "name": d["Name"]} for d in alarm["Dimensions"]],
        "Period": alarm["Period"],
        "EvaluationPeriods": alarm["EvaluationPeriods"],
        "DatapointsToAlarm": alarm.get("DatapointsToAlarm") or alarm["EvaluationPeriods"],
        "ComparisonOperator": alarm["ComparisonOperator"],
        "Threshold": float(alarm["Threshold"]),
        "TreatMissingData": alarm.get("TreatMissingData", "missing"),
        "EvaluateLowSampleCountPercentile": "",
    }
    return {
        "AlarmName": alarm["AlarmName"],
        "AlarmDescription": alarm.get("AlarmDescription"),
        "AWSAccountId": account,
        "AlarmConfigurationUpdatedTimestamp": _iso(alarm["AlarmConfigurationUpdatedTimestamp"]),
        "NewStateValue": alarm["StateValue"],
        "NewStateReason": alarm["StateReason"],
        "StateChangeTime": _iso(now),
        "Region": region_name(region),
        "AlarmArn": alarm["AlarmArn"],
        "OldStateValue": old_state,
        "OKActions": alarm.get("OKActions") or [],
        "AlarmActions": alarm.get("AlarmActions") or [],
        "InsufficientDataActions": alarm.get("InsufficientDataActions") or [],
        "Trigger": trigger,
    }


def subject(alarm_name: str, state: str, region: str) -> str:
    return f'{state}: "{alarm_name}" in {region_name(region)}'[:100]  # SNS subjects stop at 100 characters


class SnsPublisher:
    """Publishes to an SNS topic (a worker thread makes the call; a client is made once)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._client: Any = None

    def _publish(self, topic_arn: str, subject_line: str, body: str) -> None:
        if self._client is None:
            import boto3  # only once an alarm publishes: the server starts without it
            from botocore.config import Config as BotoConfig

            session = boto3.session.Session()
            keys = {}
            if session.get_credentials() is None:  # the SNS on this port: the platform's own keys
                keys = dict(zip(("aws_access_key_id", "aws_secret_access_key"), self.config.platform_keys, strict=True))
            self._client = session.client(
                "sns",
                endpoint_url=self.config.endpoint_for("sns"),
                region_name=topic_arn.split(":")[3],
                config=BotoConfig(retries={"max_attempts": 2}, read_timeout=30),
                **keys,
            )
        self._client.publish(TopicArn=topic_arn, Subject=subject_line, Message=body)

    async def __call__(self, topic_arn: str, payload: bytes) -> None:
        """``payload``: ``{"Subject": …, "Message": …}`` as ``Alarms`` leaves it."""
        notification = json.loads(payload)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._publish, topic_arn, notification["Subject"], notification["Message"])


def notification(alarm: dict[str, Any], old_state: str, account: str, region: str, now: float) -> bytes:
    """What ``SnsPublisher`` publishes for a state change: the subject and the message."""
    body = message(alarm, old_state, account, region, now)
    return json.dumps(
        {"Subject": subject(alarm["AlarmName"], alarm["StateValue"], region), "Message": json.dumps(body)}
    ).encode()
