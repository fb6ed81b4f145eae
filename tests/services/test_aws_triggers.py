"""S3, SNS and EventBridge invoke functions asynchronously with AWS's event shapes."""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from support import Server, create_function, running

ACCOUNT = "000000000000"
PRINT_EVENT = "import json\ndef handler(event, context):\n    print('EVENT' + json.dumps(event))\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("triggers") / "data") as server:
        yield server


def deploy(server: Server, name: str) -> str:
    create_function(server.client("lambda"), name, {"app.py": PRINT_EVENT})
    return f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"


def events_of(server: Server, function: str, count: int, timeout: float = 20) -> list[dict]:
    """The events the function printed, once there are ``count`` of them."""
    logs = server.client("logs")
    deadline = time.monotonic() + timeout
    seen: list[dict] = []
    while time.monotonic() < deadline:
        try:
            found = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}", filterPattern="EVENT")["events"]
        except logs.exceptions.ResourceNotFoundException:
            found = []
        seen = [json.loads(e["message"].split("EVENT", 1)[1]) for e in found]
        if len(seen) >= count:
            return seen
        time.sleep(0.1)
    raise AssertionError(f"{function} received {len(seen)} events, not {count}: {seen}")


def test_s3_notifications_need_the_functions_permission_and_deliver_the_s3_event(server: Server) -> None:
    s3, lam = server.client("s3"), server.client("lambda")
    function = deploy(server, "on-upload")
    s3.create_bucket(Bucket="uploads-bucket")
    config = {
        "LambdaFunctionConfigurations": [
            {
                "Id": "uploads",
                "LambdaFunctionArn": function,
                "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                "Filter": {
                    "Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}, {"Name": "suffix", "Value": ".txt"}]}
                },
            }
        ]
    }

    def put_config() -> None:
        s3.put_bucket_notification_configuration(Bucket="uploads-bucket", NotificationConfiguration=config)

    with pytest.raises(ClientError) as refused:
        put_config()
    error = refused.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "InvalidArgument",
        "Unable to validate the following destination configurations",
    )
    permission = {"FunctionName": "on-upload", "Action": "lambda:InvokeFunction", "Principal": "s3.amazonaws.com"}
    lam.add_permission(StatementId="other-bucket", SourceArn="arn:aws:s3:::other-bucket", **permission)
    with pytest.raises(ClientError):
        put_config()  # a permission for another bucket is not one for this bucket
    lam.add_permission(StatementId="uploads", SourceArn="arn:aws:s3:::uploads-bucket", **permission)
    put_config()
    saved = s3.get_bucket_notification_configuration(Bucket="uploads-bucket")["LambdaFunctionConfigurations"]
    assert saved[0]["LambdaFunctionArn"] == function

    s3.put_object(Bucket="uploads-bucket", Key="elsewhere/a.txt", Body=b"no")
    s3.put_object(Bucket="uploads-bucket", Key="in/a.bin", Body=b"no")
    put = s3.put_object(Bucket="uploads-bucket", Key="in/hello world+1.txt", Body=b"hello")
    (event,) = events_of(server, "on-upload", 1)
    (record,) = event["Records"]
    assert set(record) == {
        "eventVersion",
        "eventSource",
        "awsRegion",
        "eventTime",
        "eventName",
        "userIdentity",
        "requestParameters",
        "responseElements",
        "s3",
    }
    assert (record["eventVersion"], record["eventSource"], record["awsRegion"]) == ("2.1", "aws:s3", "us-east-1")
    assert record["eventName"] == "ObjectCreated:Put"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["eventTime"])
    assert record["userIdentity"] == {"principalId": f"AWS:{server.root_keys[0]}"}  # the key that signed the put
    assert record["requestParameters"] == {"sourceIPAddress": "127.0.0.1"}
    assert set(record["responseElements"]) == {"x-amz-request-id", "x-amz-id-2"}
    s3_part = record["s3"]
    assert (s3_part["s3SchemaVersion"], s3_part["configurationId"]) == ("1.0", "uploads")
    assert s3_part["bucket"]["name"] == "uploads-bucket"
    assert s3_part["bucket"]["arn"] == "arn:aws:s3:::uploads-bucket"
    assert set(s3_part["bucket"]["ownerIdentity"]) == {"principalId"}
    obj = s3_part["object"]
    assert obj["key"] == "in/hello+world%2B1.txt"  # URL-encoded as AWS does
    assert (obj["size"], obj["eTag"]) == (5, put["ETag"].strip('"'))
    assert re.fullmatch(r"[0-9A-F]{16,}", obj["sequencer"])

    s3.delete_object(Bucket="uploads-bucket", Key="in/hello world+1.txt")
    removed = [e for e in events_of(server, "on-upload", 2) if e["Records"][0]["eventName"].startswith("ObjectRemoved")]
    obj = removed[0]["Records"][0]["s3"]["object"]
    assert removed[0]["Records"][0]["eventName"] == "ObjectRemoved:Delete"
    assert "size" not in obj and "eTag" not in obj and obj["key"] == "in/hello+world%2B1.txt"
    assert len(events_of(server, "on-upload", 2)) == 2  # the objects outside the filter sent nothing


