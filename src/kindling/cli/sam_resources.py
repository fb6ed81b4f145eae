"""A SAM template's S3 buckets, SQS queues, SNS topics, DynamoDB tables and Kinesis streams, made in the AWS
services on Kindling's port before the functions that use them are deployed.

Each is looked up first and made only when missing (a queue's attributes, a table's stream are brought in
line), so deploying again changes nothing. A resource without an explicit name is named
``<stack>-<LogicalId>`` (CloudFormation adds a random suffix; a stable name is what a redeploy needs).
``!Ref`` and ``!GetAtt`` then resolve as CloudFormation documents them: a bucket's ``Ref`` is its name, a
queue's its URL, a topic's its ARN, a table's and a stream's their name; ``Arn``, ``QueueName``,
``QueueUrl``, ``TopicName``, ``TopicArn`` and a table's ``StreamArn`` are attributes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .common import Clients, CliError, out
from .template import Template, warn_unsupported

BUCKET, QUEUE, TOPIC = "AWS::S3::Bucket", "AWS::SQS::Queue", "AWS::SNS::Topic"
TABLE, SIMPLE_TABLE, STREAM = "AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable", "AWS::Kinesis::Stream"
_QUEUE_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "MaximumMessageSize",
                     "ReceiveMessageWaitTimeSeconds", "RedrivePolicy", "FifoQueue",
                     "ContentBasedDeduplication")  # fmt: skip
_TABLE_PROPERTIES = {"TableName", "AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput",
                     "StreamSpecification", "GlobalSecondaryIndexes", "LocalSecondaryIndexes"}  # fmt: skip
_TAGS = {"Tags"}  # accepted everywhere, not applied


def _name(template: Template, logical: str, given: Any, limit: int, lower: bool = False) -> str:
    name = str(given) if given else f"{template.stack}-{logical}"
    return (name.lower() if lower else name)[:limit]


def _bucket(clients: Clients, template: Template, logical: str, properties: dict[str, Any]) -> bool:
    warn_unsupported(logical, properties, {"BucketName", *_TAGS})
    s3 = clients.aws("s3")
    name = _name(template, logical, properties.get("BucketName"), 63, lower=True)
    template.values[logical] = name
    template.attributes[f"{logical}.Arn"] = f"arn:aws:s3:::{name}"
    template.attributes[f"{logical}.DomainName"] = f"{name}.s3.amazonaws.com"
    try:
        s3.head_bucket(Bucket=name)
        return _report(False, f"bucket {name}")
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
            raise
    s3.create_bucket(Bucket=name)
    return _report(True, f"bucket {name}")


def _queue_attributes(properties: dict[str, Any]) -> dict[str, str]:
    wanted = {}
    for key in _QUEUE_ATTRIBUTES:
        if key in properties:
            value = properties[key]
            if isinstance(value, dict):
                wanted[key] = json.dumps(value)
            elif isinstance(value, bool):
                wanted[key] = str(value).lower()
            else:
                wanted[key] = str(value)
    return wanted


def _queue(clients: Clients, template: Template, logical: str, properties: dict[str, Any]) -> bool:
    warn_unsupported(logical, properties, {"QueueName", *_QUEUE_ATTRIBUTES, *_TAGS})
    sqs = clients.aws("sqs")
    fifo = ".fifo" if properties.get("FifoQueue") else ""
    name = _name(template, logical, properties.get("QueueName"), 80 - len(fifo))
    name = name if name.endswith(".fifo") else name + fifo
    wanted = _queue_attributes(properties)
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        url, changed = sqs.create_queue(QueueName=name, Attributes=wanted)["QueueUrl"], True
    else:
        current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        differs = {key: value for key, value in wanted.items() if not _same(current.get(key), value)}
        differs.pop("FifoQueue", None)  # fixed at creation
        if differs:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=differs)
        changed = bool(differs)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    template.values[logical] = url
    template.attributes.update({f"{logical}.Arn": arn, f"{logical}.QueueName": name, f"{logical}.QueueUrl": url})
    return _report(changed, f"queue {name}")


def _same(current: str | None, wanted: str) -> bool:
    if current is None:
        return False
    if wanted.startswith("{"):
        try:
            return bool(json.loads(current) == json.loads(wanted))
        except ValueError:
            return False
    return current.lower() == wanted.lower()


def _topic(clients: Clients, template: Template, logical: str, properties: dict[str, Any]) -> bool:
    warn_unsupported(logical, properties, {"TopicName", "FifoTopic", "DisplayName", *_TAGS})
    sns = clients.aws("sns")
    fifo = ".fifo" if properties.get("FifoTopic") else ""
    name = _name(template, logical, properties.get("TopicName"), 256 - len(fifo))
    name = name if name.endswith(".fifo") else name + fifo
    existing = {
        topic["TopicArn"].rsplit(":", 1)[1]: topic["TopicArn"]
        for page in sns.get_paginator("list_topics").paginate()
        for topic in page["Topics"]
    }
    arn = existing.get(name)
    if arn is None:
        attributes = {"FifoTopic": "true"} if fifo else {}
        if properties.get("DisplayName"):
            attributes["DisplayName"] = str(properties["DisplayName"])
        arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
    template.values[logical] = arn
    template.attributes.update({f"{logical}.TopicArn": arn, f"{logical}.TopicName": name})
    return _report(name not in existing, f"topic {name}")


def _simple_table(properties: dict[str, Any]) -> dict[str, Any]:
    """A SimpleTable as the Table it stands for: a one-attribute hash key, billed per request."""
    key = properties.get("PrimaryKey") or {"Name": "id", "Type": "String"}
    kind = {"String": "S", "Number": "N", "Binary": "B"}.get(key.get("Type", "String"), "S")
    table = {
        "AttributeDefinitions": [{"AttributeName": key["Name"], "AttributeType": kind}],
        "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
    }
    if properties.get("ProvisionedThroughput"):
        table["ProvisionedThroughput"] = properties["ProvisionedThroughput"]
    if properties.get("TableName"):
        table["TableName"] = properties["TableName"]
    return table


def _table(clients: Clients, template: Template, logical: str, properties: dict[str, Any]) -> bool:
    ddb = clients.aws("dynamodb")
    name = _name(template, logical, properties.get("TableName"), 255)
    stream = properties.get("StreamSpecification") or {}
    wanted_stream = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]} if stream else None
    try:
        table = ddb.describe_table(TableName=name)["Table"]
        changed = False
        current = table.get("StreamSpecification") or {}
        if wanted_stream and (
            not current.get("StreamEnabled") or current.get("StreamViewType") != stream["StreamViewType"]
        ):
            if current.get("StreamEnabled"):  # a stream's view type is changed by replacing the stream
                ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
            table = ddb.update_table(TableName=name, StreamSpecification=wanted_stream)["TableDescription"]
            changed = True
    except ddb.exceptions.ResourceNotFoundException:
        create: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": properties.get("AttributeDefinitions") or [],
            "KeySchema": properties.get("KeySchema") or [],
        }
        if not create["KeySchema"]:
            raise CliError(f"{logical}: a table needs KeySchema and AttributeDefinitions") from None
        if properties.get("ProvisionedThroughput"):
            create["ProvisionedThroughput"] = {k: int(v) for k, v in properties["ProvisionedThroughput"].items()}
        else:
            create["BillingMode"] = "PAY_PER_REQUEST"
        for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if properties.get(key):
                create[key] = properties[key]
        if wanted_stream:
            create["StreamSpecification"] = wanted_stream
        table, changed = ddb.create_table(**create)["TableDescription"], True
    template.values[logical] = name
    template.attributes[f"{logical}.Arn"] = table["TableArn"]
    if table.get("LatestStreamArn"):
        template.attributes[f"{logical}.StreamArn"] = table["LatestStreamArn"]
    return _report(changed, f"table {name}" + (f" (stream {stream['StreamViewType']})" if stream else ""))


def _stream(clients: Clients, template: Template, logical: str, properties: dict[str, Any]) -> bool:
    warn_unsupported(logical, properties, {"Name", "ShardCount", "StreamModeDetails", "RetentionPeriodHours", *_TAGS})
    kinesis = clients.aws("kinesis")
    name = _name(template, logical, properties.get("Name"), 128)
    try:
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        changed = False
    except kinesis.exceptions.ResourceNotFoundException:
        mode = properties.get("StreamModeDetails") or {}
        if mode.get("StreamMode") == "ON_DEMAND":
            kinesis.create_stream(StreamName=name, StreamModeDetails={"StreamMode": "ON_DEMAND"})
        else:
            kinesis.create_stream(StreamName=name, ShardCount=int(properties.get("ShardCount", 1)))
        kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
        summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        changed = True
    template.values[logical] = name
    template.attributes[f"{logical}.Arn"] = summary["StreamARN"]
    return _report(changed, f"stream {name}")


def _report(changed: bool, line: str) -> bool:
    out.print(line if changed else f"up to date: {line}", markup=False)
    return changed


_MAKERS: dict[str, Callable[[Clients, Template, str, dict[str, Any]], bool]] = {
    BUCKET: _bucket,
    QUEUE: _queue,
    TOPIC: _topic,
    TABLE: _table,
    STREAM: _stream,
}
RESOURCE_TYPES = frozenset({*_MAKERS, SIMPLE_TABLE})


def create_resources(clients: Clients, template: Template) -> int:
    """Makes the template's service resources that are missing, in template order, and records what
    ``!Ref`` / ``!GetAtt`` give for each; how many changed."""
    changed = 0
    for logical, resource in template.document["Resources"].items():
        kind = resource.get("Type") if isinstance(resource, dict) else None
        if kind not in RESOURCE_TYPES:
            continue
        properties = template.resolve(resource.get("Properties") or {}, logical)
        if kind == SIMPLE_TABLE:
            warn_unsupported(logical, properties, {"PrimaryKey", "TableName", "ProvisionedThroughput", *_TAGS})
            changed += _table(clients, template, logical, _simple_table(properties))
            continue
        if kind == TABLE:
            warn_unsupported(logical, properties, {*_TABLE_PROPERTIES, *_TAGS})
        changed += _MAKERS[kind](clients, template, logical, properties)
    return changed
