"""Metrics and alarms are kept in kindling.db: what was recorded before a restart is still there after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from support import create_function, running


def test_metrics_and_alarms_survive_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running(data) as server:
        lam = server.client()
        create_function(lam, "kept", {"app.py": "def handler(event, context):\n    return 1\n"})
        server.client("cloudwatch").put_metric_alarm(
            AlarmName="kept-errors", Namespace="AWS/Lambda", MetricName="Errors", Statistic="Sum", Period=60,
            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
        )  # fmt: skip
        for _ in range(2):
            lam.invoke(FunctionName="kept")
    with running(data) as server:  # the invocations were never read before the stop: the stop flushed them
        cw = server.client("cloudwatch")
        now = datetime.now(UTC)
        reply = cw.get_metric_statistics(
            Namespace="AWS/Lambda", MetricName="Invocations", Dimensions=[{"Name": "FunctionName", "Value": "kept"}],
            Period=3600, Statistics=["Sum"], StartTime=now - timedelta(hours=2), EndTime=now + timedelta(hours=1),
        )  # fmt: skip
        assert sum(point["Sum"] for point in reply["Datapoints"]) == 2
        assert [alarm["AlarmName"] for alarm in cw.describe_alarms()["MetricAlarms"]] == ["kept-errors"]
