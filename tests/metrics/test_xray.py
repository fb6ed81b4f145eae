"""X-Ray: the API on the port (boto3's ``xray`` client), and the daemon's UDP port a function's X-Ray SDK
sends to, whose segments join the platform's own (``AWS::Lambda``, ``AWS::Lambda::Function`` with
``Initialization``, ``Invocation``, ``Overhead``) in one trace."""

from __future__ import annotations

import importlib
import json
import random
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from support import Server, aws_cli, create_function

# what an X-Ray SDK does in Lambda: a subsegment under the function segment (the header's Parent), one
# datagram to AWS_XRAY_DAEMON_ADDRESS
SENDER = """
import json, os, random, socket, time

def handler(event, context):
    fields = dict(part.split("=", 1) for part in os.environ["_X_AMZN_TRACE_ID"].split(";"))
    host, port = os.environ["AWS_XRAY_DAEMON_ADDRESS"].rsplit(":", 1)
    now = time.time()
    sub = {"type": "subsegment", "trace_id": fields["Root"], "parent_id": fields["Parent"],
           "id": "%016x" % random.getrandbits(64), "name": "work", "start_time": now - 0.01, "end_time": now,
           "annotations": {"order": 7}}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(b'{"format":"json","version":1}\\n' + json.dumps(sub).encode(), (host, int(port)))
    return {"trace": os.environ["_X_AMZN_TRACE_ID"], "daemon": os.environ["AWS_XRAY_DAEMON_ADDRESS"]}
"""


def new_trace_id() -> str:
    return f"1-{int(time.time()):08x}-{random.getrandbits(96):024x}"


def segment_id() -> str:
    return f"{random.getrandbits(64):016x}"


@pytest.fixture(scope="module")
def xray(server: Server):  # type: ignore[no-untyped-def]
    return server.client("xray")


def wait_for_trace(xray: Any, trace_id: str, done: Any, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        traces = xray.batch_get_traces(TraceIds=[trace_id])["Traces"]
        if traces and done(traces[0]):
            return traces[0]
        assert time.monotonic() < deadline, f"trace not complete: {traces}"
        time.sleep(0.1)


def test_put_segments_then_read_them_as_one_trace(xray: Any) -> None:
    trace_id, parent, child = new_trace_id(), segment_id(), segment_id()
    now = time.time()
    segment = {
        "trace_id": trace_id,
        "id": parent,
        "name": "orders",
        "start_time": now - 1,
        "end_time": now,
        "http": {"request": {"method": "GET", "url": "http://shop/orders"}, "response": {"status": 500}},
        "fault": True,
        "annotations": {"customer": "ada"},
    }
    sub = {"type": "subsegment", "trace_id": trace_id, "parent_id": parent, "id": child, "name": "db",
           "start_time": now - 0.5, "end_time": now - 0.2}  # fmt: skip
    answer = xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(segment), json.dumps(sub)])
    assert answer["UnprocessedTraceSegments"] == []

    trace = wait_for_trace(xray, trace_id, lambda trace: len(trace["Segments"]) == 1)
    document = json.loads(trace["Segments"][0]["Document"])
    assert document["name"] == "orders"
    assert [s["name"] for s in document["subsegments"]] == ["db"]  # the subsegment sent alone joined its parent
    assert trace["Duration"] == pytest.approx(1.0, abs=0.01)

    summaries = xray.get_trace_summaries(StartTime=now - 60, EndTime=now + 60)["TraceSummaries"]
    mine = next(summary for summary in summaries if summary["Id"] == trace_id)
    assert mine["HasFault"] is True and mine["HasError"] is False
    assert mine["Http"]["HttpStatus"] == 500 and mine["Http"]["HttpMethod"] == "GET"
    assert mine["ResponseTime"] == pytest.approx(1.0, abs=0.01)
    assert mine["Annotations"]["customer"][0]["AnnotationValue"] == {"StringValue": "ada"}

    filtered = xray.get_trace_summaries(
        StartTime=now - 60, EndTime=now + 60, FilterExpression='service("orders") AND fault'
    )["TraceSummaries"]
    assert [summary["Id"] for summary in filtered] == [trace_id]
    none = xray.get_trace_summaries(StartTime=now - 60, EndTime=now + 60, FilterExpression='service("nope")')
    assert none["TraceSummaries"] == []


