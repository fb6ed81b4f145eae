"""The AWS services on Kindling's one port: each answers there, S3's addressing, presigned URLs and large
multipart uploads work, and the Lambda and Logs APIs stay Kindling's."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import psutil
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from support import Server, aws_cli, running

MB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("services") / "data") as server:
        yield server


def test_every_service_answers_on_the_one_endpoint(server: Server) -> None:
    client = server.client
    client("s3").create_bucket(Bucket="every-service")
    assert "every-service" in [b["Name"] for b in client("s3").list_buckets()["Buckets"]]
    url = client("sqs").create_queue(QueueName="every-service")["QueueUrl"]
    assert url.endswith("/000000000000/every-service")
    topic = client("sns").create_topic(Name="every-service")["TopicArn"]
    assert topic == "arn:aws:sns:us-east-1:000000000000:every-service"
    ddb = client("dynamodb")
    ddb.create_table(
        TableName="every-service",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    assert [s["TableName"] for s in client("dynamodbstreams").list_streams()["Streams"]] == ["every-service"]
    client("kinesis").create_stream(StreamName="every-service", ShardCount=1)
    assert "every-service" in client("kinesis").list_streams()["StreamNames"]
    client("events").put_rule(Name="every-service", EventPattern=json.dumps({"source": ["x"]}))
    assert client("events").list_rules()["Rules"][0]["Name"] == "every-service"
    client("secretsmanager").create_secret(Name="every-service", SecretString="s3cret")
    assert client("secretsmanager").get_secret_value(SecretId="every-service")["SecretString"] == "s3cret"
    client("ssm").put_parameter(Name="/every/service", Value="v", Type="String")
    assert client("ssm").get_parameter(Name="/every/service")["Parameter"]["Value"] == "v"
    assert client("sts").get_caller_identity()["Account"] == "000000000000"
    client("iam").create_role(RoleName="every-service", AssumeRolePolicyDocument="{}")
    assert client("iam").get_role(RoleName="every-service")["Role"]["Arn"].endswith(":role/every-service")
    assert client("ec2").describe_regions()["Regions"]
    key = client("kms").create_key()["KeyMetadata"]["KeyId"]
    blob = client("kms").encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
    assert client("kms").decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    # Lambda and CloudWatch Logs are still Kindling's own
    assert client("lambda").list_functions()["Functions"] == []
    assert client("logs").describe_log_groups()["logGroups"] == []


def test_the_aws_cli_reaches_the_services(server: Server, tmp_path: Path) -> None:
    source = tmp_path / "hello.txt"
    source.write_text("hello from the CLI")
    aws_cli(server.endpoint, "s3", "mb", "s3://cli-bucket")
    aws_cli(server.endpoint, "s3", "cp", str(source), "s3://cli-bucket/dir/hello.txt")
    listed = aws_cli(server.endpoint, "s3", "ls", "s3://cli-bucket/dir/").stdout
    assert "hello.txt" in listed
    aws_cli(server.endpoint, "sqs", "create-queue", "--queue-name", "cli-queue")
    assert "cli-queue" in aws_cli(server.endpoint, "sqs", "list-queues").stdout


def test_s3_keys_and_errors_are_s3s(server: Server) -> None:
    s3 = server.client("s3")
    s3.create_bucket(Bucket="keys")
    for key in ["plain", "with space/and+plus", "ünïcödé/é.txt", "a%2Fb"]:
        s3.put_object(Bucket="keys", Key=key, Body=key.encode())
        assert s3.get_object(Bucket="keys", Key=key)["Body"].read() == key.encode()
    with pytest.raises(ClientError) as error:
        s3.get_object(Bucket="keys", Key="missing")
    assert error.value.response["Error"]["Code"] == "NoSuchKey"
    with pytest.raises(ClientError) as error:
        s3.head_bucket(Bucket="no-such-bucket")
    assert error.value.response["Error"]["Code"] == "404"


def test_presigned_urls_put_and_get(server: Server) -> None:
    s3 = server.client("s3")
    s3.create_bucket(Bucket="presigned")
    put = s3.generate_presigned_url("put_object", Params={"Bucket": "presigned", "Key": "p.txt"}, ExpiresIn=60)
    request = urllib.request.Request(put, data=b"presigned body", method="PUT")
    with urllib.request.urlopen(request, timeout=10) as reply:
        assert reply.status == 200
    get = s3.generate_presigned_url("get_object", Params={"Bucket": "presigned", "Key": "p.txt"}, ExpiresIn=60)
    with urllib.request.urlopen(get, timeout=10) as reply:
        assert reply.read() == b"presigned body"


def test_sqs_long_poll_wakes_on_a_send(server: Server) -> None:
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName="long-poll")["QueueUrl"]
    got: list[dict] = []
    waiter = threading.Thread(target=lambda: got.append(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)))
    waiter.start()
    # the waiting receive does not block other requests, and wakes as soon as a message arrives
    server.client("sqs").send_message(QueueUrl=url, MessageBody="wake up")
    waiter.join(timeout=5)
    assert not waiter.is_alive()
    assert got[0]["Messages"][0]["Body"] == "wake up"


def test_a_100_mb_object_goes_up_and_down_without_living_in_the_servers_memory(server: Server, tmp_path: Path) -> None:
    s3 = server.client("s3")
    s3.create_bucket(Bucket="large")
    source = tmp_path / "large.bin"
    block = os.urandom(MB)
    with open(source, "wb") as file:
        for n in range(100):
            file.write(block[n:] + block[:n])
    assert server.process is not None
    process = psutil.Process(server.process.pid)

    def peak_growth(action: Callable[[], object]) -> float:
        baseline = process.memory_info().rss
        peak = [baseline]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.02):
                peak[0] = max(peak[0], process.memory_info().rss)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            action()
        finally:
            done.set()
            sampler.join()
        return (peak[0] - baseline) / MB

    config = TransferConfig(multipart_threshold=8 * MB, multipart_chunksize=8 * MB, max_concurrency=2)
    grown = peak_growth(lambda: s3.upload_file(str(source), "large", "big.bin", Config=config))
    assert grown < 60, f"the server's RSS grew by {grown:.0f} MB during a 100 MB upload"
    head = s3.head_object(Bucket="large", Key="big.bin")
    assert head["ContentLength"] == 100 * MB
    assert head["ETag"].endswith('-13"')
    tail = s3.get_object(Bucket="large", Key="big.bin", Range=f"bytes={99 * MB}-{100 * MB - 1}")["Body"].read()
    assert tail == block[99:] + block[:99]

    copy = tmp_path / "copy.bin"
    grown = peak_growth(
        lambda: s3.download_file("large", "big.bin", str(copy), Config=TransferConfig(use_threads=False))
    )
    assert grown < 60, f"the server's RSS grew by {grown:.0f} MB during a 100 MB download"
    assert hashlib.sha256(copy.read_bytes()).digest() == hashlib.sha256(source.read_bytes()).digest()
    single = os.urandom(20 * MB)  # one PutObject: its checksum comes back and boto3 checks it
    s3.put_object(Bucket="large", Key="single.bin", Body=single)
    assert s3.get_object(Bucket="large", Key="single.bin")["Body"].read() == single
    piece = s3.get_object(Bucket="large", Key="single.bin", Range="bytes=-10")
    assert piece["Body"].read() == single[-10:]
    assert piece["ContentRange"] == f"bytes {20 * MB - 10}-{20 * MB - 1}/{20 * MB}"
    with urllib.request.urlopen(
        s3.generate_presigned_url("get_object", Params={"Bucket": "large", "Key": "big.bin"})
    ) as reply:
        assert int(reply.headers["Content-Length"]) == 100 * MB
        assert reply.read(MB) == block


def test_a_service_given_to_another_endpoint_is_not_served_here(tmp_path: Path) -> None:
    with running(tmp_path / "data", "--service-endpoint", "sqs=http://127.0.0.1:9") as other:
        other.client("s3").create_bucket(Bucket="still-here")
        with pytest.raises(ClientError):
            other.client("sqs").list_queues()


def test_lambda_and_logs_scopes_never_reach_the_services(server: Server) -> None:
    """A request signed for ``lambda`` whose path looks like an S3 bucket is still the Lambda API's."""
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(method="GET", url=f"{server.endpoint}/2015-03-31/functions/")
    SigV4Auth(session.get_credentials(), "lambda", "us-east-1").add_auth(request)
    prepared = urllib.request.Request(request.url, headers=dict(request.headers))
    with urllib.request.urlopen(prepared, timeout=10) as reply:
        assert "Functions" in json.loads(reply.read())


