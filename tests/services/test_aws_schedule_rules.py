"""EventBridge rules with a ScheduleExpression (PutRule + PutTargets, as the AWS CLI and SDKs make them) fire
their functions with EventBridge's Scheduled Event. A cron rule fires at the next whole minute, so this test
waits up to a minute, once, for all its rules at the same time."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from support import Server, aws_cli, create_function, running

PRINT_EVENT = "import json\ndef handler(event, context):\n    print('EVENT' + json.dumps(event))\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("rules") / "data") as server:
        yield server


def events_of(server: Server, function: str) -> list[dict]:
    logs = server.client("logs")
    try:
        found = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}", filterPattern="EVENT")["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [json.loads(event["message"].split("EVENT", 1)[1]) for event in found]


def test_scheduled_rules_fire_their_functions(server: Server) -> None:
    lam, events = server.client("lambda"), server.client("events")
    arns = {}
    for name in ("tick-plain", "tick-shaped", "tick-disabled"):
        create_function(lam, name, {"app.py": PRINT_EVENT})
        arns[name] = lam.get_function_configuration(FunctionName=name)["FunctionArn"]
    # the AWS CLI, as a user would
    plain = json.loads(aws_cli(server.endpoint, "events", "put-rule", "--name", "every-minute",
                               "--schedule-expression", "cron(* * * * ? *)").stdout)["RuleArn"]  # fmt: skip
    aws_cli(server.endpoint, "events", "put-targets", "--rule", "every-minute",
            "--targets", json.dumps([{"Id": "1", "Arn": arns["tick-plain"]}]))  # fmt: skip
    events.put_rule(Name="shaped", ScheduleExpression="cron(* * * * ? *)")
    transformer = {"InputPathsMap": {"at": "$.time"}, "InputTemplate": '{"at": <at>, "rule": "<aws.events.rule-name>"}'}
    events.put_targets(
        Rule="shaped", Targets=[{"Id": "1", "Arn": arns["tick-shaped"], "InputTransformer": transformer}]
    )
    events.put_rule(Name="off", ScheduleExpression="cron(* * * * ? *)", State="DISABLED")
    events.put_targets(Rule="off", Targets=[{"Id": "1", "Arn": arns["tick-disabled"]}])
    events.put_rule(Name="removed", ScheduleExpression="cron(* * * * ? *)")
    events.put_targets(Rule="removed", Targets=[{"Id": "1", "Arn": arns["tick-disabled"]}])
    events.remove_targets(Rule="removed", Ids=["1"])

    deadline = time.monotonic() + 75
    while not (events_of(server, "tick-plain") and events_of(server, "tick-shaped")):
        assert time.monotonic() < deadline, "the scheduled rules did not fire within a minute"
        time.sleep(0.5)
    (event,) = events_of(server, "tick-plain")[:1]
    assert set(event) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    assert (event["detail-type"], event["source"], event["resources"], event["detail"]) == (
        "Scheduled Event",
        "aws.events",
        [plain],
        {},
    )
    assert event["time"].endswith(":00Z") and event["account"] == "000000000000"
    (shaped,) = events_of(server, "tick-shaped")[:1]
    assert shaped == {"at": event["time"], "rule": "shaped"}
    assert events_of(server, "tick-disabled") == []
    listed = {rule["Name"]: rule for rule in events.list_rules()["Rules"]}
    assert listed["every-minute"]["ScheduleExpression"] == "cron(* * * * ? *)"