def test_bad_input_is_refused_and_changes_nothing(server: Server, xray: Any) -> None:
    trace_id = new_trace_id()
    bad = {"trace_id": trace_id, "id": "not-hex", "name": "x", "start_time": time.time(), "end_time": time.time()}
    answer = xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(bad), "{not json"])
    assert [item["ErrorCode"] for item in answer["UnprocessedTraceSegments"]] == ["InvalidSegment"] * 2
    assert xray.batch_get_traces(TraceIds=[trace_id])["UnprocessedTraceIds"] == [trace_id]
    with pytest.raises(ClientError) as refused:
        xray.batch_get_traces(TraceIds=[new_trace_id() for _ in range(6)])
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
    with pytest.raises(ClientError) as refused:
        xray.get_trace_summaries(StartTime=time.time(), EndTime=time.time() - 10)
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
    with pytest.raises(ClientError) as refused:
        xray.get_trace_summaries(
            StartTime=time.time() - 10, EndTime=time.time(), FilterExpression="http.url BEGINSWITH"
        )
    assert refused.value.response["Error"]["Code"] == "InvalidRequestException"
    request = urllib.request.Request(server.endpoint + "/TraceSegments", data=b"[1, 2", method="POST")
    with pytest.raises(urllib.error.HTTPError) as raw:
        urllib.request.urlopen(request, timeout=10)
    assert raw.value.code == 400 and raw.value.headers["x-amzn-ErrorType"] == "InvalidRequestException"
    assert json.loads(raw.value.read())["message"]


def test_sampling_rules_are_xrays_default(xray: Any) -> None:
    rules = xray.get_sampling_rules()["SamplingRuleRecords"]
    assert rules[0]["SamplingRule"]["FixedRate"] == 0.05 and rules[0]["SamplingRule"]["ReservoirSize"] == 1


@pytest.fixture(scope="module")
def isolated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    instance = Server(tmp_path_factory.mktemp("xray-nonet") / "data", "--no-network").start()
    yield instance
    instance.stop()


def test_a_functions_segments_over_udp_join_the_platforms(server: Server, lam: Any, xray: Any) -> None:
    send_and_check(server, lam, xray)


def test_without_network_the_daemon_port_is_reached_through_the_bridge(isolated: Server) -> None:
    assert isolated.health()["sandbox"] == "namespaces"
    send_and_check(isolated, isolated.client(), isolated.client("xray"))


