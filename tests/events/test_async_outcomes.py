"""Where asynchronous events end up: retries, destinations (Lambda and SQS), dead-letter queues, throttles.

One server with short delays (retry base 0.5 s, backoff 0.2-1 s) and moto's SQS as the queue endpoint.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from itertools import count
from typing import Any

import pytest
from harness import (
    counters,
    deploy,
    function_log,
    moto_sqs,
    queue,
    receive,
    settled,
    sqs_client,
    start_server,
    starts,
    wait_for,
)

from support import Server

_names = count()
FAILS = "def handler(event, context):\n    raise ValueError('broken: ' + event['mark'])\n"
TIMES_OUT = "import time\ndef handler(event, context):\n    time.sleep(10)\n"
CRASHES = "import os\ndef handler(event, context):\n    os._exit(3)\n"
WORKS = "def handler(event, context):\n    return {'doubled': event['n'] * 2}\n"
PRINTS = "import json\ndef handler(event, context):\n    print('RECORD ' + json.dumps(event))\n"


@pytest.fixture(scope="module")
def sqs_endpoint() -> Iterator[str]:
    with moto_sqs() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def async_server(tmp_path_factory: pytest.TempPathFactory, sqs_endpoint: str) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("async") / "data", KINDLING_SQS_ENDPOINT=sqs_endpoint)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def lam(async_server: Server) -> Any:
    return async_server.client()


@pytest.fixture(scope="module")
def sqs(sqs_endpoint: str) -> Any:
    return sqs_client(sqs_endpoint)


def name() -> str:
    return f"async-{next(_names)}"


def send(lam: Any, function: str, event: dict[str, Any]) -> None:
    assert lam.invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(event))["StatusCode"] == 202


def logged_starts(server: Server, function: str, expected: int) -> int:
    """START lines in the function's log once ``expected`` of them are there (logs are flushed every 200 ms)."""
    wait_for(lambda: starts(server, function) >= expected, what=f"{expected} attempts in the log")
    time.sleep(0.3)
    return starts(server, function)


def start_times(server: Server, function: str) -> list[float]:
    return [
        int(line.split("\t", 1)[0]) / 1000 for line in function_log(server, function).splitlines() if "\tSTART " in line
    ]


def test_a_failing_function_is_tried_three_times_then_reaches_on_failure_and_the_dlq(async_server, lam, sqs):
    failure_url, failure_arn = queue(sqs, name())
    dlq_url, dlq_arn = queue(sqs, name())
    function = name()
    arn = deploy(lam, function, FAILS, DeadLetterConfig={"TargetArn": dlq_arn})
    lam.put_function_event_invoke_config(
        FunctionName=function, DestinationConfig={"OnFailure": {"Destination": failure_arn}}
    )
    send(lam, function, {"mark": "m-1"})
    record = json.loads(receive(sqs, failure_url, 1)[0]["Body"])
    assert logged_starts(async_server, function, 3) == 3  # MaximumRetryAttempts defaults to 2
    first, second, third = start_times(async_server, function)
    assert second - first >= 0.45 and third - second >= 0.95  # 1 x then 2 x the base delay
    assert record["version"] == "1.0" and record["timestamp"].endswith("Z")
    context = record["requestContext"]
    assert context["functionArn"] == f"{arn}:$LATEST"
    assert context["condition"] == "RetriesExhausted"
    assert context["approximateInvokeCount"] == 3
    assert len(context["requestId"]) == 36
    assert record["requestPayload"] == {"mark": "m-1"}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["errorMessage"] == "broken: m-1"
    dead = receive(sqs, dlq_url, 1)[0]
    assert json.loads(dead["Body"]) == {"mark": "m-1"}
    attributes = {key: value["StringValue"] for key, value in dead["MessageAttributes"].items()}
    assert attributes == {"RequestID": context["requestId"], "ErrorCode": "200", "ErrorMessage": "broken: m-1"}
    server_log = async_server.log_path.read_text()
    request_id = context["requestId"]
    assert f"async event {request_id} for {function}: function error on attempt 2 (broken: m-1)" in server_log
    assert f"async event {request_id} for {function}: RetriesExhausted after 3 attempts" in server_log
    seen = settled(async_server, function)
    assert seen["Attempts"] == 3 and seen["FunctionErrors"] == 3
    assert seen["Dropped"] == {"RetriesExhausted": 1}
    assert seen["Delivered"] == {"OnFailure": 1, "DeadLetter": 1}


