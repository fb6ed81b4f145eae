"""``kindling deploy`` of a SAM template whose function is fed by S3, SQS, SNS, DynamoDB, Kinesis and
EventBridge: the template's resources are made in the services on the port, each event is connected with
the permission SAM adds, the events arrive with AWS's shapes, and ``kindling triggers`` lists them all."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Timeout: 10
Resources:
  Uploads:
    Type: AWS::S3::Bucket
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 30
  Records:
    Type: AWS::SQS::Queue
  Alerts:
    Type: AWS::SNS::Topic
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      BillingMode: PAY_PER_REQUEST
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Clicks:
    Type: AWS::Kinesis::Stream
    Properties: {ShardCount: 1}
  Recorder:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-recorder"
      CodeUri: recorder/
      Handler: app.handler
      Environment:
        Variables:
          RECORDS: !Ref Records
          BUCKET_ARN: !GetAtt Uploads.Arn
      Events:
        Upload:
          Type: S3
          Properties:
            Bucket: !Ref Uploads
            Events: s3:ObjectCreated:*
            Filter: {S3Key: {Rules: [{Name: prefix, Value: in/}]}}
        Job:
          Type: SQS
          Properties:
            Queue: !GetAtt Jobs.Arn
            BatchSize: 5
            FilterCriteria: {Filters: [{Pattern: '{"body": {"kind": ["job"]}}'}]}
        Alert:
          Type: SNS
          Properties:
            Topic: !Ref Alerts
            FilterPolicy: {severity: [{prefix: hi}]}
        Order:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Orders.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 10
        Click:
          Type: Kinesis
          Properties:
            Stream: !GetAtt Clicks.Arn
            StartingPosition: TRIM_HORIZON
        Big:
          Type: EventBridgeRule
          Properties:
            Pattern: {source: [my.app], detail: {amount: [{numeric: [">", 100]}]}}
            InputPath: $.detail
"""

RECORDER = """\
import json, os, boto3
sqs = boto3.client("sqs")
def handler(event, context):
    sqs.send_message(QueueUrl=os.environ["RECORDS"], MessageBody=json.dumps(event))
    return {"batchItemFailures": []}
"""


def project(root: Path) -> Path:
    (root / "recorder").mkdir(parents=True)
    (root / "recorder" / "app.py").write_text(RECORDER)
    (root / "template.yaml").write_text(TEMPLATE)
    return root


def source_of(event: dict[str, Any]) -> str:
    record = (event.get("Records") or [{}])[0]
    return record.get("eventSource") or record.get("EventSource") or "eventbridge"