def send_and_check(server: Server, lam: Any, xray: Any) -> None:
    create_function(lam, "xray-sender", {"app.py": SENDER}, TracingConfig={"Mode": "Active"})
    trace_id, caller = new_trace_id(), segment_id()
    lam.meta.events.register_first(
        "before-sign.lambda.Invoke",
        lambda request, **_: request.headers.__setitem__(
            "X-Amzn-Trace-Id", f"Root={trace_id};Parent={caller};Sampled=1"
        ),
    )
    try:
        seen = json.loads(lam.invoke(FunctionName="xray-sender")["Payload"].read())
    finally:
        lam.meta.events.unregister("before-sign.lambda.Invoke")
    fields = dict(part.split("=", 1) for part in seen["trace"].split(";"))
    assert fields["Root"] == trace_id and fields["Sampled"] == "1"
    assert fields["Parent"] != caller  # the function segment's id, as on Lambda
    assert seen["daemon"].endswith(f":{server.port}")

    def complete(trace: dict[str, Any]) -> bool:
        documents = [json.loads(segment["Document"]) for segment in trace["Segments"]]
        function = [d for d in documents if d.get("origin") == "AWS::Lambda::Function"]
        return bool(function) and "work" in {s["name"] for s in function[0].get("subsegments", [])}

    trace = wait_for_trace(xray, trace_id, complete)
    documents = {json.loads(s["Document"])["origin"]: json.loads(s["Document"]) for s in trace["Segments"]}
    assert set(documents) == {"AWS::Lambda", "AWS::Lambda::Function"}
    service, function = documents["AWS::Lambda"], documents["AWS::Lambda::Function"]
    assert service["parent_id"] == caller and function["parent_id"] == service["id"]
    assert function["id"] == fields["Parent"]
    names = [s["name"] for s in function["subsegments"]]
    assert names[:3] == ["Initialization", "Invocation", "Overhead"] and "work" in names  # a cold start
    invocation = function["subsegments"][1]
    assert invocation["end_time"] - invocation["start_time"] < trace["Duration"]
    summaries = xray.get_trace_summaries(
        StartTime=time.time() - 60, EndTime=time.time() + 5, FilterExpression='service("xray-sender")'
    )["TraceSummaries"]
    mine = next(summary for summary in summaries if summary["Id"] == trace_id)
    assert mine["EntryPoint"]["Type"] == "AWS::Lambda"
    assert mine["Annotations"]["order"][0]["AnnotationValue"] == {"NumberValue": 7}


SDK_HANDLER = """
from aws_xray_sdk.core import xray_recorder

def handler(event, context):
    with xray_recorder.in_subsegment("sdk-work") as subsegment:
        subsegment.put_annotation("step", "one")
    return "done"
"""


def package_files(*packages: str) -> dict[str, str | bytes]:
    """Packages of the test's own environment (their pure-Python parts), as a function's zip carries them."""
    files: dict[str, str | bytes] = {}
    for package in packages:
        root = Path(importlib.import_module(package).__file__ or "").parent
        for path in root.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".so":
                files[str(path.relative_to(root.parent))] = path.read_bytes()
    return files


def test_the_aws_xray_sdk_works_unchanged(lam: Any, xray: Any) -> None:
    files = {"app.py": SDK_HANDLER, **package_files("aws_xray_sdk", "wrapt")}
    create_function(lam, "xray-sdk", files, TracingConfig={"Mode": "Active"}, Timeout=30)
    trace_id = new_trace_id()
    lam.meta.events.register_first(
        "before-sign.lambda.Invoke",
        lambda request, **_: request.headers.__setitem__("X-Amzn-Trace-Id", f"Root={trace_id};Sampled=1"),
    )
    try:
        reply = lam.invoke(FunctionName="xray-sdk")
    finally:
        lam.meta.events.unregister("before-sign.lambda.Invoke")
    assert json.loads(reply["Payload"].read()) == "done", reply

    def has_sdk_work(trace: dict[str, Any]) -> bool:
        documents = [json.loads(segment["Document"]) for segment in trace["Segments"]]
        return any(s["name"] == "sdk-work" for d in documents for s in d.get("subsegments", []))

    trace = wait_for_trace(xray, trace_id, has_sdk_work)
    function = next(json.loads(s["Document"]) for s in trace["Segments"] if "AWS::Lambda::Function" in s["Document"])
    work = next(s for s in function["subsegments"] if s["name"] == "sdk-work")
    assert work["annotations"] == {"step": "one"}


def test_the_aws_cli_reads_traces(server: Server, xray: Any) -> None:
    trace_id, now = new_trace_id(), time.time()
    segment = {"trace_id": trace_id, "id": segment_id(), "name": "cli-seen", "start_time": now - 0.2, "end_time": now}
    xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(segment)])
    args = ["--start-time", str(int(now - 60)), "--end-time", str(int(now + 60))]
    listed = aws_cli(
        server.endpoint, "xray", "get-trace-summaries", *args, "--filter-expression", 'service("cli-seen")'
    )
    assert [summary["Id"] for summary in json.loads(listed.stdout)["TraceSummaries"]] == [trace_id]
    fetched = aws_cli(server.endpoint, "xray", "batch-get-traces", "--trace-ids", trace_id)
    [trace] = json.loads(fetched.stdout)["Traces"]
    assert json.loads(trace["Segments"][0]["Document"])["name"] == "cli-seen"


