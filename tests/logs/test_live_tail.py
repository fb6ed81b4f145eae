"""StartLiveTail through boto3's own event-stream client: what a function logs arrives within seconds."""

from __future__ import annotations

import threading
import time

import boto3
import pytest
from botocore.config import Config


def logs_client(server):  # type: ignore[no-untyped-def]
    return boto3.client(
        "logs",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}, read_timeout=30),
    )


def test_live_tail_streams_new_matching_events(server, lam, deploy):
    name = deploy({"app.py": "def handler(event, context):\n    print('order', event['n'])\n    print('noise')\n"})
    lam.invoke(FunctionName=name, Payload=b'{"n": 0}')  # before the session: not part of it
    group = f"arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/{name}"
    reply = logs_client(server).start_live_tail(logGroupIdentifiers=[group], logEventFilterPattern="order")
    stream = reply["responseStream"]
    events = iter(stream)
    start = next(events)["sessionStart"]
    assert start["logGroupIdentifiers"] == [group] and start["logEventFilterPattern"] == "order"
    threading.Thread(target=lambda: [lam.invoke(FunctionName=name, Payload=f'{{"n": {n}}}') for n in (1, 2)]).start()
    seen: list[str] = []
    deadline = time.monotonic() + 10
    for event in events:
        results = event["sessionUpdate"]["sessionResults"]
        seen += [result["message"] for result in results]
        assert all(result["logGroupIdentifier"] == group for result in results)
        if len(seen) >= 2 or time.monotonic() > deadline:
            break
    stream.close()
    assert seen == ["order 1", "order 2"]


def test_live_tail_of_an_unknown_group_is_an_error(server):
    client = logs_client(server)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.start_live_tail(logGroupIdentifiers=["arn:aws:logs:us-east-1:000000000000:log-group:/nope"])
