"""Reserved concurrency, the account pool, throttling, and bursts of simultaneous invocations."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from support import create_function, invoke_many, running

SLEEPER = {
    "app.py": (
        "import os, time\n"
        "env = os.urandom(8).hex()\n"
        "def handler(event, context):\n"
        "    time.sleep(event.get('sleep', 1))\n"
        "    return env\n"
    )
}


def test_reserved_concurrency_api(lam, deploy):
    name = deploy(SLEEPER)
    assert lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions") is None
    before = lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
    assert (
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=7)["ReservedConcurrentExecutions"]
        == 7
    )
    assert lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 7
    assert lam.get_function(FunctionName=name)["Concurrency"] == {"ReservedConcurrentExecutions": 7}
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == before - 7
    lam.delete_function_concurrency(FunctionName=name)
    assert "Concurrency" not in lam.get_function(FunctionName=name)
    assert lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"] == before


def test_reservation_cannot_eat_the_unreserved_minimum(lam, deploy):
    name = deploy(SLEEPER)
    with pytest.raises(ClientError) as caught:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=950)
    error = caught.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert "below its minimum value of [100]" in error["Message"]


def test_reserved_zero_disables_the_function(lam, deploy, server):
    name = deploy(SLEEPER)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName=name, Payload=b'{"sleep": 0}')
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert response["Error"]["Code"] == "TooManyRequestsException"
    assert response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert response["ResponseMetadata"]["HTTPHeaders"]["retry-after"]
    lam.delete_function_concurrency(FunctionName=name)
    assert lam.invoke(FunctionName=name, Payload=b'{"sleep": 0}')["StatusCode"] == 200


def test_reserved_one_throttles_the_second_caller(lam, deploy, server):
    name = deploy(SLEEPER)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    replies = invoke_many(server.endpoint, name, 3, b'{"sleep": 1}')
    statuses = sorted(status for status, _, _ in replies)
    assert statuses == [200, 429, 429]
    throttled = next(body for status, _, body in replies if status == 429)
    assert json.loads(throttled)["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"


def test_account_limit_throttles(tmp_path):
    with running(tmp_path / "data", "--concurrency", "2") as server:
        lam = server.client()
        create_function(lam, "busy", SLEEPER)
        replies = invoke_many(server.endpoint, "busy", 3, b'{"sleep": 1}')
        assert sorted(status for status, _, _ in replies) == [200, 200, 429]
        throttled = next(body for status, headers, body in replies if status == 429)
        assert json.loads(throttled) == {
            "Type": "User",
            "message": "Rate Exceeded.",
            "Reason": "ConcurrentInvocationLimitExceeded",
        }
        assert lam.invoke(FunctionName="busy", Payload=b'{"sleep": 0}')["StatusCode"] == 200


@pytest.mark.serial
def test_burst_of_200_sleeping_invocations(lam, deploy, server):
    name = deploy(SLEEPER)
    started = time.monotonic()
    replies = invoke_many(server.endpoint, name, 200, b'{"sleep": 1}')
    elapsed = time.monotonic() - started
    assert [status for status, _, _ in replies] == [200] * 200
    assert all("x-amz-function-error" not in headers for _, headers, _ in replies)
    assert len({body for _, _, body in replies}) == 200  # one environment each, started in parallel
    assert elapsed < 20  # every one ran at the same time as the others (1 s each); the bench times it


@pytest.mark.serial
def test_a_thousand_concurrent_executions(tmp_path):
    with running(tmp_path / "data") as server:
        lam = server.client()
        create_function(lam, "thousand", SLEEPER)
        replies = invoke_many(server.endpoint, "thousand", 1000, b'{"sleep": 3}')
        assert [status for status, _, _ in replies] == [200] * 1000
        assert len({body for _, _, body in replies}) == 1000
        assert server.health()["status"] == "ok"