def test_sns_delivers_to_a_lambda_subscription_through_its_filter_policy(server: Server) -> None:
    sns = server.client("sns")
    function = deploy(server, "on-message")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    subscription = sns.subscribe(
        TopicArn=topic,
        Protocol="lambda",
        Endpoint=function,
        Attributes={"FilterPolicy": json.dumps({"color": ["red"]})},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]

    def publish(color: str, message: str) -> str:
        attributes = {"color": {"DataType": "String", "StringValue": color}}
        return sns.publish(TopicArn=topic, Message=message, Subject="order", MessageAttributes=attributes)["MessageId"]

    publish("blue", "filtered out")
    message_id = publish("red", "delivered")
    (event,) = events_of(server, "on-message", 1)
    (record,) = event["Records"]
    assert (record["EventSource"], record["EventVersion"]) == ("aws:sns", "1.0")
    assert record["EventSubscriptionArn"] == subscription
    sns_part = record["Sns"]
    assert (sns_part["Type"], sns_part["MessageId"], sns_part["TopicArn"]) == ("Notification", message_id, topic)
    assert (sns_part["Subject"], sns_part["Message"]) == ("order", "delivered")
    assert sns_part["MessageAttributes"] == {"color": {"Type": "String", "Value": "red"}}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", sns_part["Timestamp"])
    assert {"SignatureVersion", "Signature", "SigningCertUrl", "UnsubscribeUrl"} <= set(sns_part)
    publish("blue", "filtered out again")
    publish("red", "delivered again")
    messages = [e["Records"][0]["Sns"]["Message"] for e in events_of(server, "on-message", 2)]
    assert sorted(messages) == ["delivered", "delivered again"]


