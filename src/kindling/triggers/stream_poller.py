"""A Kinesis or DynamoDB Streams event source mapping: one reader per shard, batches in shard order.

As on AWS: a shard's next batch is read only when the last one is done, and its position (the last sequence
number handled) is checkpointed in the store first, so a restart carries on where the mapping stopped. A
failed batch is retried (``MaximumRetryAttempts``, -1 for as long as its records live), halved first with
``BisectBatchOnFunctionError``; with ``ReportBatchItemFailures`` the retry starts at the first reported
record. Records older than ``MaximumRecordAgeInSeconds`` and batches out of retries go to
``DestinationConfig.OnFailure`` (an SQS queue or SNS topic) as a batch description, then are skipped.
``ParallelizationFactor`` splits a batch by partition key (by item key for DynamoDB), so each key keeps
its order. ``TumblingWindowInSeconds`` groups records by arrival into windows aligned on the epoch: each
invocation gets the window, the ``state`` the previous one returned, and the window ends with a final
invocation (``isFinalInvokeForWindow``, no records) once the shard has moved past it or time has.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime
import itertools
import json
import logging
import math
import time
import zlib
from typing import TYPE_CHECKING, Any

from ..functions.event_sources import KINESIS, Mapping
from ..ids import request_id
from .sources import Source, item_failures, kept

if TYPE_CHECKING:
    from .pollers import Pollers

log = logging.getLogger("kindling.pollers.streams")
IDLE_MIN_S, IDLE_MAX_S = 0.05, 0.5  # an empty shard is read again after this, growing: streams have no long poll
RETRY_MIN_S, RETRY_MAX_S = 0.2, 5.0
DISCOVER_S = 5.0


def _plain(value: Any) -> Any:
    """boto3's types back into the JSON AWS's events carry: timestamps as epoch seconds, binaries as base64."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


