"""The Monitor tab and the functions list read the function's CloudWatch metrics (GetMetricData on the port):
invocations, errors, duration p50/p99, throttles and concurrency, as a user's boto3 calls made them."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from console_support import shot, unique
from playwright.sync_api import Page, expect

from support import create_function

CODE = """
def handler(event, context):
    print(event.get("say", "nothing to say"))
    if event.get("fail"):
        raise RuntimeError("asked to fail")
    return "ok"
"""


@pytest.fixture(scope="module")
def watched(lam) -> str:  # type: ignore[no-untyped-def]
    """Three invocations (one failing), then one throttled by a reserved concurrency of 0."""
    name = create_function(lam, unique("watched"), {"app.py": CODE})
    for payload in (b"{}", b"{}", b'{"fail": true}'):
        lam.invoke(FunctionName=name, Payload=payload)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(lam.exceptions.TooManyRequestsException):
        lam.invoke(FunctionName=name)
    lam.delete_function_concurrency(FunctionName=name)
    return name


def _hour_sum(server, name: str, metric: str) -> int:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    answer = server.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName=metric,
        Dimensions=[{"Name": "FunctionName", "Value": name}],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(minutes=1),
        Period=60,
        Statistics=["Sum"],
    )
    return int(sum(point["Sum"] for point in answer["Datapoints"]))


def test_monitor_charts_come_from_cloudwatch_metrics(server, watched: str, page: Page) -> None:
    page.goto(f"{server.endpoint}/console/#/functions/{watched}/monitor")
    metrics = page.get_by_role("region", name="Metrics")
    expect(metrics.locator("[data-metric=invocations]")).to_have_text("3")
    expect(metrics.locator("[data-metric=errors]")).to_have_text("1")
    throttles = _hour_sum(server, watched, "Throttles")  # boto3 retries a throttled call: one or more
    assert throttles >= 1
    expect(metrics.locator("[data-metric=throttles]")).to_have_text(str(throttles))
    expect(metrics.locator("[data-metric=concurrency]")).to_have_text("1")
    expect(metrics.locator("[data-metric=p50]")).to_have_text(re.compile(r"^\d+\.\d\d ms$"))
    expect(metrics.locator("[data-metric=p99]")).to_have_text(re.compile(r"^\d+\.\d\d ms$"))
    for title in (
        "Invocations: 3 in the last hour",
        "Errors: 1 in the last hour",
        f"Throttles: {throttles} in the last hour",
    ):
        expect(metrics.get_by_role("img", name=title)).to_be_visible()
    expect(metrics.get_by_role("img", name=re.compile(r"^Duration p50 \d"))).to_be_visible()
    expect(metrics.get_by_role("img", name="Concurrent executions: at most 1")).to_be_visible()
    expect(page.get_by_label("Log events", exact=True)).to_contain_text("asked to fail")
    shot(page, "monitor")
    page.get_by_label("Filter log events").fill('"asked to fail"')
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_label("Log events", exact=True)).not_to_contain_text("START RequestId")


def test_list_shows_the_hour_with_a_sparkline(server, watched: str, page: Page) -> None:
    page.goto(f"{server.endpoint}/console/")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=watched))
    expect(row.locator("[data-stat=invocations]")).to_have_text("3")
    expect(row.locator("[data-stat=errors]")).to_have_text("1")
    expect(row.get_by_role("img", name=re.compile(r"^Invocations per 5 minutes: .*3$"))).to_be_visible()
    shot(page, "functions")


def test_live_tail_streams_what_matches_the_filter(server, lam, watched: str, page: Page) -> None:
    page.goto(f"{server.endpoint}/console/#/functions/{watched}/monitor")
    events = page.get_by_label("Log events", exact=True)
    expect(events).to_contain_text("asked to fail")  # the last hour, read first
    page.get_by_label("Filter log events").fill('"tail me"')
    page.get_by_label("Live tail").check()
    expect(page.get_by_role("status").filter(has_text="Tailing")).to_be_visible()
    expect(events).to_have_text("No log events in the last hour.")
    for say in ("tail me once", "not this one", "tail me twice"):
        lam.invoke(FunctionName=watched, Payload=json.dumps({"say": say}).encode())
    expect(events).to_have_text(re.compile(r"tail me once\n.*tail me twice$"))
    assert "not this one" not in events.inner_text()
    with page.expect_request(lambda r: "StartLiveTail" in (r.headers.get("x-amz-target") or "")):
        page.get_by_label("Filter log events").fill('"not this"')
        page.get_by_role("button", name="Search").click()
    expect(events).to_contain_text("not this one")
    page.get_by_label("Live tail").uncheck()
    expect(page.get_by_role("status").filter(has_text="Tailing")).to_have_count(0)
