"""An SQS event source mapping: long polls, batches, invokes, deletes what succeeded.

As on AWS: a batch is up to ``BatchSize`` messages gathered for at most ``MaximumBatchingWindowInSeconds``;
messages the ``FilterCriteria`` reject are deleted unseen; a failed invocation leaves its messages to come
back after the queue's visibility timeout (and to reach the queue's dead-letter queue after its redrive
policy's ``maxReceiveCount``, which the queue applies); with ``ReportBatchItemFailures`` only the reported
messages come back. Several receive loops run at once (up to ``ScalingConfig.MaximumConcurrency``, 5 at most
here); a FIFO queue has one, so each message group is handled in order even by a queue that does not lock groups.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import math
import time
from typing import TYPE_CHECKING, Any

from ..functions.event_sources import Mapping
from .sources import Source, item_failures, kept

if TYPE_CHECKING:
    from .pollers import Pollers

log = logging.getLogger("kindling.pollers.sqs")
LONG_POLL_S = 20
MAX_LOOPS = 5
RECEIVE_MAX = 10
ERROR_BACKOFF_S = 1.0


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    """A message attribute as the aws:sqs event spells it (lower camel case, binaries in base64)."""
    shaped: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        shaped["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return shaped


class SqsPoller:
    def __init__(self, mapping: Mapping, pollers: Pollers) -> None:
        self.source = Source(mapping, pollers)
        self.arn = mapping.source_arn
        self.region = self.arn.split(":")[3]
        self.batch_size = int(self.source.settings["BatchSize"])
        self.window = float(self.source.settings.get("MaximumBatchingWindowInSeconds") or 0)
        self.report_failures = "ReportBatchItemFailures" in self.source.settings.get("FunctionResponseTypes", [])
        concurrency = self.source.settings.get("ScalingConfig", {}).get("MaximumConcurrency")
        # one receiver for a FIFO queue: a batch's groups are done before the next receive, whatever the queue does
        self.loops = 1 if self.arn.endswith(".fifo") else min(MAX_LOOPS, concurrency or MAX_LOOPS)
        self.queue_url = ""
        self.stopped = False
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.source.connect()
        # the queue's URL from its ARN: a role needs no sqs:GetQueueUrl to be polled (AWS asks for none)
        _, _, _, _, account, name = self.arn.split(":", 5)
        self.queue_url = f"{self.source.client.meta.endpoint_url.rstrip('/')}/{account}/{name}"
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._run(), name=f"sqs-{self.source.uuid}") for _ in range(self.loops)]

    async def stop(self) -> None:
        self.stopped = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------- receiving
    def _receive(self, count: int, wait: int) -> list[dict[str, Any]]:
        """One ReceiveMessage (on a poller thread); what arrives after the mapping stopped goes straight back."""
        reply = self.source.client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = reply.get("Messages", [])
        if self.stopped and messages:
            self._release(messages)
            return []
        return messages

    def _release(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), RECEIVE_MAX):
            chunk = messages[start : start + RECEIVE_MAX]
            self.source.client.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(chunk)
                ],
            )

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), RECEIVE_MAX):
            chunk = messages[start : start + RECEIVE_MAX]
            self.source.client.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )

    async def _batch(self) -> list[dict[str, Any]]:
        """Wait (long poll) for a first message, then gather up to the batch size within the batching window."""
        blocking = self.source.blocking
        batch = await blocking(self._receive, min(RECEIVE_MAX, self.batch_size), LONG_POLL_S)
        if not batch or not self.window:
            return batch
        closes = time.monotonic() + self.window
        while len(batch) < self.batch_size and not self.stopped:
            left = closes - time.monotonic()
            if left <= 0:
                break
            wait = math.floor(left) if left >= 1 else 0
            more = await blocking(self._receive, min(RECEIVE_MAX, self.batch_size - len(batch)), wait)
            batch.extend(more)
            if not more and not wait:
                await asyncio.sleep(min(left, 0.05))  # under a second left: SQS long polls in whole seconds
        return batch

    # ------------------------------------------------------------- handling
    def record(self, message: dict[str, Any]) -> dict[str, Any]:
        """The aws:sqs record Lambda hands the function."""
        shaped: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {k: _attribute(v) for k, v in message.get("MessageAttributes", {}).items()},
            "md5OfBody": message["MD5OfBody"],
        }
        if "MD5OfMessageAttributes" in message:
            shaped["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        shaped.update(eventSource="aws:sqs", eventSourceARN=self.arn, awsRegion=self.region)
        return shaped

    def _filtered(self, record: dict[str, Any]) -> dict[str, Any]:
        """What a filter sees: the record, with a JSON body as JSON."""
        try:
            body = json.loads(record["body"])
        except ValueError:
            return record
        return {**record, "body": body}

    async def _run(self) -> None:
        while not self.stopped:
            try:
                messages = await self._batch()
                self.source.reached()
                if messages:
                    await self._handle(messages)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the queue or the function is gone for now: retried after a pause
                self.source.failed(error)
                log.warning("SQS mapping %s: %s", self.source.uuid, error)
                await asyncio.sleep(ERROR_BACKOFF_S)

    async def _handle(self, messages: list[dict[str, Any]]) -> None:
        records = [self.record(message) for message in messages]
        chosen = [kept(self.source.patterns, self._filtered(r)) for r in records]
        dropped = [m for m, keep in zip(messages, chosen, strict=True) if not keep]
        self.source.count("PolledEventCount", len(messages))
        self.source.count("FilteredOutEventCount", len(dropped))
        if dropped:
            await self.source.blocking(self._delete, dropped)  # filtered out: deleted, as on AWS
        messages = [m for m, keep in zip(messages, chosen, strict=True) if keep]
        records = [r for r, keep in zip(records, chosen, strict=True) if keep]
        if not records:
            return
        result = await self.source.invoke(records)
        if result.function_error:
            return  # the whole batch comes back after the visibility timeout
        done = messages
        if self.report_failures:
            failed = item_failures(result, [r["messageId"] for r in records])
            if failed is None:
                self.source.count("FailedInvokeEventCount", len(records))
                return
            done = [m for m in messages if m["MessageId"] not in failed]
            self.source.count("FailedInvokeEventCount", len(failed))
        if done:
            await self.source.blocking(self._delete, done)
            self.source.count("DeletedEventCount", len(done))
