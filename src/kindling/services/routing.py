"""Which AWS service a request on the port is for, the way one ``endpoint_url`` sends them all.

An SDK names the service it signs for in the SigV4 credential scope (``Credential=AKID/date/region/SERVICE/
aws4_request``), in the ``Authorization`` header or, for a presigned URL, the ``X-Amz-Credential`` query
parameter; JSON-protocol APIs also name it in ``X-Amz-Target``, and S3 in a virtual host
(``bucket.s3.amazonaws.com``). Only those few bytes are looked at, never the body: ``claims`` runs for
every request that is not an Invoke. Lambda's (``lambda``) and CloudWatch Logs' (``logs``) scopes are
never ours.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

# the credential scope's service -> the emulated service (moto's backend name)
SIGNED: dict[bytes, str] = {
    b"s3": "s3",
    b"sqs": "sqs",
    b"sns": "sns",
    b"dynamodb": "dynamodb",  # DynamoDB Streams signs as dynamodb too: told apart by X-Amz-Target
    b"kinesis": "kinesis",
    b"events": "events",
    b"secretsmanager": "secretsmanager",
    b"ssm": "ssm",
    b"sts": "sts",
    b"iam": "iam",
    b"ec2": "ec2",
    b"kms": "kms",
}
# the JSON protocol's X-Amz-Target prefix (before the '.') -> service, for unsigned requests
TARGETS: dict[bytes, str] = {
    b"DynamoDB_20120810": "dynamodb",
    b"DynamoDBStreams_20120810": "dynamodbstreams",
    b"Kinesis_20131202": "kinesis",
    b"AWSEvents": "events",
    b"secretsmanager": "secretsmanager",
    b"AmazonSSM": "ssm",
    b"TrentService": "kms",
    b"AmazonSQS": "sqs",
}
SERVICES = frozenset([*SIGNED.values(), *TARGETS.values()])
_STREAMS_TARGET = b"DynamoDBStreams_"


def _scope_service(credential: bytes) -> bytes:
    """``AKID/20240101/us-east-1/s3/aws4_request`` -> ``s3``."""
    parts = credential.split(b"/")
    return parts[3] if len(parts) == 5 else b""


def service_of(scope: dict) -> str | None:
    """The emulated service a request is for, or None when it is not for one of them."""
    authorization = target = host = b""
    for key, value in scope["headers"]:
        if key == b"authorization":
            authorization = value
        elif key == b"x-amz-target":
            target = value
        elif key == b"host":
            host = value
    if authorization:
        start = authorization.find(b"Credential=")
        if start < 0:
            return None  # SigV2 or something else: not a request these services take
        end = authorization.find(b",", start)
        signed = _scope_service(authorization[start + 11 : end if end > 0 else None].strip())
        if signed == b"dynamodb" and target.startswith(_STREAMS_TARGET):
            return "dynamodbstreams"
        return SIGNED.get(signed)
    query: bytes = scope.get("query_string", b"")
    if query:
        start = query.find(b"X-Amz-Credential=")
        if start >= 0:
            end = query.find(b"&", start)
            signed = _scope_service(unquote_to_bytes(query[start + 17 : end if end > 0 else None]))
            return SIGNED.get(signed)
        if b"AWSAccessKeyId=" in query and b"Signature=" in query:
            return "s3"  # S3's SigV2 query authentication
    if target:
        return TARGETS.get(target.split(b".", 1)[0])
    if b".s3." in host or host.startswith(b"s3."):
        return "s3"  # virtual-hosted or regional S3 hosts, unsigned (public objects)
    return None


JSON_SERVICES = frozenset(["dynamodb", "dynamodbstreams", "kinesis", "events", "secretsmanager", "ssm", "kms"])
# operations that only read (by name prefix): everything else is journaled when it succeeds
_READS = (
    "Get",
    "List",
    "Describe",
    "Query",
    "Scan",
    "BatchGet",
    "TransactGet",
    "Head",
    "Lookup",
    "Search",
    "Check",
    "Decrypt",
    "Encrypt",
    "Generate",
    "Sign",
    "Verify",
    "Test",
    "Simulate",
    "Receive",  # SQS receives are journaled by the adapter when they took messages
)
_S3_READS = frozenset(["GET", "HEAD", "OPTIONS"])


def operation(method: str, target: str, query: str, form: bytes | None) -> str:
    """The operation's name: X-Amz-Target's or the query protocol's Action; S3 (REST) answers its method."""
    if target:
        return target.rsplit(".", 1)[-1]
    for source in (query.encode("latin-1"), form or b""):
        start = source.find(b"Action=")
        if start == 0 or (start > 0 and source[start - 1 : start] == b"&"):
            end = source.find(b"&", start)
            return source[start + 7 : end if end > 0 else None].decode("latin-1")
    return method


def changes_state(service: str, method: str, name: str) -> bool:
    if service == "s3":
        return method not in _S3_READS
    return not name.startswith(_READS)
