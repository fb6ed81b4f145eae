"""Nothing lost: the state of every service survives a clean restart and a ``kill -9`` of the server."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support import Server

Client = Callable[..., object]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = Server(tmp_path_factory.mktemp("persistence") / "data").start()
    try:
        yield server
    finally:
        server.stop()


def populate(client: Client, tag: str) -> dict:
    """One of everything the issue lists, named after ``tag``; returns what a check needs to know."""
    s3 = client("s3")
    s3.create_bucket(Bucket=f"bucket-{tag}")
    s3.put_object(Bucket=f"bucket-{tag}", Key="dir/object.txt", Body=f"object {tag}".encode())
    sqs = client("sqs")
    queue = sqs.create_queue(QueueName=f"queue-{tag}")["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=queue, MessageBody=f"message {n}")
    received = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)["Messages"][0]
    sns = client("sns")
    topic = sns.create_topic(Name=f"topic-{tag}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=f"arn:aws:sqs:us-east-1:000000000000:queue-{tag}")
    ddb = client("dynamodb")
    ddb.create_table(
        TableName=f"table-{tag}",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName=f"table-{tag}", Item={"id": {"S": "1"}, "value": {"N": "42"}})
    kinesis = client("kinesis")
    kinesis.create_stream(StreamName=f"stream-{tag}", ShardCount=1)
    kinesis.put_record(StreamName=f"stream-{tag}", Data=b"record", PartitionKey="p")
    events = client("events")
    events.create_event_bus(Name=f"bus-{tag}")
    events.put_rule(Name=f"rule-{tag}", EventBusName=f"bus-{tag}", EventPattern=json.dumps({"source": [tag]}))
    client("secretsmanager").create_secret(Name=f"secret-{tag}", SecretString=f"secret {tag}")
    client("ssm").put_parameter(Name=f"/param/{tag}", Value=f"param {tag}", Type="String")
    client("iam").create_role(RoleName=f"role-{tag}", AssumeRolePolicyDocument="{}")
    ec2 = client("ec2")
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[instance])
    kms = client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=tag.encode())["CiphertextBlob"]
    return {"queue": queue, "receipt": received["ReceiptHandle"], "instance": instance, "blob": blob}


def check(client: Client, tag: str, known: dict) -> None:
    s3 = client("s3")
    assert s3.get_object(Bucket=f"bucket-{tag}", Key="dir/object.txt")["Body"].read() == f"object {tag}".encode()
    sqs = client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=known["queue"], AttributeNames=["All"])["Attributes"]
    assert (
        int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"]) == 3
    )
    sqs.delete_message(QueueUrl=known["queue"], ReceiptHandle=known["receipt"])  # a receipt from before still works
    topic = f"arn:aws:sns:us-east-1:000000000000:topic-{tag}"
    assert [s["Protocol"] for s in client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]] == [
        "sqs"
    ]
    item = client("dynamodb").get_item(TableName=f"table-{tag}", Key={"id": {"S": "1"}})["Item"]
    assert item["value"] == {"N": "42"}
    kinesis = client("kinesis")
    shard = kinesis.list_shards(StreamName=f"stream-{tag}")["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=f"stream-{tag}", ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=iterator["ShardIterator"])["Records"]] == [b"record"]
    rules = client("events").list_rules(EventBusName=f"bus-{tag}")["Rules"]
    assert [r["Name"] for r in rules] == [f"rule-{tag}"]
    secret = client("secretsmanager").get_secret_value(SecretId=f"secret-{tag}")["SecretString"]
    assert secret == f"secret {tag}"
    assert client("ssm").get_parameter(Name=f"/param/{tag}")["Parameter"]["Value"] == f"param {tag}"
    assert client("iam").get_role(RoleName=f"role-{tag}")["Role"]["RoleName"] == f"role-{tag}"
    reservations = client("ec2").describe_instances(InstanceIds=[known["instance"]])["Reservations"]
    assert reservations[0]["Instances"][0]["State"]["Name"] == "stopped"
    assert client("kms").decrypt(CiphertextBlob=known["blob"])["Plaintext"] == tag.encode()


def test_state_survives_a_clean_restart(server: Server) -> None:
    known = populate(server.client, "clean")
    assert server.stop() == 0
    server.start()
    check(server.client, "clean", known)


def test_state_survives_kill_9(server: Server) -> None:
    """Every answer was journaled before it left: a SIGKILL right after the last one loses nothing of it
    (the one-second window is for a crash of the machine, whose fsync is at most a second late)."""
    known = populate(server.client, "killed")
    server.stop(signal.SIGKILL)
    server.start()
    check(server.client, "killed", known)
    # what was replayed is compacted into a snapshot: a second crash finds it there
    server.stop(signal.SIGKILL)
    server.start()
    assert server.client("s3").get_object(Bucket="bucket-killed", Key="dir/object.txt")["Body"].read()
    snapshots = [p.name for p in Path(server.data_dir, "services").iterdir() if p.name.startswith("snapshot-")]
    assert len(snapshots) == 1
