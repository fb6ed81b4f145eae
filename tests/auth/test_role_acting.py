"""Lambda acts with the function's execution role under ``--auth iam``, as on AWS: an SQS mapping polls its
queue as the role (a role whose policy is taken away stops getting messages, and the mapping says why), and
an async invocation's on-failure record is sent as the role (refused, and counted, when the role may not).
And the services' resource-based policies count: a bucket policy opens a bucket to a user with no
permissions of its own; a queue policy's explicit deny shuts out a user whose identity policy allows."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from auth_support import send_signed, signed
from botocore.exceptions import ClientError

from support import Server, make_zip

ACCOUNT = "000000000000"
ROLES = f"arn:aws:iam::{ACCOUNT}:role/"
QUEUES = f"arn:aws:sqs:us-east-1:{ACCOUNT}:"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}  # fmt: skip
POLLING = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]


def policy(actions: list[str], resource: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions,
                                                               "Resource": resource}]})  # fmt: skip


def role(server: Server, name: str, permissions: str | None) -> str:
    iam = server.client("iam")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
    if permissions:
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=permissions)
    return ROLES + name


def wait_for(check: Callable[[], Any], timeout: float = 40, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    instance = Server(tmp_path_factory.mktemp("acting") / "data", "--auth", "iam").start()
    yield instance
    instance.stop()


def create_function(server: Server, name: str, code: str, role_arn: str) -> None:
    server.client().create_function(FunctionName=name, Runtime="python3.12", Role=role_arn, Handler="app.handler",
                                    Timeout=30, Code={"ZipFile": make_zip({"app.py": code})})  # fmt: skip


def depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_a_mapping_polls_as_the_function_role(server: Server) -> None:
    sqs, lam, iam = server.client("sqs"), server.client(), server.client("iam")
    url = sqs.create_queue(QueueName="polled")["QueueUrl"]
    create_function(server, "consumer", "def handler(e, c):\n    return len(e['Records'])\n",
                    role(server, "poller", policy(POLLING, QUEUES + "polled")))  # fmt: skip
    uuid = lam.create_event_source_mapping(FunctionName="consumer", EventSourceArn=QUEUES + "polled",
                                           BatchSize=1)["UUID"]  # fmt: skip
    sqs.send_message(QueueUrl=url, MessageBody="one")
    wait_for(lambda: depth(sqs, url) == 0, what="the message to be consumed")

    iam.delete_role_policy(RoleName="poller", PolicyName="p")  # the role may no longer read the queue
    problem = "PROBLEM: The provided execution role does not have permissions to call ReceiveMessage on SQS"
    wait_for(lambda: lam.get_event_source_mapping(UUID=uuid).get("LastProcessingResult") == problem,
             what="the mapping to report the denial")  # fmt: skip
    sqs.send_message(QueueUrl=url, MessageBody="two")
    time.sleep(2)  # a few denied polls (one a second): the message stays where it is
    assert depth(sqs, url) == 1
    assert lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"

    iam.put_role_policy(RoleName="poller", PolicyName="p", PolicyDocument=policy(POLLING, QUEUES + "polled"))
    wait_for(lambda: depth(sqs, url) == 0, what="polling to resume once the role may read again")
    wait_for(lambda: "LastProcessingResult" not in lam.get_event_source_mapping(UUID=uuid), what="the problem gone")


FAILING = "def handler(e, c):\n    raise RuntimeError('no')\n"


def counters(server: Server, name: str) -> dict[str, Any]:
    status, _, answer = send_signed(signed(server.endpoint, "GET", f"/kindling/async-events/{name}",
                                           keys=server.root_keys))  # fmt: skip
    assert status == 200, answer
    return answer


def test_on_failure_records_are_sent_as_the_function_role(server: Server) -> None:
    sqs, lam = server.client("sqs"), server.client()
    url = sqs.create_queue(QueueName="failures")["QueueUrl"]
    create_function(
        server, "may-send", FAILING, role(server, "sender", policy(["sqs:SendMessage"], QUEUES + "failures"))
    )
    create_function(server, "may-not", FAILING, role(server, "mute", policy(["logs:*"], "*")))
    for name in ("may-send", "may-not"):
        lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0,
                                             DestinationConfig={"OnFailure": {"Destination": QUEUES + "failures"}})  # fmt: skip
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"from": "%s"}' % name.encode())

    failed = wait_for(lambda: (c := counters(server, "may-not"))["DeliveryFailures"] and c, what="a refused record")
    assert failed["DeliveryFailures"] == {"OnFailure": 1}
    messages = wait_for(lambda: sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"),
                        what="the permitted record")  # fmt: skip
    assert [json.loads(m["Body"])["requestPayload"]["from"] for m in messages] == ["may-send"]
    assert counters(server, "may-send")["DeliveryFailures"] == {}


def test_on_failure_records_to_a_topic_are_published_as_the_function_role(server: Server) -> None:
    sqs, sns, lam = server.client("sqs"), server.client("sns"), server.client()
    url = sqs.create_queue(QueueName="via-topic")["QueueUrl"]
    topic = sns.create_topic(Name="failure-topic")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=QUEUES + "via-topic")
    create_function(server, "may-publish", FAILING, role(server, "publisher", policy(["sns:Publish"], topic)))
    create_function(server, "may-not-publish", FAILING, role(server, "silent", policy(["sqs:*"], "*")))
    for name in ("may-publish", "may-not-publish"):
        lam.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=0,
                                             DestinationConfig={"OnFailure": {"Destination": topic}})  # fmt: skip
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"from": "%s"}' % name.encode())

    failed = wait_for(lambda: (c := counters(server, "may-not-publish"))["DeliveryFailures"] and c, what="a refusal")
    assert failed["DeliveryFailures"] == {"OnFailure": 1}
    messages = wait_for(lambda: sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"),
                        what="the published record")  # fmt: skip
    records = [json.loads(json.loads(m["Body"])["Message"]) for m in messages]
    assert [record["requestPayload"]["from"] for record in records] == ["may-publish"]
    assert counters(server, "may-publish")["Delivered"] == {"OnFailure": 1}


def user(server: Server, name: str, permissions: str | None = None) -> tuple[str, str]:
    iam = server.client("iam")
    iam.create_user(UserName=name)
    if permissions:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=permissions)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def code_of(call: Callable[[], Any]) -> str:
    try:
        call()
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return "ok"


def test_a_bucket_policy_allows_a_user_with_no_permissions_of_its_own(server: Server) -> None:
    s3 = server.client("s3")
    for bucket in ("shared", "private"):
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="k", Body=b"in " + bucket.encode())
    outsider = server.client("s3", keys=user(server, "outsider"))
    assert code_of(lambda: outsider.get_object(Bucket="shared", Key="k")) == "AccessDenied"
    s3.put_bucket_policy(Bucket="shared", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/outsider"},
         "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"}]}))  # fmt: skip
    assert outsider.get_object(Bucket="shared", Key="k")["Body"].read() == b"in shared"
    assert code_of(lambda: outsider.get_object(Bucket="private", Key="k")) == "AccessDenied"
    assert code_of(lambda: outsider.put_object(Bucket="shared", Key="k", Body=b"x")) == "AccessDenied"


def test_an_explicit_deny_in_a_queue_policy_beats_an_identity_allow(server: Server) -> None:
    sqs = server.client("sqs")
    guarded = sqs.create_queue(QueueName="guarded")["QueueUrl"]
    open_url = sqs.create_queue(QueueName="open")["QueueUrl"]
    writer = server.client("sqs", keys=user(server, "writer", policy(["sqs:*"], "*")))
    assert code_of(lambda: writer.send_message(QueueUrl=guarded, MessageBody="before")) == "ok"
    sqs.set_queue_attributes(QueueUrl=guarded, Attributes={"Policy": json.dumps({"Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/writer"},
                       "Action": "sqs:SendMessage", "Resource": QUEUES + "guarded"}]})})  # fmt: skip
    with pytest.raises(ClientError) as caught:
        writer.send_message(QueueUrl=guarded, MessageBody="after")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert "explicit deny in a resource-based policy" in caught.value.response["Error"]["Message"]
    assert code_of(lambda: writer.send_message(QueueUrl=open_url, MessageBody="elsewhere")) == "ok"
    assert code_of(lambda: writer.get_queue_attributes(QueueUrl=guarded)) == "ok"  # only SendMessage is denied


def received(server: Server, name: str) -> int:
    return int(counters(server, name)["EventsReceived"])


def test_sns_and_eventbridge_invoke_only_as_the_function_policy_allows(server: Server) -> None:
    lam, sns, events = server.client(), server.client("sns"), server.client("events")
    create_function(server, "listener", "def handler(e, c):\n    return 1\n", role(server, "plain", None))
    function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:listener"
    topic, other = (sns.create_topic(Name=name)["TopicArn"] for name in ("news", "other-news"))
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function)
    rule = events.put_rule(Name="every-order", EventPattern=json.dumps({"source": ["shop"]}))["RuleArn"]
    events.put_targets(Rule="every-order", Targets=[{"Id": "1", "Arn": function}])

    def publish_both() -> None:
        sns.publish(TopicArn=topic, Message="hello")
        events.put_events(Entries=[{"Source": "shop", "DetailType": "order", "Detail": "{}"}])

    publish_both()  # no permission at all: nothing is delivered
    lam.add_permission(FunctionName="listener", StatementId="other", Action="lambda:InvokeFunction",
                       Principal="sns.amazonaws.com", SourceArn=other)  # another topic's permission  # fmt: skip
    publish_both()
    for statement, principal, source in (("sns", "sns.amazonaws.com", topic), ("rule", "events.amazonaws.com", rule)):
        lam.add_permission(FunctionName="listener", StatementId=statement, Action="lambda:InvokeFunction",
                           Principal=principal, SourceArn=source)  # fmt: skip
    publish_both()  # now both are allowed: exactly these two arrive
    wait_for(lambda: received(server, "listener") >= 2, what="the permitted deliveries")
    time.sleep(0.5)
    assert received(server, "listener") == 2
    # the refused ones, as the services count them: twice each (no permission, then another topic's)
    cloudwatch, now = server.client("cloudwatch"), time.time()
    for namespace, metric, dimension in (("AWS/Events", "FailedInvocations", ("RuleName", "every-order")),
                                         ("AWS/SNS", "NumberOfNotificationsFailed", ("TopicName", "news"))):  # fmt: skip
        points = cloudwatch.get_metric_statistics(Namespace=namespace, MetricName=metric, Statistics=["Sum"],
                                                  Dimensions=[{"Name": dimension[0], "Value": dimension[1]}],
                                                  StartTime=now - 600, EndTime=now + 60, Period=60)["Datapoints"]  # fmt: skip
        assert sum(point["Sum"] for point in points) == 2, (metric, points)


READER = """
import boto3
def handler(event, context):
    try:
        return boto3.client("s3").get_object(Bucket=event["bucket"], Key="k")["Body"].read().decode()
    except Exception as error:
        return error.response["Error"]["Code"]
"""


def test_a_bucket_policy_that_names_a_role_lets_its_function_read(server: Server) -> None:
    s3, lam = server.client("s3"), server.client()
    for bucket in ("for-the-role", "not-for-it"):
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="k", Body=b"in " + bucket.encode())
    s3.put_bucket_policy(Bucket="for-the-role", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ROLES + "no-s3"}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::for-the-role/*"}]}))  # fmt: skip
    create_function(server, "bucket-reader", READER, role(server, "no-s3", policy(["logs:*"], "*")))
    for bucket, expected in (("for-the-role", '"in for-the-role"'), ("not-for-it", '"AccessDenied"')):
        reply = lam.invoke(FunctionName="bucket-reader", Payload=json.dumps({"bucket": bucket}).encode())
        assert reply["Payload"].read().decode() == expected
