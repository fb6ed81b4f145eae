"""A nodejs20.x function reads and writes the server's own S3 and DynamoDB with the AWS SDK for JavaScript v3
the runtime provides (``@aws-sdk/client-s3``, ``@aws-sdk/lib-dynamodb``), with no endpoint in its code: the
environment's AWS_ENDPOINT_URL points the SDK at the port. What it wrote is read back with boto3."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from support import Server, create_function, running

NODE_S3_DYNAMODB = """
import { S3Client, GetObjectCommand, PutObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";

const s3 = new S3Client({});
const items = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export const handler = async (event) => {
  const seed = await (await s3.send(new GetObjectCommand({ Bucket: event.bucket, Key: "seed.txt" }))).Body.transformToString();
  await s3.send(new PutObjectCommand({ Bucket: event.bucket, Key: "out/node.txt", Body: `${seed} and node` }));
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: event.bucket }));
  await items.send(new PutCommand({ TableName: event.table, Item: { id: "n1", count: 1, tags: ["a", "b"] } }));
  await items.send(new UpdateCommand({ TableName: event.table, Key: { id: "n1" }, UpdateExpression: "ADD #c :one",
                                       ExpressionAttributeNames: { "#c": "count" }, ExpressionAttributeValues: { ":one": 2 } }));
  const given = await items.send(new GetCommand({ TableName: event.table, Key: { id: "t1" } }));
  return { seed, keys: listed.Contents.map((o) => o.Key), item: given.Item, endpoint: process.env.AWS_ENDPOINT_URL };
};
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("node-sdk") / "data") as server:
        yield server


def test_node_reads_and_writes_s3_and_dynamodb_on_the_port(server: Server) -> None:
    s3, ddb, lam = server.client("s3"), server.client("dynamodb"), server.client("lambda")
    s3.create_bucket(Bucket="node-sdk")
    s3.put_object(Bucket="node-sdk", Key="seed.txt", Body=b"from the test")
    ddb.create_table(TableName="node-items", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")  # fmt: skip
    ddb.put_item(TableName="node-items", Item={"id": {"S": "t1"}, "price": {"N": "9.5"}, "ok": {"BOOL": True}})
    create_function(lam, "node-s3-ddb", {"index.mjs": NODE_S3_DYNAMODB}, handler="index.handler",
                    runtime="nodejs20.x", Timeout=30)  # fmt: skip
    reply = lam.invoke(FunctionName="node-s3-ddb", Payload=json.dumps({"bucket": "node-sdk", "table": "node-items"}))
    body = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, body
    assert body == {
        "seed": "from the test",
        "keys": ["out/node.txt", "seed.txt"],
        "item": {"id": "t1", "price": 9.5, "ok": True},
        "endpoint": body["endpoint"],
    }
    assert body["endpoint"].endswith(f":{server.port}")
    assert s3.get_object(Bucket="node-sdk", Key="out/node.txt")["Body"].read() == b"from the test and node"
    written = ddb.get_item(TableName="node-items", Key={"id": {"S": "n1"}})["Item"]
    assert written == {"id": {"S": "n1"}, "count": {"N": "3"}, "tags": {"L": [{"S": "a"}, {"S": "b"}]}}