def test_a_timeout_is_a_function_error_and_retried_as_configured(async_server, lam, sqs):
    failure_url, failure_arn = queue(sqs, name())
    function = name()
    deploy(lam, function, TIMES_OUT, Timeout=1)
    lam.put_function_event_invoke_config(
        FunctionName=function, MaximumRetryAttempts=1, DestinationConfig={"OnFailure": {"Destination": failure_arn}}
    )
    send(lam, function, {"mark": "slow"})
    record = json.loads(receive(sqs, failure_url, 1)[0]["Body"])
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responsePayload"]["errorType"] == "Sandbox.Timedout"
    assert logged_starts(async_server, function, 2) == 2
    assert function_log(async_server, function).count("Task timed out after 1.00 seconds") == 2
    assert settled(async_server, function)["Attempts"] == 2


def test_a_crash_with_no_retries_is_tried_once(async_server, lam, sqs):
    failure_url, failure_arn = queue(sqs, name())
    function = name()
    deploy(lam, function, CRASHES)
    lam.put_function_event_invoke_config(
        FunctionName=function, MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": failure_arn}}
    )
    send(lam, function, {"mark": "boom"})
    record = json.loads(receive(sqs, failure_url, 1)[0]["Body"])
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responsePayload"]["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in record["responsePayload"]["errorMessage"]
    assert logged_starts(async_server, function, 1) == 1


def test_success_records_reach_sqs_and_another_function(async_server, lam, sqs):
    success_url, success_arn = queue(sqs, name())
    to_sqs, to_function, receiver = name(), name(), name()
    receiver_arn = deploy(lam, receiver, PRINTS)
    arn = deploy(lam, to_sqs, WORKS)
    deploy(lam, to_function, WORKS)
    lam.put_function_event_invoke_config(
        FunctionName=to_sqs, DestinationConfig={"OnSuccess": {"Destination": success_arn}}
    )
    lam.put_function_event_invoke_config(
        FunctionName=to_function, DestinationConfig={"OnSuccess": {"Destination": receiver_arn}}
    )
    send(lam, to_sqs, {"n": 21})
    record = json.loads(receive(sqs, success_url, 1)[0]["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["functionArn"] == f"{arn}:$LATEST"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"doubled": 42}
    assert lam.invoke(FunctionName=to_function, InvocationType="Event", Payload=b'{"n": 5}')["StatusCode"] == 202
    line = wait_for(
        lambda: next((x for x in function_log(async_server, receiver).splitlines() if "RECORD " in x), None),
        what="the destination function to run",
    )
    delivered = json.loads(line.split("RECORD ", 1)[1])
    assert delivered["requestContext"]["condition"] == "Success"
    assert delivered["requestPayload"] == {"n": 5} and delivered["responsePayload"] == {"doubled": 10}
    assert settled(async_server, to_function)["Delivered"] == {"OnSuccess": 1}
    assert settled(async_server, receiver)["EventsReceived"] == 1


def test_legacy_invoke_async_goes_through_the_same_queue(async_server, lam, sqs):
    success_url, success_arn = queue(sqs, name())
    function = name()
    deploy(lam, function, WORKS)
    lam.put_function_event_invoke_config(
        FunctionName=function, DestinationConfig={"OnSuccess": {"Destination": success_arn}}
    )
    assert lam.invoke_async(FunctionName=function, InvokeArgs=b'{"n": 1}')["Status"] == 202
    assert json.loads(receive(sqs, success_url, 1)[0]["Body"])["responsePayload"] == {"doubled": 2}


def test_reserved_concurrency_zero_sends_events_straight_to_the_failure_path(async_server, lam, sqs):
    failure_url, failure_arn = queue(sqs, name())
    function = name()
    deploy(lam, function, WORKS)
    lam.put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=0)
    lam.put_function_event_invoke_config(
        FunctionName=function, DestinationConfig={"OnFailure": {"Destination": failure_arn}}
    )
    send(lam, function, {"n": 1})
    record = json.loads(receive(sqs, failure_url, 1)[0]["Body"])
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert "responsePayload" not in record
    assert starts(async_server, function) == 0


def test_a_flood_against_reserved_concurrency_one_runs_every_event_once_one_at_a_time(async_server, lam):
    function = name()
    deploy(lam, function, "import time\ndef handler(event, context):\n    time.sleep(0.02)\n    return event\n")
    lam.put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=1)
    began = time.monotonic()
    for n in range(40):
        send(lam, function, {"n": n})
    seen = settled(async_server, function)
    assert seen["EventsReceived"] == 40 and seen["Succeeded"] == 40
    assert seen["Attempts"] - seen["Throttles"] == 40 and seen["Dropped"] == {}
    assert logged_starts(async_server, function, 40) == 40
    environments = list((async_server.data_dir / "logs").glob(f"*{function}/*"))
    assert len(environments) == 1  # one environment ever: never two events at once
    assert time.monotonic() - began < 20


