"""The few places where moto (pinned in pyproject) is bent to run inside a server that must not block, must
replay its requests identically, and must not hold large objects in memory.

- Identifiers: moto draws them from its seedable ``mock_random``; S3's upload ids, KMS's symmetric key
  material and STS's session tokens come from ``os.urandom``, redirected here to the same seeded source, so
  a replayed journal recreates the same ids and keys. (Asymmetric KMS keys are made by OpenSSL: a key made
  less than a snapshot ago is not the same after a crash.)
- SQS long polling: moto would sleep in its one thread; a receive is made non-blocking here and
  ``long_poll`` tells the adapter to wait on the event loop instead (woken by ``on_message``).
- Matching: EventBridge patterns and SNS filter policies go through ``kindling/patterns.py`` (``matching.py``).
- SQS sends: moto computes every attribute of the queue, message counts included (one pass over all its
  messages, each reading the clock through datetime), to read one flag on every SendMessage; counts are
  skipped during a send and the clock is read with ``time.time``, or a queue of thousands of messages
  takes seconds per batch to fill (and as long to replay after a crash).
- S3 multipart completion: moto concatenates the parts in memory (twice); here they are copied part by
  part into the new object's spooled (on-disk) buffer.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import importlib.util
import json
import os
import tempfile
import threading
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

from moto.core.utils import unix_time_millis as _moto_millis
from moto.core.utils import utcnow
from moto.kms import utils as kms_utils
from moto.moto_api._internal import mock_random
from moto.s3 import models as s3_models
from moto.s3 import utils as s3_utils
from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML
from moto.s3.utils import compute_checksum
from moto.sqs import models as sqs_models
from moto.sts import models as sts_models
from moto.sts import utils as sts_utils

from . import matching

COPY_CHUNK = 1 << 20
_HAS_CRC32C = importlib.util.find_spec("crc32c") is not None


class CallState:
    """What the request being executed did that the adapter must know (one moto thread: one at a time)."""

    def __init__(self) -> None:
        self.reset("", "")

    def reset(self, access_key: str, source_ip: str, signed_at: datetime.datetime | None = None) -> None:
        self.long_poll = 0  # seconds a receive that found nothing was asked to wait
        self.received = False  # a receive took messages (and so changed the queue)
        self.deliveries: list[tuple[str, bytes]] = []  # (function ARN, event) for Lambda (lambda_targets.py)
        self.access_key = access_key  # who sent the request, for the events it causes
        self.source_ip = source_ip
        self.signed_at = signed_at  # the request's X-Amz-Date: "now" for the sessions STS issues


CALL = CallState()
on_message: Callable[[], None] = lambda: None  # noqa: E731 - set by the adapter: wakes waiting receives


class SpooledValue:
    """An object's body as a file, given to ``FakeKey.value`` instead of ``bytes``."""

    def __init__(self, file: Any, size: int) -> None:
        self.file = file
        self.size = size

    def __len__(self) -> int:
        return self.size


def _seeded_urandom(size: int) -> bytes:
    return mock_random.getrandbits(size * 8).to_bytes(size, "big") if size else b""


