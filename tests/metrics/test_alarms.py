"""Alarms: evaluated every interval on stored metrics, their history kept, their Lambda actions run."""

from __future__ import annotations

import json
import time

import pytest

from support import Server, create_function

FAILING = "def handler(event, context):\n    raise RuntimeError('boom')\n"
ACTION = "import json\ndef handler(event, context):\n    print('ALARM-EVENT ' + json.dumps(event))\n"


def wait_for(check, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def test_an_alarm_on_errors_goes_to_alarm_and_invokes_its_function(lam, cw, server: Server) -> None:  # type: ignore[no-untyped-def]
    create_function(lam, "flaky", {"app.py": FAILING})
    action_arn = lam.get_function(FunctionName=create_function(lam, "pager", {"app.py": ACTION}))["Configuration"][
        "FunctionArn"
    ]
    cw.put_metric_alarm(
        AlarmName="flaky-errors", Namespace="AWS/Lambda", MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": "flaky"}], Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=0, ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching", AlarmActions=[action_arn],
    )  # fmt: skip
    [alarm] = cw.describe_alarms(AlarmNames=["flaky-errors"])["MetricAlarms"]
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert alarm["AlarmArn"] == "arn:aws:cloudwatch:us-east-1:000000000000:alarm:flaky-errors"
    wait_for(lambda: cw.describe_alarms(AlarmNames=["flaky-errors"])["MetricAlarms"][0]["StateValue"] == "OK")
    assert lam.invoke(FunctionName="flaky")["FunctionError"] == "Unhandled"
    wait_for(lambda: cw.describe_alarms(StateValue="ALARM")["MetricAlarms"])
    logs = server.client("logs")

    def delivered() -> list[dict]:
        try:
            events = logs.filter_log_events(logGroupName="/aws/lambda/pager", filterPattern="ALARM-EVENT")["events"]
        except logs.exceptions.ResourceNotFoundException:
            return []
        return [json.loads(e["message"].split("ALARM-EVENT ", 1)[1]) for e in events]

    [event] = wait_for(delivered)
    assert event["source"] == "aws.cloudwatch"
    assert event["alarmData"]["alarmName"] == "flaky-errors"
    assert event["alarmData"]["state"]["value"] == "ALARM"
    assert event["alarmData"]["previousState"]["value"] == "OK"
    history = cw.describe_alarm_history(AlarmName="flaky-errors")["AlarmHistoryItems"]
    kinds = [item["HistoryItemType"] for item in history]
    assert "ConfigurationUpdate" in kinds and "Action" in kinds
    summaries = [item["HistorySummary"] for item in history if item["HistoryItemType"] == "StateUpdate"]
    assert "Alarm updated from OK to ALARM" in summaries


def test_set_alarm_state_and_delete(cw) -> None:  # type: ignore[no-untyped-def]
    cw.put_metric_alarm(
        AlarmName="quiet", Namespace="Custom", MetricName="Nothing", Statistic="Average", Period=60,
        EvaluationPeriods=3, DatapointsToAlarm=2, Threshold=5, ComparisonOperator="LessThanThreshold",
        TreatMissingData="ignore",
    )  # fmt: skip
    cw.set_alarm_state(AlarmName="quiet", StateValue="ALARM", StateReason="testing")
    [alarm] = cw.describe_alarms(AlarmNamePrefix="qui")["MetricAlarms"]
    assert (alarm["StateValue"], alarm["StateReason"]) == ("ALARM", "testing")
    time.sleep(1.5)  # an evaluation passes: with no data and TreatMissingData=ignore the state stays
    assert cw.describe_alarms(AlarmNames=["quiet"])["MetricAlarms"][0]["StateValue"] == "ALARM"
    with pytest.raises(cw.exceptions.ResourceNotFound):
        cw.set_alarm_state(AlarmName="nope", StateValue="OK", StateReason="x")
    with pytest.raises(cw.exceptions.ResourceNotFound):
        cw.delete_alarms(AlarmNames=["quiet", "nope"])
    cw.delete_alarms(AlarmNames=["quiet"])
    assert cw.describe_alarms(AlarmNames=["quiet"])["MetricAlarms"] == []


def test_bad_alarms_are_refused(cw) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(cw.exceptions.InvalidParameterCombinationException):
        cw.put_metric_alarm(
            AlarmName="bad", Namespace="X", MetricName="Y", Period=60, EvaluationPeriods=1, Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
        )  # fmt: skip
    assert cw.describe_alarms(AlarmNames=["bad"])["MetricAlarms"] == []


def test_an_alarm_publishes_to_its_sns_topic_and_the_subscribed_function_runs(lam, cw, server: Server) -> None:  # type: ignore[no-untyped-def]
    sns = server.client("sns")
    topic = sns.create_topic(Name="alarms")["TopicArn"]
    listener = lam.get_function(FunctionName=create_function(lam, "alarm-listener", {"app.py": ACTION}))
    listener_arn = listener["Configuration"]["FunctionArn"]
    lam.add_permission(
        FunctionName="alarm-listener", StatementId="sns", Action="lambda:InvokeFunction",
        Principal="sns.amazonaws.com", SourceArn=topic,
    )  # fmt: skip
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=listener_arn)
    cw.put_metric_alarm(
        AlarmName="queue-deep", AlarmDescription="too many orders waiting", Namespace="Shop", MetricName="Backlog",
        Dimensions=[{"Name": "Queue", "Value": "orders"}], Statistic="Maximum", Period=60, EvaluationPeriods=1,
        Threshold=100, ComparisonOperator="GreaterThanThreshold", TreatMissingData="ignore", AlarmActions=[topic],
    )  # fmt: skip
    cw.set_alarm_state(AlarmName="queue-deep", StateValue="ALARM", StateReason="backlog over 100")
    logs = server.client("logs")

    def delivered() -> list[dict]:
        try:
            events = logs.filter_log_events(logGroupName="/aws/lambda/alarm-listener", filterPattern="ALARM-EVENT")
        except logs.exceptions.ResourceNotFoundException:
            return []
        return [json.loads(e["message"].split("ALARM-EVENT ", 1)[1]) for e in events["events"]]

    [event] = wait_for(delivered)
    record = event["Records"][0]
    assert record["EventSource"] == "aws:sns" and record["Sns"]["TopicArn"] == topic
    assert record["Sns"]["Subject"] == 'ALARM: "queue-deep" in US East (N. Virginia)'
    message = json.loads(record["Sns"]["Message"])
    assert (message["AlarmName"], message["NewStateValue"], message["OldStateValue"]) == (
        "queue-deep", "ALARM", "INSUFFICIENT_DATA",
    )  # fmt: skip
    assert message["NewStateReason"] == "backlog over 100"
    assert message["AlarmArn"] == "arn:aws:cloudwatch:us-east-1:000000000000:alarm:queue-deep"
    assert message["AlarmDescription"] == "too many orders waiting"
    trigger = message["Trigger"]
    assert (trigger["MetricName"], trigger["Namespace"], trigger["Statistic"]) == ("Backlog", "Shop", "MAXIMUM")
    assert trigger["Dimensions"] == [{"value": "orders", "name": "Queue"}] and trigger["Threshold"] == 100.0
    history = cw.describe_alarm_history(AlarmName="queue-deep", HistoryItemType="Action")["AlarmHistoryItems"]
    assert history[0]["HistorySummary"] == f"Successfully executed action {topic}"