def test_eventbridge_rules_deliver_matching_events_to_functions(server: Server) -> None:
    events = server.client("events")
    function = deploy(server, "on-event")
    events.create_event_bus(Name="orders-bus")
    pattern = {"source": ["shop"], "detail": {"status": ["paid"]}}
    events.put_rule(Name="paid", EventBusName="orders-bus", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="paid", EventBusName="orders-bus", Targets=[{"Id": "whole", "Arn": function}])
    events.put_rule(Name="shipped", EventPattern=json.dumps({"detail-type": ["shipped"]}))  # the default bus
    events.put_targets(
        Rule="shipped",
        Targets=[
            {"Id": "path", "Arn": function, "InputPath": "$.detail"},
            {"Id": "constant", "Arn": function, "Input": json.dumps({"constant": True})},
            {
                "Id": "transformed",
                "Arn": function,
                "InputTransformer": {
                    "InputPathsMap": {"order": "$.detail.order", "source": "$.source"},
                    "InputTemplate": '{"summary": "<source> shipped <order>"}',
                },
            },
        ],
    )

    def put(bus: str, source: str, detail_type: str, detail: dict) -> None:
        entry = {"EventBusName": bus, "Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}
        assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0

    put("orders-bus", "shop", "order", {"status": "pending", "order": 1})  # no rule matches
    put("orders-bus", "elsewhere", "order", {"status": "paid", "order": 2})  # no rule matches
    put("default", "shop", "order", {"status": "paid", "order": 3})  # "paid" is on the other bus
    put("orders-bus", "shop", "order", {"status": "paid", "order": 4})
    (whole,) = events_of(server, "on-event", 1)
    assert set(whole) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    assert (whole["version"], whole["source"], whole["detail-type"]) == ("0", "shop", "order")
    assert (whole["account"], whole["region"], whole["resources"]) == (ACCOUNT, "us-east-1", [])
    assert whole["detail"] == {"status": "paid", "order": 4}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", whole["time"])

    put("default", "warehouse", "shipped", {"order": 5})
    received = events_of(server, "on-event", 4)
    assert {"order": 5} in received
    assert {"constant": True} in received
    assert {"summary": "warehouse shipped 5"} in received
    assert len(events_of(server, "on-event", 4)) == 4


def test_async_failures_reach_a_queue_of_the_embedded_sqs(server: Server) -> None:
    """Destinations and dead-letter queues need no SQS of their own: the one on the port is the default."""
    failures_reach_the_embedded_sqs(server)


def test_with_signatures_required_the_platform_still_reaches_its_own_sqs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Under --auth iam the record is sent with the function's role's credentials (as on AWS), not a
    placeholder the gate would refuse: the role may send to the queue."""
    with running(tmp_path / "data", "--auth", "iam") as strict:
        strict.client("iam").put_role_policy(RoleName="test", PolicyName="send", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}
        ))  # fmt: skip
        failures_reach_the_embedded_sqs(strict)


def failures_reach_the_embedded_sqs(server: Server) -> None:
    sqs, lam = server.client("sqs"), server.client("lambda")
    url = sqs.create_queue(QueueName="failures")["QueueUrl"]
    create_function(lam, "always-fails", {"app.py": "def handler(event, context):\n    raise ValueError('no')\n"})
    lam.put_function_event_invoke_config(
        FunctionName="always-fails",
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": f"arn:aws:sqs:us-east-1:{ACCOUNT}:failures"}},
    )
    lam.invoke(FunctionName="always-fails", InvocationType="Event", Payload=b'{"n": 1}')
    deadline = time.monotonic() + 20
    messages: list[dict] = []
    while not messages and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])
    record = json.loads(messages[0]["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"] == {"n": 1}


# records each event in S3 (journaled before it answers): log lines written in the last flush interval
# before a kill -9 may be lost, so the logs cannot tell whether a delivery ran
RECORD_EVENT = """import boto3, json
s3 = boto3.client("s3")
def handler(event, context):
    s3.put_object(Bucket="crash-seen", Key=context.aws_request_id, Body=json.dumps(event).encode())
"""


def test_an_acknowledged_upload_is_not_lost_by_kill_9(server: Server) -> None:
    """The S3 event is in the durable queue before the PUT is answered."""
    s3, lam = server.client("s3"), server.client("lambda")
    create_function(lam, "after-crash", {"app.py": RECORD_EVENT}, Timeout=30)
    function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:after-crash"
    s3.create_bucket(Bucket="crash-bucket")
    s3.create_bucket(Bucket="crash-seen")
    lam.add_permission(
        FunctionName="after-crash",
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::crash-bucket",
    )
    target = {"LambdaFunctionArn": function, "Events": ["s3:ObjectCreated:*"]}
    s3.put_bucket_notification_configuration(
        Bucket="crash-bucket", NotificationConfiguration={"LambdaFunctionConfigurations": [target]}
    )
    s3.put_object(Bucket="crash-bucket", Key="survivor.txt", Body=b"x")
    server.stop(signal.SIGKILL)
    server.start()
    s3 = server.client("s3")
    deadline = time.monotonic() + 30
    while not (seen := s3.list_objects_v2(Bucket="crash-seen").get("Contents", [])):
        assert time.monotonic() < deadline, "the acknowledged upload's event never reached the function"
        time.sleep(0.1)
    event = json.loads(s3.get_object(Bucket="crash-seen", Key=seen[0]["Key"])["Body"].read())
    assert event["Records"][0]["s3"]["object"]["key"] == "survivor.txt"  # at least once, before or after the kill