def test_an_async_event_shows_its_time_in_the_queue(lam: Any, xray: Any) -> None:
    create_function(lam, "xray-async", {"app.py": "def handler(event, context):\n    return 1\n"})
    trace_id = new_trace_id()
    lam.meta.events.register_first(
        "before-sign.lambda.Invoke",
        lambda request, **_: request.headers.__setitem__("X-Amzn-Trace-Id", f"Root={trace_id};Sampled=1"),
    )
    try:
        assert lam.invoke(FunctionName="xray-async", InvocationType="Event")["StatusCode"] == 202
    finally:
        lam.meta.events.unregister("before-sign.lambda.Invoke")

    def has_service(trace: dict[str, Any]) -> bool:
        return any('"AWS::Lambda"' in segment["Document"] for segment in trace["Segments"])

    trace = wait_for_trace(xray, trace_id, has_service)
    service = next(json.loads(s["Document"]) for s in trace["Segments"] if '"AWS::Lambda"' in s["Document"])
    dwell, attempt = service["subsegments"]
    assert (dwell["name"], attempt["name"]) == ("Dwell Time", "Attempt #1")
    assert service["start_time"] == dwell["start_time"] <= dwell["end_time"] == attempt["start_time"]


def test_a_snapstart_restore_shows_as_restore(lam: Any, xray: Any) -> None:
    create_function(
        lam, "xray-snap", {"app.py": "def handler(event, context):\n    return 1\n"},
        SnapStart={"ApplyOn": "PublishedVersions"},
    )  # fmt: skip
    version = lam.publish_version(FunctionName="xray-snap")["Version"]
    lam.get_waiter("published_version_active").wait(
        FunctionName="xray-snap", Qualifier=version, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150}
    )
    trace_id = new_trace_id()
    lam.meta.events.register_first(
        "before-sign.lambda.Invoke",
        lambda request, **_: request.headers.__setitem__("X-Amzn-Trace-Id", f"Root={trace_id};Sampled=1"),
    )
    try:
        assert lam.invoke(FunctionName="xray-snap", Qualifier=version)["Payload"].read() == b"1"
    finally:
        lam.meta.events.unregister("before-sign.lambda.Invoke")
    trace = wait_for_trace(xray, trace_id, lambda trace: len(trace["Segments"]) == 2)
    function = next(json.loads(s["Document"]) for s in trace["Segments"] if "AWS::Lambda::Function" in s["Document"])
    assert [s["name"] for s in function["subsegments"]] == ["Restore", "Invocation", "Overhead"]


def test_time_range_by_trace_id_or_by_event(xray: Any) -> None:
    now = time.time()
    old_trace = f"1-{int(now - 3600):08x}-{random.getrandbits(96):024x}"  # began an hour ago, a segment now
    segment = {"trace_id": old_trace, "id": segment_id(), "name": "late", "start_time": now - 1, "end_time": now}
    xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(segment)])
    recent = {"StartTime": now - 60, "EndTime": now + 60, "FilterExpression": 'service("late")'}
    by_id = xray.get_trace_summaries(**recent)["TraceSummaries"]
    by_event = xray.get_trace_summaries(**recent, TimeRangeType="Event")["TraceSummaries"]
    assert by_id == [] and [summary["Id"] for summary in by_event] == [old_trace]
    earlier = xray.get_trace_summaries(StartTime=now - 3660, EndTime=now - 3540, FilterExpression='service("late")')
    assert [summary["Id"] for summary in earlier["TraceSummaries"]] == [old_trace]
