"""Sending records on: to another Kindling function (a new event in this queue) or to an SQS queue.

A Lambda destination becomes a new event stored in the same transaction that retires the source
event, so it can be neither lost nor doubled by a crash. An SQS queue (destinations and dead-letter
queues alike) is reached through its API at the endpoint in ``KINDLING_SQS_ENDPOINT`` (an SNS topic at
SNS's), with botocore in a worker thread so the event loop never waits on the network; a failed send is
retried by the queue.
Records are sent as the function's execution role (``RoleKeys``; the platform's keys in ``open`` mode): a
role that may not ``sqs:SendMessage`` to the queue gets its record refused, and it is dropped at once.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Callable
from typing import Any

from botocore.client import BaseClient
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from ..invoke.role_keys import RoleKeys
from .config import destination_kind, lambda_destination
from .event import Delivery, QueuedEvent

_REFUSED = ("AccessDenied", "AccessDeniedException")


class DeliveryError(Exception):
    """A record could not be sent; the queue tries again later unless it was refused."""

    def __init__(self, message: str, again: bool = True) -> None:
        super().__init__(message)
        self.again = again


class SqsSender:
    def __init__(self, endpoint: str, keys: tuple[str, str]) -> None:
        self.endpoint = endpoint
        self.sns_endpoint = ""  # where SNS destinations are published (the port's SNS, set by the server)
        self.role_keys = RoleKeys(keys)  # the functions' roles under --auth iam, set by the server
        self._lock = threading.Lock()  # creating clients is not thread-safe, using them is
        self._clients: dict[tuple[str, str, str | None], BaseClient] = {}
        self._urls: dict[str, str] = {}

    def _client(self, region: str, role: str | None, service: str = "sqs") -> BaseClient:
        with self._lock:
            client = self._clients.get((service, region, role))
            if client is None:
                client = self._clients[(service, region, role)] = self.role_keys.session(role).create_client(
                    service,
                    region_name=region,
                    endpoint_url=self.sns_endpoint if service == "sns" else self.endpoint,
                    config=BotoConfig(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=10),
                )
            return client

    async def send(self, arn: str, body: str, attributes: dict[str, dict[str, str]], role: str | None = None) -> None:
        await asyncio.to_thread(self._send, arn, body, attributes, role)

    def _send(self, arn: str, body: str, attributes: dict[str, dict[str, str]], role: str | None) -> None:
        if not self.endpoint:
            raise DeliveryError(f"no SQS endpoint is configured for {arn} (set KINDLING_SQS_ENDPOINT)")
        parts = arn.split(":")
        if len(parts) != 6 or not parts[5]:
            raise DeliveryError(f"{arn} is not an SQS queue ARN")
        region, account, name = parts[3] or "us-east-1", parts[4], parts[5]
        client = self._client(region, role)
        try:
            url = self._urls.get(arn)
            if url is None:  # looked up as the platform: a role needs only sqs:SendMessage, as on AWS
                lookup: dict[str, Any] = {"QueueName": name}
                if account:
                    lookup["QueueOwnerAWSAccountId"] = account
                url = self._urls[arn] = self._client(region, None).get_queue_url(**lookup)["QueueUrl"]
            message: dict[str, Any] = {"QueueUrl": url, "MessageBody": body}
            if attributes:
                message["MessageAttributes"] = attributes
            client.send_message(**message)
        except (BotoCoreError, ClientError) as error:
            self._urls.pop(arn, None)
            raise _failed(arn, error) from None

    async def publish(self, arn: str, body: str, role: str | None = None) -> None:
        """A record to an SNS topic (an OnFailure or OnSuccess destination), as ``role``."""
        await asyncio.to_thread(self._publish, arn, body, role)

    def _publish(self, arn: str, body: str, role: str | None) -> None:
        if not self.sns_endpoint:
            raise DeliveryError(f"no SNS endpoint is configured for {arn}", again=False)
        try:
            self._client(arn.split(":")[3] or "us-east-1", role, "sns").publish(TopicArn=arn, Message=body)
        except (BotoCoreError, ClientError) as error:
            raise _failed(arn, error) from None


def _failed(arn: str, error: Exception) -> DeliveryError:
    """Tried again later, unless the role was refused: that will not change by itself."""
    refused = isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in _REFUSED
    return DeliveryError(f"sending to {arn} failed: {error}", again=not refused)


class Destinations:
    """Turns the deliveries of a decided event into sends and follow-up events."""

    def __init__(self, sqs: SqsSender, function_exists: Callable[[str], bool]) -> None:
        self.sqs = sqs
        self.function_exists = function_exists

    async def send_remote(
        self, deliveries: list[Delivery], role: str | None = None
    ) -> tuple[list[Delivery], list[tuple[Delivery, str]], list[tuple[Delivery, str]]]:
        """Send every non-Lambda delivery as ``role``; returns (sent, [(to retry, why)], [(undeliverable, why)])."""
        remote = [d for d in deliveries if lambda_destination(d.arn) is None]
        results = await asyncio.gather(*(self._send(d, role) for d in remote))
        sent = [d for d, (why, _) in zip(remote, results, strict=True) if why is None]
        failed = [(d, why) for d, (why, again) in zip(remote, results, strict=True) if why is not None and again]
        lost = [(d, why) for d, (why, again) in zip(remote, results, strict=True) if why is not None and not again]
        return sent, failed, lost

    async def _send(self, delivery: Delivery, role: str | None) -> tuple[str | None, bool]:
        """(why it failed or None, whether trying again can help)."""
        service, _ = destination_kind(delivery.arn)
        if service not in ("sqs", "sns"):
            return f"{service or 'unknown'} targets are not supported ({delivery.arn})", False
        try:
            if service == "sns":
                await self.sqs.publish(delivery.arn, delivery.body, role)
            else:
                await self.sqs.send(delivery.arn, delivery.body, delivery.attributes, role)
        except DeliveryError as error:
            return str(error), error.again
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
