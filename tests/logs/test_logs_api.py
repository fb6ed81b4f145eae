"""The CloudWatch Logs API on the Lambda port, as boto3's ``logs`` client and the AWS CLI v1 use it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest

from support import aws_cli

PRINTER = {
    "app.py": (
        "import json, logging\n"
        "def handler(event, context):\n"
        "    for line in event.get('lines', []):\n"
        "        print(line)\n"
        "    if 'record' in event:\n"
        "        print(json.dumps(event['record']))\n"
        "    if 'multi' in event:\n"
        "        logging.getLogger().error(event['multi'])\n"
        "    return 'ok'\n"
    )
}


@pytest.fixture(scope="module")
def logs(server):  # type: ignore[no-untyped-def]
    return server.client("logs")


def say(lam, name: str, **event: object) -> None:  # type: ignore[no-untyped-def]
    reply = lam.invoke(FunctionName=name, Payload=json.dumps(event))
    assert "FunctionError" not in reply, reply["Payload"].read()


def messages(events: list[dict]) -> list[str]:
    return [event["message"] for event in events]


def newest_stream(logs, group: str) -> str:  # type: ignore[no-untyped-def]
    streams = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True, limit=1)
    return streams["logStreams"][0]["logStreamName"]


def test_a_functions_group_and_stream_are_listed(lam, logs, deploy):
    name = deploy(PRINTER)
    say(lam, name, lines=["hello"])
    group = f"/aws/lambda/{name}"
    groups = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [group]
    assert groups[0]["arn"] == f"arn:aws:logs:us-east-1:000000000000:log-group:{group}:*"
    assert "retentionInDays" not in groups[0]
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert len(streams) == 1
    stream = streams[0]
    assert stream["logStreamName"].startswith(time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()))
    assert stream["firstEventTimestamp"] <= stream["lastEventTimestamp"] <= time.time() * 1000
    pattern = logs.describe_log_groups(logGroupNamePattern=name.upper())["logGroups"]
    assert group in [g["logGroupName"] for g in pattern]


def test_each_invocation_reads_start_its_lines_end_report_in_order(lam, logs, deploy):
    """END and REPORT are written just after the caller has its answer: still before the next invocation's
    START, and already there for a read that follows the reply."""
    name = deploy(PRINTER)
    ids = []
    for index in range(5):
        reply = lam.invoke(FunctionName=name, Payload=json.dumps({"lines": [f"first {index}", f"last {index}"]}))
        ids.append(reply["ResponseMetadata"]["RequestId"])
        stream = newest_stream(logs, f"/aws/lambda/{name}")
        seen = messages(logs.get_log_events(logGroupName=f"/aws/lambda/{name}", logStreamName=stream)["events"])
        assert seen[-1].startswith(f"REPORT RequestId: {ids[-1]}\t"), seen[-4:]
    expected = []
    for index, request_id in enumerate(ids):
        expected += [f"START RequestId: {request_id} Version: $LATEST", f"first {index}", f"last {index}"]
        expected += [f"END RequestId: {request_id}", "REPORT"]
    seen = [line if not line.startswith("REPORT") else "REPORT" for line in seen]
    assert [line for line in seen if not line.startswith("INIT_START")] == expected


def test_get_log_events_reads_from_the_head_and_follows_with_the_forward_token(lam, logs, deploy):
    name = deploy(PRINTER)
    say(lam, name, lines=["one", "two"])
    group = f"/aws/lambda/{name}"
    stream = newest_stream(logs, group)
    first = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    text = messages(first["events"])
    assert text[0].startswith("START RequestId: ")
    assert text[1:3] == ["one", "two"]
    assert text[-1].startswith("REPORT RequestId: ")
    assert all(e["timestamp"] > 0 and e["ingestionTime"] > 0 for e in first["events"])

    idle = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=first["nextForwardToken"])
    assert idle["events"] == []
    assert idle["nextForwardToken"] == first["nextForwardToken"]

    say(lam, name, lines=["three"])
    more = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=idle["nextForwardToken"])
    assert messages(more["events"])[1] == "three"
    assert not any(m in ("one", "two") for m in messages(more["events"]))


def test_get_log_events_from_the_tail_and_backwards(lam, logs, deploy):
    name = deploy(PRINTER)
    say(lam, name, lines=[f"line {i}" for i in range(10)])
    group = f"/aws/lambda/{name}"
    stream = newest_stream(logs, group)
    tail = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=3)
    assert messages(tail["events"])[0] == "line 9"
    assert messages(tail["events"])[2].startswith("REPORT")
    older = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=3, nextToken=tail["nextBackwardToken"])
    assert messages(older["events"]) == ["line 6", "line 7", "line 8"]
    assert (
        logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=tail["nextForwardToken"])["events"]
        == []
    )


def test_a_multi_line_log_record_is_one_event(lam, logs, deploy):
    name = deploy(PRINTER)
    say(lam, name, multi="first line\nsecond line")
    group = f"/aws/lambda/{name}"
    found = logs.filter_log_events(logGroupName=group, filterPattern='"second line"')["events"]
    assert len(found) == 1
    assert found[0]["message"].startswith("[ERROR]\t")
    assert found[0]["message"].endswith("\tfirst line\nsecond line")


def test_filter_log_events_patterns(lam, logs, deploy):
    name = deploy(PRINTER)
    group = f"/aws/lambda/{name}"
    say(lam, name, lines=["ERROR disk full", "WARN disk slow", "ERROR retrying", "INFO fine"])
    for level, x in (("ERROR", 3), ("INFO", 9), ("ERROR", 12)):
        say(lam, name, record={"level": level, "x": x})

    def found(pattern: str) -> list[str]:
        return messages(logs.filter_log_events(logGroupName=group, filterPattern=pattern)["events"])

    assert found("ERROR disk") == ["ERROR disk full"]
    assert found('"disk slow"') == ["WARN disk slow"]
    assert found("?WARN ?fine") == ["WARN disk slow", "INFO fine"]
    assert found("ERROR -retrying -level") == ["ERROR disk full"]
    assert found('{ $.level = "ERROR" }') == ['{"level": "ERROR", "x": 3}', '{"level": "ERROR", "x": 12}']
    assert found("{ $.x > 5 }") == ['{"level": "INFO", "x": 9}', '{"level": "ERROR", "x": 12}']
    assert found('{ $.x > 5 && $.level = "ERROR" }') == ['{"level": "ERROR", "x": 12}']
    reports = found("[type = REPORT, ...]")
    assert len(reports) == 4 and all(m.startswith("REPORT RequestId: ") for m in reports)
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.filter_log_events(logGroupName=group, filterPattern="{ $.x > }")


def test_filter_log_events_by_time_stream_and_pages(lam, logs, deploy):
    name = deploy(PRINTER)
    group = f"/aws/lambda/{name}"
    say(lam, name, lines=["early"])
    time.sleep(0.05)
    middle = int(time.time() * 1000)
    time.sleep(0.05)
    say(lam, name, lines=[f"late {i}" for i in range(5)])
    after = messages(logs.filter_log_events(logGroupName=group, startTime=middle, filterPattern="late")["events"])
    assert after == [f"late {i}" for i in range(5)]
    before = logs.filter_log_events(logGroupName=group, endTime=middle, filterPattern="early")["events"]
    assert messages(before) == ["early"]

    stream = newest_stream(logs, group)
    events = logs.filter_log_events(logGroupName=group, logStreamNames=[stream])["events"]
    assert {e["logStreamName"] for e in events} == {stream}
    assert len({e["eventId"] for e in events}) == len(events)

    pages = list(
        logs.get_paginator("filter_log_events").paginate(
            logGroupName=group, filterPattern="late", PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(page["events"]) for page in pages] == [2, 2, 1]
    assert [m for page in pages for m in messages(page["events"])] == after
    assert "nextToken" not in pages[-1]


def test_describe_log_streams_orders_and_pages(logs):
    group = "/kindling/test/streams"
    logs.create_log_group(logGroupName=group)
    try:
        now = int(time.time() * 1000)
        for index, stream in enumerate(["b-stream", "a-stream", "c-stream"]):
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
            logs.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[{"timestamp": now - 1000 + index, "message": f"in {stream}"}],
            )

        def names(**kwargs: object) -> list[str]:
            return [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group, **kwargs)["logStreams"]]

        assert names() == ["a-stream", "b-stream", "c-stream"]
        assert names(descending=True) == ["c-stream", "b-stream", "a-stream"]
        assert names(orderBy="LastEventTime", descending=True) == ["c-stream", "a-stream", "b-stream"]
        assert names(logStreamNamePrefix="b") == ["b-stream"]
        first = logs.describe_log_streams(logGroupName=group, limit=2)
        assert len(first["logStreams"]) == 2
        rest = logs.describe_log_streams(logGroupName=group, limit=2, nextToken=first["nextToken"])
        assert [s["logStreamName"] for s in rest["logStreams"]] == ["c-stream"]
        assert "nextToken" not in rest
        with pytest.raises(logs.exceptions.InvalidParameterException, match="LastEventTime"):
            logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", logStreamNamePrefix="a")
        logs.delete_log_stream(logGroupName=group, logStreamName="a-stream")
        assert names() == ["b-stream", "c-stream"]
        with pytest.raises(logs.exceptions.ResourceNotFoundException, match="log stream does not exist"):
            logs.get_log_events(logGroupName=group, logStreamName="a-stream")
    finally:
        logs.delete_log_group(logGroupName=group)


def test_log_group_lifecycle_and_errors(logs, server):
    group = "/kindling/test/lifecycle"
    logs.create_log_group(logGroupName=group)
    with pytest.raises(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["creationTime"] <= time.time() * 1000
    logs.delete_log_group(logGroupName=group)
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] == []
    with pytest.raises(logs.exceptions.ResourceNotFoundException, match="log group does not exist"):
        logs.delete_log_group(logGroupName=group)

    request = urllib.request.Request(
        server.endpoint + "/",
        data=json.dumps({"logGroupName": group}).encode(),
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.DescribeLogStreams"},
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert raised.value.code == 400
    assert json.loads(raised.value.read()) == {
        "__type": "ResourceNotFoundException",
        "message": "The specified log group does not exist.",
    }


def test_describe_log_groups_pages(logs):
    groups = [f"/kindling/test/pages/{i}" for i in range(3)]
    for group in groups:
        logs.create_log_group(logGroupName=group)
    try:
        pages = list(
            logs.get_paginator("describe_log_groups").paginate(
                logGroupNamePrefix="/kindling/test/pages/", PaginationConfig={"PageSize": 2}
            )
        )
        assert [[g["logGroupName"] for g in page["logGroups"]] for page in pages] == [groups[:2], groups[2:]]
    finally:
        for group in groups:
            logs.delete_log_group(logGroupName=group)


def test_retention_hides_and_deletes_old_events(logs, server):
    group = "/kindling/test/retention"
    logs.create_log_group(logGroupName=group)
    try:
        logs.create_log_stream(logGroupName=group, logStreamName="s")
        now = int(time.time() * 1000)
        logs.put_log_events(
            logGroupName=group,
            logStreamName="s",
            logEvents=[
                {"timestamp": now - 3 * 86_400_000, "message": "three days old"},
                {"timestamp": now, "message": "fresh"},
            ],
        )
        assert messages(logs.filter_log_events(logGroupName=group)["events"]) == ["three days old", "fresh"]
        with pytest.raises(logs.exceptions.InvalidParameterException, match="retentionInDays"):
            logs.put_retention_policy(logGroupName=group, retentionInDays=2)
        logs.put_retention_policy(logGroupName=group, retentionInDays=1)
        assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"] == 1
        assert messages(logs.filter_log_events(logGroupName=group)["events"]) == ["fresh"]
        head = logs.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True)
        assert messages(head["events"]) == ["fresh"]
        stored = (server.data_dir / "logs" / quote(group, safe="") / "s").read_text()
        assert "three days old" not in stored and "fresh" in stored
        rejected = logs.put_log_events(
            logGroupName=group, logStreamName="s", logEvents=[{"timestamp": now - 2 * 86_400_000, "message": "late"}]
        )
        assert rejected["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 0}
        with pytest.raises(logs.exceptions.ResourceNotFoundException):
            logs.put_retention_policy(logGroupName="/kindling/test/no-such-group", retentionInDays=1)
    finally:
        logs.delete_log_group(logGroupName=group)


def test_a_deleted_function_group_comes_back_on_the_next_invoke(lam, logs, deploy):
    name = deploy(PRINTER)
    group = f"/aws/lambda/{name}"
    say(lam, name, lines=["before"])
    logs.delete_log_group(logGroupName=group)
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] == []
    say(lam, name, lines=["after"])
    assert messages(logs.filter_log_events(logGroupName=group, filterPattern="before")["events"]) == []
    assert messages(logs.filter_log_events(logGroupName=group, filterPattern="after")["events"]) == ["after"]


def test_the_aws_cli_reads_function_logs(lam, deploy, server):
    name = deploy(PRINTER)
    group = f"/aws/lambda/{name}"
    say(lam, name, lines=["from the cli test"], record={"level": "ERROR", "x": 1})
    listed = json.loads(
        aws_cli(server.endpoint, "logs", "describe-log-groups", "--log-group-name-prefix", group).stdout
    )
    assert [g["logGroupName"] for g in listed["logGroups"]] == [group]
    streams = json.loads(
        aws_cli(
            server.endpoint,
            "logs",
            "describe-log-streams",
            "--log-group-name",
            group,
            "--order-by",
            "LastEventTime",
            "--descending",
        ).stdout
    )
    stream = streams["logStreams"][0]["logStreamName"]
    events = json.loads(
        aws_cli(
            server.endpoint,
            "logs",
            "get-log-events",
            "--log-group-name",
            group,
            "--log-stream-name",
            stream,
            "--start-from-head",
        ).stdout
    )
    assert "from the cli test" in messages(events["events"])
    filtered = json.loads(
        aws_cli(
            server.endpoint,
            "logs",
            "filter-log-events",
            "--log-group-name",
            group,
            "--filter-pattern",
            '{ $.level = "ERROR" }',
        ).stdout
    )
    assert messages(filtered["events"]) == ['{"level": "ERROR", "x": 1}']
    missing = aws_cli(server.endpoint, "logs", "describe-log-streams", "--log-group-name", "/nope", check=False)
    assert missing.returncode != 0
    assert "ResourceNotFoundException" in missing.stderr and "log group does not exist" in missing.stderr