class StreamPoller:
    def __init__(self, mapping: Mapping, pollers: Pollers) -> None:
        self.source = Source(mapping, pollers)
        self.mappings = pollers.mappings
        self.kinesis = mapping.kind == KINESIS
        self.arn = mapping.source_arn
        self.region = self.arn.split(":")[3]
        settings = self.source.settings
        self.batch_size = int(settings["BatchSize"])
        self.window = float(settings.get("MaximumBatchingWindowInSeconds") or 0)
        self.factor = int(settings.get("ParallelizationFactor") or 1)
        self.bisect = bool(settings.get("BisectBatchOnFunctionError"))
        self.retries = int(settings.get("MaximumRetryAttempts", -1))
        self.max_age = int(settings.get("MaximumRecordAgeInSeconds", -1))
        self.on_failure = settings.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        self.report_failures = "ReportBatchItemFailures" in settings.get("FunctionResponseTypes", [])
        self.tumbling = int(settings.get("TumblingWindowInSeconds") or 0)
        self._windows: dict[str, tuple[float, Any]] = {}  # shard -> (its open window's start, the state)
        self.stopped = False
        self._shards: dict[str, asyncio.Task[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._destination_client: Any = None

    # ------------------------------------------------------------- the source
    def _stream_name(self) -> str:
        return self.arn.split(":stream/", 1)[1].split("/", 1)[0]

    def _list_shards(self) -> list[str]:
        client = self.source.client
        if self.kinesis:
            return [s["ShardId"] for s in client.list_shards(StreamName=self._stream_name())["Shards"]]
        return [s["ShardId"] for s in client.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]]

    def _iterator(self, shard: str, checkpoint: str | None) -> str:
        settings = self.source.settings
        where: dict[str, Any] = {"ShardIteratorType": settings["StartingPosition"]}
        if checkpoint is not None:
            key = "StartingSequenceNumber" if self.kinesis else "SequenceNumber"
            where = {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", key: checkpoint}
        elif where["ShardIteratorType"] == "AT_TIMESTAMP":
            where["Timestamp"] = settings["StartingPositionTimestamp"]
        client = self.source.client
        if self.kinesis:
            return client.get_shard_iterator(StreamName=self._stream_name(), ShardId=shard, **where)["ShardIterator"]
        return client.get_shard_iterator(StreamArn=self.arn, ShardId=shard, **where)["ShardIterator"]

    def _read(self, iterator: str, limit: int) -> tuple[list[dict[str, Any]], str | None]:
        reply = self.source.client.get_records(ShardIterator=iterator, Limit=limit)
        return reply.get("Records", []), reply.get("NextShardIterator")

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Every shard's first position is fixed before the mapping is Enabled (what LATEST means)."""
        await self.source.connect()
        blocking = self.source.blocking
        checkpoints = self.mappings.checkpoints(self.source.uuid)
        for shard in await blocking(self._list_shards):
            iterator = await blocking(self._iterator, shard, checkpoints.get(shard))
            self._spawn(shard, iterator)
        self._tasks.append(asyncio.get_running_loop().create_task(self._discover()))

    def _spawn(self, shard: str, iterator: str) -> None:
        task = asyncio.get_running_loop().create_task(self._shard(shard, iterator), name=f"shard-{shard}")
        self._shards[shard] = task

    async def stop(self) -> None:
        self.stopped = True
        tasks = [*self._tasks, *self._shards.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _discover(self) -> None:
        """New shards (a resharded stream, a DynamoDB stream's next shard) get their own reader."""
        blocking = self.source.blocking
        while not self.stopped:
            await asyncio.sleep(DISCOVER_S)
            with contextlib.suppress(Exception):
                for shard in await blocking(self._list_shards):
                    if shard not in self._shards:
                        checkpoint = self.mappings.checkpoints(self.source.uuid).get(shard)
                        self._spawn(shard, await blocking(self._iterator, shard, checkpoint))

    async def _shard(self, shard: str, iterator: str | None) -> None:
        idle = IDLE_MIN_S
        while iterator is not None and not self.stopped:
            try:
                iterator, handled = await self._step(shard, iterator)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # throttled, the stream or the function gone for now: from the checkpoint
                log.warning("stream mapping %s, shard %s: %s", self.source.uuid, shard, error)
                await asyncio.sleep(RETRY_MAX_S)
                with contextlib.suppress(Exception):
                    checkpoint = self.mappings.checkpoints(self.source.uuid).get(shard)
                    iterator = await self.source.blocking(self._iterator, shard, checkpoint)
                continue
            if handled:
                idle = IDLE_MIN_S
            else:
                window = self._windows.get(shard)
                if window is not None and time.time() >= window[0] + self.tumbling:
                    await self._close_window(shard)
                await asyncio.sleep(idle)
                idle = min(idle * 2, IDLE_MAX_S)

    async def _step(self, shard: str, iterator: str) -> tuple[str | None, bool]:
        """Read one batch (waiting up to the batching window for a full one), hand it over, checkpoint it."""
        blocking = self.source.blocking
        records, following = await blocking(self._read, iterator, self.batch_size)
        closes = time.monotonic() + self.window
        while following and len(records) < self.batch_size and time.monotonic() < closes:
            await asyncio.sleep(min(IDLE_MIN_S, closes - time.monotonic()))
            more, following = await blocking(self._read, following, self.batch_size - len(records))
            records.extend(more)
        if not records:
            return following, False
        self.source.count("PolledEventCount", len(records))
        role = self.source.role
        shaped = [self.record(r, shard, role) for r in records]
        if self.tumbling:
            for start, group in itertools.groupby(shaped, self._window_of):
                await self._enter_window(shard, start)
                await self._process(shard, list(group))
        else:
            await asyncio.gather(*(self._process(shard, part) for part in self._split(shaped)))
        self.mappings.checkpoint(self.source.uuid, shard, self._sequence(shaped[-1]))
        return following, True

    # -------------------------------------------------------------- records
    def record(self, raw: dict[str, Any], shard: str, role: str) -> dict[str, Any]:
        """The aws:kinesis or aws:dynamodb record Lambda hands the function."""
        if not self.kinesis:
            return {**_plain(raw), "eventSourceARN": self.arn}
        sequence = raw["SequenceNumber"]
        return {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": raw["PartitionKey"],
                "sequenceNumber": sequence,
                "data": base64.b64encode(raw["Data"]).decode(),
                "approximateArrivalTimestamp": _plain(raw["ApproximateArrivalTimestamp"]),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"{shard}:{sequence}",
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": role,
            "awsRegion": self.region,
            "eventSourceARN": self.arn,
        }

    def _sequence(self, record: dict[str, Any]) -> str:
        return str(record["kinesis"]["sequenceNumber"] if self.kinesis else record["dynamodb"]["SequenceNumber"])

    def _arrival(self, record: dict[str, Any]) -> float:
        if self.kinesis:
            return float(record["kinesis"]["approximateArrivalTimestamp"])
        return float(record["dynamodb"].get("ApproximateCreationDateTime", time.time()))

    def _split(self, records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        if self.factor == 1:
            return [records]
        parts: list[list[dict[str, Any]]] = [[] for _ in range(self.factor)]
        for record in records:
            key = record["kinesis"]["partitionKey"] if self.kinesis else json.dumps(record["dynamodb"].get("Keys"))
            parts[zlib.crc32(key.encode()) % self.factor].append(record)
        return [part for part in parts if part]

    def _visible(self, record: dict[str, Any]) -> dict[str, Any]:
        """What a filter sees: Kinesis data that is JSON, as JSON."""
        if not self.kinesis:
            return record
        try:
            data = json.loads(base64.b64decode(record["kinesis"]["data"]))
        except ValueError:
            return record
        return {**record, "kinesis": {**record["kinesis"], "data": data}, "data": data}

    # ------------------------------------------------------------- handling
    async def _process(self, shard: str, records: list[dict[str, Any]]) -> None:
        """Hand ``records`` to the function until each is handled, out of retries or too old."""
        polled = len(records)
        records = [r for r in records if kept(self.source.patterns, self._visible(r))]
        self.source.count("FilteredOutEventCount", polled - len(records))
        pending = [records] if records else []
        attempts, delay = 0, RETRY_MIN_S
        while pending and not self.stopped:
            batch = pending.pop(0)
            if self.max_age >= 0:
                fresh = [r for r in batch if time.time() - self._arrival(r) <= self.max_age]
                if len(fresh) < len(batch):
                    await self._give_up(shard, [r for r in batch if r not in fresh], "RecordAgeExceeded", attempts)
                batch = fresh
                if not batch:
                    continue
            failed_from = await self._attempt(shard, batch)
            if failed_from is None:
                self.mappings.processed(self.source.uuid, "OK")
                continue
            self.mappings.processed(self.source.uuid, "PROBLEM: Function call failed")
            attempts += 1
            remaining = batch[failed_from:]
            if 0 <= self.retries < attempts:
                await self._give_up(shard, remaining, "RetryAttemptsExhausted", attempts)
                attempts = 0
                continue
            if self.bisect and len(remaining) > 1 and failed_from == 0:
                half = len(remaining) // 2
                pending[:0] = [remaining[:half], remaining[half:]]
            else:
                pending.insert(0, remaining)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    async def _attempt(self, shard: str, batch: list[dict[str, Any]]) -> int | None:
        """None when the whole batch is done, else the index of the first record to try again."""
        self.source.iterator_age(self._arrival(batch[-1]))
        try:
            result = await self.source.invoke(batch, self._window_fields(shard))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("stream mapping %s could not invoke: %s", self.source.uuid, error)
            return 0
        if result.function_error:
            return 0
        self._keep_state(shard, result.payload)
        if not self.report_failures:
            return None
        sequences = [self._sequence(r) for r in batch]
        failed = item_failures(result, sequences)
        if failed is None:
            self.source.count("FailedInvokeEventCount", len(batch))
            return 0
        if failed:
            self.source.count("FailedInvokeEventCount", len(batch) - sequences.index(failed[0]))
        return sequences.index(failed[0]) if failed else None

    # -------------------------------------------------------- tumbling windows
    def _window_of(self, record: dict[str, Any]) -> float:
        return math.floor(self._arrival(record) / self.tumbling) * self.tumbling

    def _window_fields(self, shard: str, final: bool = False) -> dict[str, Any] | None:
        window = self._windows.get(shard)
        if window is None:
            return None
        start, state = window
        return {
            "window": {"start": _iso(start), "end": _iso(start + self.tumbling)},
            "state": state,
            "shardId": shard,
            "eventSourceARN": self.arn,
            "isFinalInvokeForWindow": final,
            "isWindowTerminatedEarly": False,
        }

    def _keep_state(self, shard: str, payload: bytes) -> None:
        window = self._windows.get(shard)
        if window is None:
            return
        try:
            response = json.loads(payload) if payload else None
        except ValueError:
            response = None
        state = response.get("state") if isinstance(response, dict) else None
        self._windows[shard] = (window[0], state if isinstance(state, dict) else {})

    async def _enter_window(self, shard: str, start: float) -> None:
        window = self._windows.get(shard)
        if window is not None and window[0] != start:
            await self._close_window(shard)
        self._windows.setdefault(shard, (start, {}))

    async def _close_window(self, shard: str) -> None:
        """The window's final invocation: no records, the state so far, ``isFinalInvokeForWindow``."""
        try:
            await self.source.invoke([], self._window_fields(shard, final=True))
        except Exception as error:  # the window's state is lost, as when AWS gives up on it
            log.warning("stream mapping %s: the final invoke of a window failed: %s", self.source.uuid, error)
        self._windows.pop(shard, None)

    async def _give_up(self, shard: str, batch: list[dict[str, Any]], condition: str, attempts: int) -> None:
        """Tell the OnFailure destination which records were skipped (the records themselves are not sent)."""
        self.source.count("DroppedEventCount", len(batch))
        if not self.on_failure or not batch:
            return
        info_key = "KinesisBatchInfo" if self.kinesis else "DDBStreamBatchInfo"
        body = {
            "requestContext": {
                "requestId": request_id(),
                "functionArn": self.source.mapping.function_arn,
                "condition": condition,
                "approximateInvokeCount": attempts,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            info_key: {
                "shardId": shard,
                "startSequenceNumber": self._sequence(batch[0]),
                "endSequenceNumber": self._sequence(batch[-1]),
                "approximateArrivalOfFirstRecord": _iso(self._arrival(batch[0])),
                "approximateArrivalOfLastRecord": _iso(self._arrival(batch[-1])),
                "batchSize": len(batch),
                "streamArn": self.arn,
            },
        }
        try:
            await self.source.blocking(self._send_failure, json.dumps(body))
            self.source.count("OnFailureDestinationDeliveredEventCount", len(batch))
        except Exception as error:  # the destination is gone: the records are skipped all the same, as on AWS
            log.warning("stream mapping %s could not reach %s: %s", self.source.uuid, self.on_failure, error)

    def _send_failure(self, body: str) -> None:
        destination = str(self.on_failure)
        service = destination.split(":")[2]
        if self._destination_client is None:
            self._destination_client = self.source.pollers.client(service, destination.split(":")[3], self.source.role)
        if service == "sns":
            self._destination_client.publish(TopicArn=destination, Message=body)
            return
        account, name = destination.split(":")[4:6]
        url = self._destination_client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        self._destination_client.send_message(QueueUrl=url, MessageBody=body)


def _iso(epoch: float) -> str:
    return (
        datetime.datetime.fromtimestamp(epoch, datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )
