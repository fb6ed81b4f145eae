"""One pattern language: the same pattern, given to an EventBridge rule, an SNS filter policy (on the message
body, and on message attributes) and an SQS event source mapping's FilterCriteria, lets the same events
through — ``prefix``, ``anything-but``, ``numeric`` ranges and ``exists`` included."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest
from botocore.exceptions import ClientError

from support import Server, create_function, running

ACCOUNT = "000000000000"
PRINT_EVENT = "import json\ndef handler(event, context):\n    print('EVENT' + json.dumps(event))\n"
PATTERN = {
    "kind": [{"prefix": "order-"}],
    "status": [{"anything-but": ["cancelled", "refunded"]}],
    "amount": [{"numeric": [">", 10, "<=", 100]}],
    "coupon": [{"exists": False}],
}
BODIES = [
    {"n": 1, "kind": "order-new", "status": "paid", "amount": 50},
    {"n": 2, "kind": "order-new", "status": "cancelled", "amount": 50},  # anything-but
    {"n": 3, "kind": "refund", "status": "paid", "amount": 50},  # prefix
    {"n": 4, "kind": "order-x", "status": "paid", "amount": 100},  # the range's closed end
    {"n": 5, "kind": "order-x", "status": "paid", "amount": 10},  # the range's open end
    {"n": 6, "kind": "order-x", "status": "paid", "amount": 20, "coupon": "X"},  # exists: false
    {"n": 7, "kind": "order-x", "amount": 20},  # anything-but needs the field
    {"n": 8, "kind": "order-x", "status": "paid", "amount": "20"},  # numeric needs a number
    {"n": 99, "kind": "order-last", "status": "new", "amount": 11},  # sent last: once seen, all were
]
EXPECTED = {1, 4, 99}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("matching") / "data") as server:
        yield server


def deploy(server: Server, name: str) -> str:
    create_function(server.client("lambda"), name, {"app.py": PRINT_EVENT})
    return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"


def received(
    server: Server, function: str, numbers: Callable[[dict], list[int]], wanted: set[int] = EXPECTED
) -> set[int]:
    """The ``n`` of every body the function was given, once the ones that should arrive have (events are
    invoked concurrently: the last one sent may arrive first)."""
    logs = server.client("logs")
    deadline = time.monotonic() + 30
    seen: set[int] = set()
    while not wanted <= seen:
        assert time.monotonic() < deadline, f"{function} got only {sorted(seen)}"
        try:
            found = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}", filterPattern="EVENT")["events"]
        except logs.exceptions.ResourceNotFoundException:
            found = []
        seen = {n for event in found for n in numbers(json.loads(event["message"].split("EVENT", 1)[1]))}
        time.sleep(0.1)
    return seen


def test_eventbridge_sns_and_sqs_mappings_let_the_same_events_through(server: Server) -> None:
    lam, sns, events, sqs = (server.client(s) for s in ("lambda", "sns", "events", "sqs"))
    arns = {name: deploy(server, name) for name in ("match-bus", "match-sns", "match-sqs")}
    rule = events.put_rule(Name="match-rule", EventPattern=json.dumps({"source": ["shop"], "detail": PATTERN}))
    events.put_targets(Rule="match-rule", Targets=[{"Id": "f", "Arn": arns["match-bus"]}])
    lam.add_permission(FunctionName="match-bus", StatementId="events", Action="lambda:InvokeFunction",
                       Principal="events.amazonaws.com", SourceArn=rule["RuleArn"])  # fmt: skip
    topic = sns.create_topic(Name="match-topic")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arns["match-sns"],
                  Attributes={"FilterPolicy": json.dumps(PATTERN), "FilterPolicyScope": "MessageBody"})  # fmt: skip
    queue = sqs.create_queue(QueueName="match-queue")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    mapping = lam.create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName="match-sqs", BatchSize=1,
        FilterCriteria={"Filters": [{"Pattern": json.dumps({"body": PATTERN})}]},
    )  # fmt: skip
    try:
        for body in BODIES:
            events.put_events(Entries=[{"Source": "shop", "DetailType": "order", "Detail": json.dumps(body)}])
            sns.publish(TopicArn=topic, Message=json.dumps(body))
            sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(body))
        assert received(server, "match-bus", lambda event: [event["detail"]["n"]]) == EXPECTED
        sns_bodies = received(
            server, "match-sns", lambda event: [json.loads(event["Records"][0]["Sns"]["Message"])["n"]]
        )
        assert sns_bodies == EXPECTED
        sqs_bodies = received(server, "match-sqs", lambda event: [json.loads(r["body"])["n"] for r in event["Records"]])
        assert sqs_bodies == EXPECTED
    finally:
        lam.delete_event_source_mapping(UUID=mapping["UUID"])


def test_sns_message_attributes_are_matched_with_their_types(server: Server) -> None:
    sns = server.client("sns")
    topic = sns.create_topic(Name="attributes-topic")["TopicArn"]
    policy = {
        "store": [{"exists": True}],
        "price": [{"numeric": [">=", 5]}],
        "region": [{"prefix": "eu-"}, "us-east-1"],
        "tags": ["sale"],
    }
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=deploy(server, "match-attributes"),
                  Attributes={"FilterPolicy": json.dumps(policy)})  # fmt: skip

    def send(n: int, **attributes: tuple[str, str]) -> None:
        values = {key: {"DataType": kind, "StringValue": value} for key, (kind, value) in attributes.items()}
        sns.publish(TopicArn=topic, Message=str(n), MessageAttributes=values)

    good = {"store": ("String", "s1"), "price": ("Number", "5"), "region": ("String", "eu-west-1"),
            "tags": ("String.Array", '["new", "sale"]')}  # fmt: skip
    send(1, **good)
    send(2, **{**good, "price": ("String", "5")})  # numeric matches Number attributes only
    send(3, **{key: value for key, value in good.items() if key != "store"})  # exists
    send(4, **{**good, "region": ("String", "us-east-1")})
    send(5, **{**good, "region": ("String", "us-west-2")})
    send(6, **{**good, "tags": ("String.Array", '["new"]')})
    send(99, **good)
    numbers = received(server, "match-attributes", lambda event: [int(event["Records"][0]["Sns"]["Message"])],
                       {1, 4, 99})  # fmt: skip
    assert numbers == {1, 4, 99}


def test_a_pattern_kindling_cannot_match_is_refused(server: Server) -> None:
    events = server.client("events")
    with pytest.raises(ClientError) as refused:
        events.put_rule(Name="bad-rule", EventPattern=json.dumps({"detail": {"n": [{"numeric": [">", "ten"]}]}}))
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidEventPatternException"
    assert error["Message"] == "Event pattern is not valid. Reason: Value of > must be numeric"
    with pytest.raises(ClientError):
        events.describe_rule(Name="bad-rule")
    sns = server.client("sns")
    topic = sns.create_topic(Name="refusing-topic")["TopicArn"]
    with pytest.raises(ClientError) as refused:
        sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:x",
                      Attributes={"FilterPolicy": json.dumps({"n": [{"anything-but": [True]}]})})  # fmt: skip
    assert refused.value.response["Error"]["Code"] == "InvalidParameter"
    assert refused.value.response["Error"]["Message"] == (
        "Invalid parameter: FilterPolicy: Inside anything but list, start|null|boolean is not supported."
    )
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
