"""Schedules under ``/kindling/schedules``: rules fire the function asynchronously with EventBridge's event."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from email.message import Message

import pytest

from support import ROLE, Server, make_zip

PRINT_EVENT = {"app.py": "import json\ndef handler(event, context):\n    print(json.dumps(event))\n"}


def call(server: Server, method: str, path: str = "", body: dict | None = None) -> tuple[int, Message, dict]:
    request = urllib.request.Request(
        f"{server.endpoint}/kindling/schedules{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            raw = reply.read()
            return reply.status, reply.headers, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def soon(seconds: int) -> str:
    moment = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=seconds + 1)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def fired_events(server: Server, function: str) -> list[dict]:
    logs = server.client("logs")
    try:
        found = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}", filterPattern="{ $.version = 0 }")
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [json.loads(event["message"]) for event in found["events"]]


def wait_for_events(server: Server, function: str, count: int, timeout: float = 10) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = fired_events(server, function)
        if len(events) >= count:
            return events
        time.sleep(0.1)
    raise AssertionError(f"{function} fired {len(fired_events(server, function))} times, not {count}")


def test_a_one_time_schedule_fires_the_scheduled_event(server, deploy):
    function = deploy(PRINT_EVENT)
    when = soon(1)
    status, _, rule = call(server, "PUT", "/fire-once", {"ScheduleExpression": f"at({when})", "FunctionName": function})
    assert status == 200
    assert rule["NextFireTime"] == when + "Z" and rule["State"] == "ENABLED"
    (event,) = wait_for_events(server, function, 1)
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["time"] == when + "Z"
    assert event["resources"] == ["arn:aws:events:us-east-1:000000000000:rule/fire-once"]
    assert (event["version"], event["account"], event["region"], event["detail"]) == (
        "0", "000000000000", "us-east-1", {}
    )  # fmt: skip
    assert len(event["id"]) == 36
    _, _, after = call(server, "GET", "/fire-once")
    assert after["LastFireTime"] == when + "Z" and after["NextFireTime"] is None
    assert call(server, "DELETE", "/fire-once")[0] == 204


def test_input_replaces_the_event_and_disabled_rules_do_not_fire(server, deploy):
    function = deploy(PRINT_EVENT)
    rule = {"ScheduleExpression": f"at({soon(1)})", "FunctionName": function}
    call(server, "PUT", "/off", {**rule, "State": "DISABLED", "Input": json.dumps({"version": 0, "who": "off"})})
    call(server, "PUT", "/custom", {**rule, "Input": json.dumps({"version": 0, "who": "custom"})})
    wait_for_events(server, function, 1)
    time.sleep(0.5)
    assert fired_events(server, function) == [{"version": 0, "who": "custom"}]
    listed = call(server, "GET")[2]["Schedules"]
    assert {r["Name"]: r["State"] for r in listed if r["Name"] in ("off", "custom")} == {
        "off": "DISABLED",
        "custom": "ENABLED",
    }
    for name in ("off", "custom"):
        call(server, "DELETE", f"/{name}")


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        ({"ScheduleExpression": "rate(5 minute)"}, 400, "ValidationException", "plural"),
        ({"ScheduleExpression": "cron(0 12 * * * *)"}, 400, "ValidationException", "'?'"),
        ({"ScheduleExpression": "rate(5 minutes)", "State": "ON"}, 400, "ValidationException", "ENABLED"),
        ({"ScheduleExpression": "rate(5 minutes)", "Input": "{oops"}, 400, "ValidationException", "JSON"),
        (
            {"ScheduleExpression": "rate(5 minutes)", "FunctionName": "no-such-fn"},
            404,
            "ResourceNotFoundException",
            "no-such-fn",
        ),
    ],
)
def test_bad_rules_are_refused(server, deploy, body, status, code, message):
    function = deploy(PRINT_EVENT)
    got, headers, reply = call(server, "PUT", "/bad", {"FunctionName": function, **body})
    assert (got, headers["x-amzn-ErrorType"]) == (status, code)
    assert message in (reply.get("message") or reply.get("Message"))
    assert call(server, "GET", "/bad")[0] == 404


def test_rules_survive_a_restart_without_firing_twice(tmp_path):
    server = Server(tmp_path / "data").start()
    try:
        lam = server.client()
        lam.create_function(
            FunctionName="ticker",
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": make_zip(PRINT_EVENT)},
        )
        call(server, "PUT", "/fired-before", {"ScheduleExpression": f"at({soon(1)})", "FunctionName": "ticker"})
        daily = call(server, "PUT", "/daily", {"ScheduleExpression": "cron(0 12 * * ? *)", "FunctionName": "ticker"})[2]
        wait_for_events(server, "ticker", 1)
        call(server, "PUT", "/due-during-restart", {"ScheduleExpression": f"at({soon(2)})", "FunctionName": "ticker"})
    finally:
        server.stop()
    time.sleep(3)
    again = Server(tmp_path / "data", port=server.port).start()
    try:
        events = wait_for_events(again, "ticker", 2)
        time.sleep(1)
        events = fired_events(again, "ticker")
        assert sorted(e["resources"][0].rsplit("/", 1)[1] for e in events) == ["due-during-restart", "fired-before"]
        rules = {r["Name"]: r for r in call(again, "GET")[2]["Schedules"]}
        assert rules["daily"]["NextFireTime"] == daily["NextFireTime"]
        assert rules["fired-before"]["LastFireTime"] is not None
    finally:
        again.stop()


def test_rules_kept_in_schedules_db_by_an_older_release_are_taken_over(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    legacy = sqlite3.connect(data / "schedules.db")
    legacy.execute(
        "CREATE TABLE rules (name TEXT PRIMARY KEY, expression TEXT NOT NULL, function TEXT NOT NULL,"
        " input TEXT, enabled INTEGER NOT NULL, created REAL NOT NULL, next_fire REAL, last_fire REAL)"
    )
    legacy.execute("INSERT INTO rules VALUES ('nightly', 'cron(0 3 * * ? *)', 'etl', NULL, 0, 1.0, NULL, NULL)")
    legacy.commit()
    legacy.close()
    server = Server(data).start()
    try:
        status, _, rule = call(server, "GET", "/nightly")
        assert status == 200
        assert (rule["ScheduleExpression"], rule["FunctionName"], rule["State"]) == (
            "cron(0 3 * * ? *)",
            "etl",
            "DISABLED",
        )
        assert not (data / "schedules.db").exists()
    finally:
        server.stop()
    server = Server(data).start()  # taken over once: the rule now lives in kindling.db
    try:
        assert call(server, "GET", "/nightly")[0] == 200
    finally:
        server.stop()