def _value_setter(original: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    def set_value(key: Any, new_value: Any) -> None:
        if not isinstance(new_value, SpooledValue):
            return original(key, new_value)
        key._value_buffer.seek(0)
        key._value_buffer.truncate()
        new_value.file.seek(0)
        while chunk := new_value.file.read(COPY_CHUNK):
            key._value_buffer.write(chunk)
        key.contentsize = new_value.size
        new_value.file.close()

    return set_value


def _part_chunks(part: Any) -> Iterator[bytes]:
    with part.lock:
        part._value_buffer.seek(0)
        while chunk := part._value_buffer.read(COPY_CHUNK):
            yield chunk


def _complete(self: Any, body: Iterator[tuple[int, str]]) -> tuple[Any, str, tuple[str, str, int] | None]:
    """``FakeMultipart.complete`` without the object in memory: the same checks and results as moto's."""
    algorithm = self.metadata.get("x-amz-checksum-algorithm")
    kind = self.metadata.get("x-amz-checksum-type")
    algorithm = algorithm or "CRC64NVME"
    kind = kind or ("FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE")
    spool = tempfile.SpooledTemporaryFile(s3_models.get_s3_default_key_buffer_size())  # noqa: SIM115 - the new key owns it
    md5s = bytearray()
    part_checksums = bytearray()
    sizes: list[int] = []
    last = None
    for number, etag in body:
        part = self.parts.get(number)
        if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
            raise InvalidPart()
        if last is not None and last.contentsize < s3_models.S3_UPLOAD_PART_MIN_SIZE:
            raise EntityTooSmall()
        md5s.extend(bytes.fromhex(part.etag.replace('"', "")))
        for chunk in _part_chunks(part):
            spool.write(chunk)
        if kind == "COMPOSITE":
            part_checksums.extend(compute_checksum(part.value, algorithm, encode_base64=False))
        sizes.append(part.size)
        last = part
    if not sizes:
        raise MalformedXML()
    self.completed_part_sizes = sizes
    if kind == "COMPOSITE":
        checksum = (kind, compute_checksum(bytes(part_checksums), algorithm).decode(), len(sizes))
    else:
        checksum = (kind, _full_object_checksum(spool, algorithm), 1)
    etag = f"{hashlib.md5(bytes(md5s), usedforsecurity=False).hexdigest()}-{len(sizes)}"
    return SpooledValue(spool, spool.tell() if kind == "COMPOSITE" else sum(sizes)), etag, checksum


def _full_object_checksum(spool: Any, algorithm: str) -> str:
    """moto's ``compute_checksum`` over the whole object, computed chunk by chunk (with moto's fallback to
    CRC32 when the optional CRC32C/CRC64NVME libraries are absent)."""
    spool.seek(0)
    if algorithm in ("SHA1", "SHA256"):
        digest = hashlib.new(algorithm.lower(), usedforsecurity=False)
        while chunk := spool.read(COPY_CHUNK):
            digest.update(chunk)
        return base64.b64encode(digest.digest()).decode()
    if (algorithm == "CRC64NVME" and s3_utils.HAS_CRT) or (algorithm == "CRC32C" and _HAS_CRC32C):
        return compute_checksum(spool.read(), algorithm).decode()  # not made incremental: optional libraries
    crc = 0
    while chunk := spool.read(COPY_CHUNK):
        crc = binascii.crc32(chunk, crc)
    return base64.b64encode(crc.to_bytes(4, "big")).decode()


def _receive(original: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
    def receive_message(self: Any, queue_name: str, count: int, wait_seconds: int, *args: Any, **kw: Any) -> list:
        result = original(self, queue_name, count, 0, *args, **kw)
        CALL.received = bool(result)
        if not result and wait_seconds:
            CALL.long_poll = wait_seconds
        return result

    return receive_message


def _add_message(original: Callable[..., None]) -> Callable[..., None]:
    def add_message(self: Any, message: Any) -> None:
        original(self, message)
        on_message()

    return add_message


_SENDING = threading.local()
_COUNTS = ("approximate_number_of_messages", "approximate_number_of_messages_not_visible",
           "approximate_number_of_messages_delayed")  # fmt: skip


def _millis(dt: Any = None) -> float:
    return time.time() * 1000.0 if dt is None else float(_moto_millis(dt))


def _sending(original: Callable[..., Any]) -> Callable[..., Any]:
    def send_message(self: Any, *args: Any, **kw: Any) -> Any:
        _SENDING.on = True
        try:
            return original(self, *args, **kw)
        finally:
            _SENDING.on = False

    return send_message


def _count(original: Any) -> property:
    def count(queue: Any) -> int:
        return 0 if getattr(_SENDING, "on", False) else int(original.fget(queue))

    return property(count)


def apply() -> None:
    """Once per process, before the first request."""
    if getattr(s3_models, "_kindling_patched", False):
        return
    s3_models._kindling_patched = True
    matching.apply()  # EventBridge patterns and SNS filter policies: kindling/patterns.py
    seeded_os = types.SimpleNamespace(**{**vars(os), "urandom": _seeded_urandom})
    for module in (s3_models, kms_utils, sts_utils):  # upload ids, KMS key material, session tokens
        module.os = seeded_os
    value = s3_models.FakeKey.value
    s3_models.FakeKey.value = value.setter(_value_setter(value.fset))
    s3_models.FakeMultipart.complete = _complete
    sqs_models.SQSBackend.receive_message = _receive(sqs_models.SQSBackend.receive_message)
    sqs_models.Queue.add_message = _add_message(sqs_models.Queue.add_message)
    sqs_models.unix_time_millis = _millis
    sqs_models.SQSBackend.send_message = _sending(sqs_models.SQSBackend.send_message)
    for name in _COUNTS:
        setattr(sqs_models.Queue, name, _count(getattr(sqs_models.Queue, name)))
    sts_models.utcnow = _signed_now  # a session replayed after a restart ends when it ended the first time


# AWS managed policies served (moto knows ~1,300; loading them all slows every IAM backend down)
MANAGED_POLICIES = (
    "AdministratorAccess", "PowerUserAccess", "ReadOnlyAccess", "AWSLambdaBasicExecutionRole", "AWSLambdaExecute",
    "AWSLambdaSQSQueueExecutionRole", "AWSLambdaDynamoDBExecutionRole", "AWSLambdaKinesisExecutionRole",
    "AWSLambdaRole", "AmazonS3ReadOnlyAccess", "AmazonS3FullAccess", "AmazonSQSFullAccess", "AmazonSNSFullAccess",
    "AmazonDynamoDBFullAccess", "AmazonDynamoDBReadOnlyAccess", "SecretsManagerReadWrite",
    "AmazonSSMReadOnlyAccess", "CloudWatchLogsFullAccess", "AmazonKinesisFullAccess", "AmazonEventBridgeFullAccess",
)  # fmt: skip


def _signed_now() -> datetime.datetime:
    return CALL.signed_at or utcnow()


def managed_policies() -> None:
    """The AWS managed policies users attach most, and those moto's list lacks (``AWSLambda_ReadOnlyAccess``…),
    so ``AttachUserPolicy`` takes them by their real ARNs. Before the first IAM backend is made (importing
    moto's IAM takes a second: not done until IAM or STS is used)."""
    from moto.iam import models as iam_models

    if getattr(iam_models, "_kindling_patched", False):
        return
    iam_models._kindling_patched = True

    from ..auth.identities import MANAGED

    known = json.loads(iam_models.aws_managed_policies_data)
    chosen = {name: known[name] for name in MANAGED_POLICIES if name in known}
    stamp = "2020-11-23T00:00:00+00:00"
    for arn, document in MANAGED.items():
        chosen.setdefault(arn.rsplit("/", 1)[-1], {"CreateDate": stamp, "UpdateDate": stamp, "DefaultVersionId": "v1",
                                                    "Path": "/", "Document": document})  # fmt: skip

    def served(backend: Any) -> list[Any]:
        return [iam_models.AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, data)
                for name, data in chosen.items()]  # fmt: skip

    iam_models.IAMBackend._init_aws_policies = served