def test_counters_are_served_for_every_function(async_server, lam):
    function = name()
    deploy(lam, function, WORKS)
    send(lam, function, {"n": 3})
    settled(async_server, function)
    everything = counters(async_server)
    assert everything["Functions"][function]["Succeeded"] == 1
    assert everything["Quarantined"] == 0 and everything["StoreError"] == ""
    assert counters(async_server, "never-invoked")["EventsReceived"] == 0


def test_a_throttled_event_waits_with_backoff_without_using_an_attempt(async_server, lam, sqs):
    success_url, success_arn = queue(sqs, name())
    function = name()
    deploy(
        lam, function, "import time\ndef handler(event, context):\n    time.sleep(event['sleep'])\n    return 'done'\n"
    )
    lam.put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=1)
    lam.put_function_event_invoke_config(
        FunctionName=function, MaximumRetryAttempts=0, DestinationConfig={"OnSuccess": {"Destination": success_arn}}
    )
    busy = threading.Thread(target=lambda: lam.invoke(FunctionName=function, Payload=b'{"sleep": 1.5}'))
    busy.start()
    time.sleep(0.3)  # the synchronous call holds the only slot
    send(lam, function, {"sleep": 0})
    busy.join()
    record = json.loads(receive(sqs, success_url, 1)[0]["Body"])
    assert record["requestContext"]["approximateInvokeCount"] == 1
    seen = settled(async_server, function)
    assert seen["Throttles"] >= 1 and seen["Succeeded"] == 1
    assert seen["Attempts"] - seen["Throttles"] == 1


def test_a_record_that_cannot_be_sent_yet_is_kept_and_sent_later(async_server, lam, sqs):
    function, later = name(), name()
    deploy(lam, function, WORKS)
    arn = f"arn:aws:sqs:us-east-1:000000000000:{later}"
    lam.put_function_event_invoke_config(FunctionName=function, DestinationConfig={"OnSuccess": {"Destination": arn}})
    send(lam, function, {"n": 4})
    wait_for(lambda: counters(async_server, function)["Succeeded"] == 1, what="the attempt")
    time.sleep(0.5)
    assert counters(async_server, function)["QueueDepth"] == 1  # the record waits, the event is not forgotten
    url, _ = queue(sqs, later)
    assert json.loads(receive(sqs, url, 1)[0]["Body"])["responsePayload"] == {"doubled": 8}
    assert settled(async_server, function)["Delivered"] == {"OnSuccess": 1}


def test_events_near_the_one_megabyte_limit_run_whole(async_server, lam):
    function = name()
    deploy(lam, function, "def handler(event, context):\n    print('SIZE', len(event['data']))\n")
    for _ in range(3):
        send(lam, function, {"data": "z" * 1_000_000})
    assert settled(async_server, function)["Succeeded"] == 3
    wait_for(lambda: function_log(async_server, function).count("SIZE 1000000") == 3, what="three whole events")
