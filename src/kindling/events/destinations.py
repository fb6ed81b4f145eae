"""Sending records on: to another Kindling function (a new event in this queue) or to an SQS queue.

A Lambda destination becomes a new event stored in the same transaction that retires the source
event, so it can be neither lost nor doubled by a crash. An SQS queue (destinations and dead-letter
queues alike) is reached through its API at the endpoint in ``KINDLING_SQS_ENDPOINT``, with botocore in
a worker thread so the event loop never waits on the network; a failed send is retried by the queue.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from typing import Any

import botocore.session
from botocore.client import BaseClient
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from .config import destination_kind, lambda_destination
from .event import Delivery, QueuedEvent


class DeliveryError(Exception):
    """A record could not be sent; the queue tries again later."""


class SqsSender:
    def __init__(self, endpoint: str, keys: tuple[str, str]) -> None:
        self.endpoint = endpoint
        self.keys = keys
        self._session = botocore.session.get_session()
        self._lock = threading.Lock()  # creating clients is not thread-safe, using them is
        self._clients: dict[str, BaseClient] = {}
        self._urls: dict[str, str] = {}

    def _client(self, region: str) -> BaseClient:
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                client = self._clients[region] = self._session.create_client(
                    "sqs",
                    region_name=region,
                    endpoint_url=self.endpoint,
                    aws_access_key_id=self.keys[0],
                    aws_secret_access_key=self.keys[1],
                    config=BotoConfig(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=10),
                )
            return client

    async def send(self, arn: str, body: str, attributes: dict[str, dict[str, str]]) -> None:
        await asyncio.to_thread(self._send, arn, body, attributes)

    def _send(self, arn: str, body: str, attributes: dict[str, dict[str, str]]) -> None:
        if not self.endpoint:
            raise DeliveryError(f"no SQS endpoint is configured for {arn} (set KINDLING_SQS_ENDPOINT)")
        parts = arn.split(":")
        if len(parts) != 6 or not parts[5]:
            raise DeliveryError(f"{arn} is not an SQS queue ARN")
        region, account, name = parts[3] or "us-east-1", parts[4], parts[5]
        client = self._client(region)
        try:
            url = self._urls.get(arn)
            if url is None:
                lookup: dict[str, Any] = {"QueueName": name}
                if account:
                    lookup["QueueOwnerAWSAccountId"] = account
                url = self._urls[arn] = client.get_queue_url(**lookup)["QueueUrl"]
            message: dict[str, Any] = {"QueueUrl": url, "MessageBody": body}
            if attributes:
                message["MessageAttributes"] = attributes
            client.send_message(**message)
        except (BotoCoreError, ClientError) as error:
            self._urls.pop(arn, None)
            raise DeliveryError(f"sending to {arn} failed: {error}") from None


class Destinations:
    """Turns the deliveries of a decided event into sends and follow-up events."""

    def __init__(self, sqs: SqsSender, function_exists: Callable[[str], bool]) -> None:
        self.sqs = sqs
        self.function_exists = function_exists

    async def send_remote(
        self, deliveries: list[Delivery]
    ) -> tuple[list[Delivery], list[tuple[Delivery, str]], list[tuple[Delivery, str]]]:
        """Send every non-Lambda delivery; returns (sent, [(to retry, why)], [(undeliverable, why)])."""
        remote = [d for d in deliveries if lambda_destination(d.arn) is None]
        results = await asyncio.gather(*(self._send(d) for d in remote))
        sent = [d for d, (why, _) in zip(remote, results, strict=True) if why is None]
        failed = [(d, why) for d, (why, again) in zip(remote, results, strict=True) if why is not None and again]
        lost = [(d, why) for d, (why, again) in zip(remote, results, strict=True) if why is not None and not again]
        return sent, failed, lost

    async def _send(self, delivery: Delivery) -> tuple[str | None, bool]:
        """(why it failed or None, whether trying again can help)."""
        service, _ = destination_kind(delivery.arn)
        if service != "sqs":
            return f"{service or 'unknown'} targets are not supported ({delivery.arn})", False
        try:
            await self.sqs.send(delivery.arn, delivery.body, delivery.attributes)
        except DeliveryError as error:
            return str(error), True
        return None, False

    def follow_ups(
        self, deliveries: list[Delivery], now: float
    ) -> tuple[list[tuple[Delivery, QueuedEvent]], list[tuple[Delivery, str]]]:
        """New events for the Lambda deliveries; returns ([(delivery, its event)], [(undeliverable, why)])."""
        events: list[tuple[Delivery, QueuedEvent]] = []
        failed: list[tuple[Delivery, str]] = []
        for delivery in deliveries:
            name = lambda_destination(delivery.arn)
            if name is None:
                continue
            if not self.function_exists(name):
                failed.append((delivery, f"the destination function {delivery.arn} does not exist"))
                continue
            event = QueuedEvent(str(uuid.uuid4()), name, delivery.arn, delivery.body.encode(), received=now, due=now)
            events.append((delivery, event))
        return events, failed