class Recorded:
    """What the recorder function sent to the Records queue, gathered until a test has what it waits for."""

    def __init__(self, sqs: Any, url: str) -> None:
        self.sqs, self.url, self.events = sqs, url, []

    def wait_for(self, sources: set[str], timeout: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while not sources <= {source_of(event) for event in self.events}:
            assert time.monotonic() < deadline, f"only {[source_of(e) for e in self.events]} arrived"
            reply = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in reply.get("Messages", []):
                self.events.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
        return self.events


@pytest.fixture(scope="module")
def deployed(cli, server, lam, tmp_path_factory):  # type: ignore[no-untyped-def]
    root = project(tmp_path_factory.mktemp("t") / "samsrc")
    first = cli("deploy", str(root))
    yield root, first
    for mapping in lam.list_event_source_mappings(FunctionName="samsrc-recorder")["EventSourceMappings"]:
        lam.delete_event_source_mapping(UUID=mapping["UUID"])
    with contextlib.suppress(lam.exceptions.ResourceNotFoundException):
        lam.delete_function(FunctionName="samsrc-recorder")


def test_the_template_makes_its_resources_and_connects_every_event(deployed, server) -> None:  # type: ignore[no-untyped-def]
    _, first = deployed
    lines = first.stdout.splitlines()
    assert lines[:6] == [
        "bucket samsrc-uploads",
        "queue samsrc-Jobs",
        "queue samsrc-Records",
        "topic samsrc-Alerts",
        "table samsrc-Orders (stream NEW_IMAGE)",
        "stream samsrc-Clicks",
    ]
    assert lines[6].startswith("created samsrc-recorder (python3.12, app.handler")
    assert lines[7:] == [
        "s3 notifications of samsrc-uploads: s3:ObjectCreated:* → samsrc-recorder",
        "sqs mapping samsrc-Jobs → samsrc-recorder",
        "sns subscription samsrc-Alerts → samsrc-recorder",
        "dynamodb mapping samsrc-Orders → samsrc-recorder",
        "kinesis mapping samsrc-Clicks → samsrc-recorder",
        "eventbridge rule samsrc-RecorderBig (default) → samsrc-recorder",
        "template.yaml: 13 resources changed",
    ]
    assert first.stderr == ""
    policy = json.loads(server.client().get_policy(FunctionName="samsrc-recorder")["Policy"])
    permissions = {s["Sid"]: (s["Principal"]["Service"], s["Condition"]["ArnLike"]["AWS:SourceArn"])
                   for s in policy["Statement"]}  # fmt: skip
    assert permissions == {
        "RecorderUploadPermission": ("s3.amazonaws.com", "arn:aws:s3:::samsrc-uploads"),
        "RecorderAlertPermission": ("sns.amazonaws.com", "arn:aws:sns:us-east-1:000000000000:samsrc-Alerts"),
        "RecorderBigPermission": (
            "events.amazonaws.com",
            "arn:aws:events:us-east-1:000000000000:rule/samsrc-RecorderBig",
        ),
    }
    s3 = next(statement for statement in policy["Statement"] if statement["Sid"] == "RecorderUploadPermission")
    assert s3["Condition"]["StringEquals"] == {"AWS:SourceAccount": "000000000000"}


def test_each_source_invokes_the_function_with_its_event(deployed, server) -> None:  # type: ignore[no-untyped-def]
    s3, sqs, sns = server.client("s3"), server.client("sqs"), server.client("sns")
    ddb, kinesis, events = server.client("dynamodb"), server.client("kinesis"), server.client("events")
    topic = "arn:aws:sns:us-east-1:000000000000:samsrc-Alerts"
    # what the filters keep out goes first: had it been delivered, it would be recorded before the rest
    s3.put_object(Bucket="samsrc-uploads", Key="out/skipped.txt", Body=b"no")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="samsrc-Jobs")["QueueUrl"], MessageBody='{"kind": "x"}')
    sns.publish(
        TopicArn=topic, Message="calm", MessageAttributes={"severity": {"DataType": "String", "StringValue": "low"}}
    )
    small = {"Source": "my.app", "DetailType": "order", "Detail": json.dumps({"amount": 5})}
    events.put_events(Entries=[small])

    s3.put_object(Bucket="samsrc-uploads", Key="in/photo.jpg", Body=b"jpeg")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="samsrc-Jobs")["QueueUrl"], MessageBody='{"kind": "job"}')
    sns.publish(
        TopicArn=topic, Message="fire", MessageAttributes={"severity": {"DataType": "String", "StringValue": "high"}}
    )
    ddb.put_item(TableName="samsrc-Orders", Item={"id": {"S": "o-1"}})
    kinesis.put_record(StreamName="samsrc-Clicks", Data=b"click", PartitionKey="k")
    events.put_events(Entries=[{**small, "Detail": json.dumps({"amount": 150})}])

    records = Recorded(sqs, sqs.get_queue_url(QueueName="samsrc-Records")["QueueUrl"])
    got = records.wait_for({"aws:s3", "aws:sqs", "aws:sns", "aws:dynamodb", "aws:kinesis", "eventbridge"})
    by_source: dict[str, list[dict[str, Any]]] = {}
    for event in got:
        by_source.setdefault(source_of(event), []).append(event)
    assert [e["Records"][0]["s3"]["object"]["key"] for e in by_source["aws:s3"]] == ["in/photo.jpg"]
    assert [json.loads(e["Records"][0]["body"]) for e in by_source["aws:sqs"]] == [{"kind": "job"}]
    assert [e["Records"][0]["Sns"]["Message"] for e in by_source["aws:sns"]] == ["fire"]
    assert by_source["aws:dynamodb"][0]["Records"][0]["dynamodb"]["NewImage"] == {"id": {"S": "o-1"}}
    assert by_source["aws:kinesis"][0]["Records"][0]["kinesis"]["partitionKey"] == "k"
    assert by_source["eventbridge"] == [{"amount": 150}]  # InputPath $.detail