def test_the_getting_started_ec2_example_changes_an_embedded_instance(server: Server) -> None:
    """The issue's example (``ec2.start_instances``) against an instance made in the embedded EC2."""
    ec2 = server.client("ec2")
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.stop_instances(InstanceIds=[instance])

    def state() -> str:
        return ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]["State"]["Name"]

    assert state() == "stopped"
    client = boto3.client(
        "ec2",
        region_name="us-east-1",
        endpoint_url=server.endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    changed = client.start_instances(InstanceIds=[instance])["StartingInstances"][0]
    assert (changed["PreviousState"]["Name"], changed["CurrentState"]["Name"]) == ("stopped", "pending")
    assert state() == "running"


def test_bad_requests_get_aws_shaped_errors_and_change_nothing(server: Server) -> None:
    auth = "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=ab"
    tables = server.client("dynamodb").list_tables()["TableNames"]
    for target, body, code in [
        ("DynamoDB_20120810.PutItem", b"{}", "ValidationException"),
        ("DynamoDB_20120810.NoSuchOperation", b"{}", "UnknownOperationException"),
    ]:
        headers = {"Authorization": auth, "X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"}
        request = urllib.request.Request(server.endpoint + "/", data=body, headers=headers, method="POST")
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(request, timeout=10)
        assert error.value.code == 400
        assert json.loads(error.value.read())["__type"] == code
    assert server.client("dynamodb").list_tables()["TableNames"] == tables
    assert server.health()["status"] == "ok"
