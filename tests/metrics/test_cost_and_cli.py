"""Cost from recorded usage, checked against a figure computed by hand from the REPORT lines; and the
terminal views (``kindling cost``, ``metrics``, ``top``, ``alarms``) on a real server."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from support import KINDLING, Server, create_function

HANDLER = """
import time
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    end = time.monotonic() + event.get("spin", 0)
    while time.monotonic() < end:
        pass
    return 1
"""
X86_PER_GB_S, ARM_PER_GB_S, PER_REQUEST, EPHEMERAL_PER_GB_S = 0.0000166667, 0.0000133334, 0.2 / 1e6, 0.0000000309


def kindling(server: Server, *args: str) -> str:
    done = subprocess.run(
        [KINDLING, *args, "--endpoint", server.endpoint], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def billed_ms(server: Server, function: str, count: int) -> list[int]:
    logs = server.client("logs")
    deadline = time.monotonic() + 10
    while True:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}", filterPattern="REPORT")["events"]
        if len(events) == count or time.monotonic() > deadline:
            return [int(re.search(r"Billed Duration: (\d+) ms", e["message"]).group(1)) for e in events]
        time.sleep(0.1)


@pytest.fixture(scope="module")
def workload(lam, server: Server) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    create_function(lam, "priced", {"app.py": HANDLER}, MemorySize=1024, EphemeralStorage={"Size": 1024})
    create_function(lam, "priced-arm", {"app.py": HANDLER}, MemorySize=2048, Architectures=["arm64"])
    for _ in range(5):
        lam.invoke(FunctionName="priced", Payload=json.dumps({"sleep": 0.05}))
    for _ in range(3):
        lam.invoke(FunctionName="priced-arm", Payload=json.dumps({"sleep": 0.02}))
    x86 = sum(billed_ms(server, "priced", 5)) / 1000
    arm = sum(billed_ms(server, "priced-arm", 3)) / 1000
    return {
        "priced": {
            "requests": 5,
            "gb_seconds": x86,
            "cost": 5 * PER_REQUEST + x86 * X86_PER_GB_S + 0.5 * x86 * EPHEMERAL_PER_GB_S,
            "ephemeral": 0.5 * x86 * EPHEMERAL_PER_GB_S,
        },
        "priced-arm": {
            "requests": 3,
            "gb_seconds": arm * 2,
            "cost": 3 * PER_REQUEST + arm * 2 * ARM_PER_GB_S,
            "ephemeral": 0,
        },
    }


def test_cost_json_equals_the_hand_computed_figure(server: Server, workload: dict[str, dict]) -> None:
    report = json.loads(kindling(server, "cost", "--json"))
    functions = {entry["name"]: entry for entry in report["functions"]}
    for name, expected in workload.items():
        entry = functions[name]
        assert entry["requests"] == expected["requests"]
        assert entry["gb_seconds"] == pytest.approx(expected["gb_seconds"], abs=1e-9)
        assert entry["cost_usd"] == pytest.approx(expected["cost"], abs=1e-9)
        assert round(entry["cost_usd"], 2) == round(expected["cost"], 2)
    gross = sum(expected["cost"] for expected in workload.values())
    total = report["total"]
    assert total["cost_before_free_tier_usd"] == pytest.approx(gross, abs=1e-9)
    # a small workload: requests and GB-s are all free; storage above 512 MB is not in the free tier
    ephemeral = workload["priced"]["ephemeral"]
    assert total["free_tier_applied"] == pytest.approx(gross - ephemeral, abs=1e-9)
    assert total["cost_usd"] == pytest.approx(ephemeral, abs=1e-9)
    assert round(total["cost_usd"], 2) == 0
    assert total["free_tier"]["requests"] == 8
    one = json.loads(kindling(server, "cost", "--json", "--function", "priced-arm"))
    assert [entry["name"] for entry in one["functions"]] == ["priced-arm"]
    assert json.loads(kindling(server, "cost", "--json", "--month", "2001-01"))["functions"] == []


def test_cost_over_http_and_its_errors(server: Server, workload: dict[str, dict]) -> None:
    with urllib.request.urlopen(server.endpoint + "/kindling/cost?function=priced", timeout=10) as reply:
        report = json.loads(reply.read())
    assert report["functions"][0]["name"] == "priced"
    assert set(report["total"]) >= {"cost_usd", "free_tier_applied"}
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(server.endpoint + "/kindling/cost?month=2026-13", timeout=10)
    assert refused.value.code == 400
    assert "Invalid month" in json.loads(refused.value.read())["message"]


def test_cost_table(server: Server, workload: dict[str, dict]) -> None:
    printed = kindling(server, "cost")
    assert "priced-arm" in printed and "on AWS Lambda: $0.00 after the free tier" in printed


def test_metrics_top_and_alarms_print(server: Server, workload: dict[str, dict]) -> None:
    charts = kindling(server, "metrics", "priced", "--minutes", "10")
    assert "invocations" in charts and "duration p99 ms" in charts and "█" in charts
    assert "priced" in kindling(server, "top", "--once")
    server.client("cloudwatch").put_metric_alarm(
        AlarmName="slow-priced", Namespace="AWS/Lambda", MetricName="Duration", ExtendedStatistic="p99",
        Dimensions=[{"Name": "FunctionName", "Value": "priced"}], Period=60, EvaluationPeriods=1, Threshold=10000,
        ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    assert "slow-priced" in kindling(server, "alarms")


def test_what_it_used_here_comes_from_the_cgroups(lam, server: Server, workload: dict[str, dict]) -> None:  # type: ignore[no-untyped-def]
    lam.invoke(FunctionName="priced", Payload=json.dumps({"spin": 0.3}))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # sampled every interval (1 s here)
        report = json.loads(kindling(server, "cost", "--json", "--function", "priced"))
        here = report["functions"][0]["here"]
        if here["cpu_seconds"] >= 0.1 and here["memory_gb_seconds"] > 0:
            break
        time.sleep(0.5)
    assert here["cpu_seconds"] >= 0.1, here  # 0.3 s of spinning at 1024 MB: 0.58 of a CPU
    assert here["memory_gb_seconds"] > 0, here