def test_deploying_again_changes_nothing_then_what_was_edited(deployed, cli, server) -> None:  # type: ignore[no-untyped-def]
    root, _ = deployed
    again = cli("deploy", str(root)).stdout.splitlines()
    assert again[-1] == "template.yaml: nothing changed"
    assert all(line.startswith("up to date") or "is up to date" in line for line in again[:-1]), again
    edited = TEMPLATE.replace("BatchSize: 5", "BatchSize: 7").replace("{prefix: hi}", "{prefix: lo}")
    (root / "template.yaml").write_text(edited.replace("VisibilityTimeout: 30", "VisibilityTimeout: 45"))
    try:
        changed = cli("deploy", str(root)).stdout.splitlines()
    finally:
        (root / "template.yaml").write_text(TEMPLATE)
    assert [line for line in changed if not line.startswith("up to date") and "is up to date" not in line] == [
        "queue samsrc-Jobs",
        "sqs mapping samsrc-Jobs → samsrc-recorder",
        "sns subscription samsrc-Alerts → samsrc-recorder",
        "template.yaml: 3 resources changed",
    ]
    sqs, lam, sns = server.client("sqs"), server.client("lambda"), server.client("sns")
    queue = sqs.get_queue_url(QueueName="samsrc-Jobs")["QueueUrl"]
    assert sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "45"
    }
    (mapping,) = [m for m in lam.list_event_source_mappings(FunctionName="samsrc-recorder")["EventSourceMappings"]
                  if m["EventSourceArn"].endswith(":samsrc-Jobs")]  # fmt: skip
    assert mapping["BatchSize"] == 7
    topic = "arn:aws:sns:us-east-1:000000000000:samsrc-Alerts"
    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])["Attributes"]
    assert json.loads(attributes["FilterPolicy"]) == {"severity": [{"prefix": "lo"}]}


def test_triggers_lists_everything_that_invokes_the_function(deployed, cli) -> None:  # type: ignore[no-untyped-def]
    listed = json.loads(cli("triggers", "samsrc-recorder", "--json").stdout)
    kinds = sorted(trigger["kind"] for trigger in listed)
    assert kinds == ["dynamodb", "eventbridge", "kinesis", "policy", "policy", "policy", "s3", "sns", "sqs"]
    s3 = next(trigger for trigger in listed if trigger["kind"] == "s3")
    assert s3["source"] == "samsrc-uploads" and s3["detail"] == "s3:ObjectCreated:* prefix=in/"
    rule = next(trigger for trigger in listed if trigger["kind"] == "eventbridge")
    assert rule["source"] == "default/samsrc-RecorderBig" and rule["state"] == "ENABLED"
    table = cli("triggers", "samsrc-recorder").stdout.splitlines()
    assert table[0].split() == ["KIND", "SOURCE", "DETAIL", "STATE", "QUALIFIER"]
    assert any(line.startswith("sns ") and "samsrc-Alerts" in line for line in table)
    row = next(line for line in cli("ls").stdout.splitlines() if line.startswith("samsrc-recorder "))
    assert row.endswith(" sqs dynamodb kinesis policy:events policy:s3 policy:sns")  # the TRIGGERS column
    missing = cli("triggers", "no-such-function", check=False)
    assert missing.returncode == 1 and "no function named 'no-such-function'" in missing.stderr
