"""Where moto would hand an event to its own Lambda (which needs Docker and never runs here): S3 bucket
notifications, SNS ``lambda`` subscriptions and EventBridge rule targets. Each is taken over to build the
event AWS sends, field by field, and to leave it with the request being run (``CALL.deliveries``): the
adapter queues it for Kindling's asynchronous invoke before the request is answered, so an event is
durable once the PUT, Publish or PutEvents that caused it is acknowledged. Runs in the services' thread.

S3 also refuses a Lambda destination the function's resource policy does not open to
``s3.amazonaws.com`` for that bucket, as AWS does; a journal being run again is not checked twice.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote_plus

from moto.events import models as events_models
from moto.s3 import models as s3_models
from moto.s3 import notifications as s3_notifications
from moto.s3.exceptions import InvalidArgumentError
from moto.sns import models as sns_models

from .moto_patches import CALL

_ISO_MS = "%Y-%m-%dT%H:%M:%S.%f"
log = logging.getLogger("kindling.services")


class Permissions(Protocol):
    def may_invoke(self, function_arn: str, principal: str, source_arn: str, source_account: str) -> bool: ...


class Targets:
    """What the patches need from the outside: the permission check, and whether a journal is replaying."""

    def __init__(self, permissions: Permissions, account_id: str, enforce: bool = False) -> None:
        self.permissions = permissions
        self.account_id = account_id
        self.enforce = enforce  # --auth iam: SNS and EventBridge invoke only as the function's resource policy allows
        self.replaying = False
        # the refused deliveries' failure metrics (namespace, name, dimension), counted on the event loop
        self.refused: deque[tuple[str, str, tuple[str, str]]] = deque()


_targets: Targets | None = None


def _deliver(function_arn: str, payload: bytes) -> None:
    CALL.deliveries.append((function_arn, payload))


def _permitted(function_arn: str, service: str, source_arn: str, failure: tuple[str, str, tuple[str, str]]) -> bool:
    """Whether ``service`` may invoke the function for ``source_arn`` (an ``AddPermission`` for it, its
    ``SourceArn`` matching when set). Checked at delivery under ``--auth iam`` only: in ``open`` mode nothing
    is refused, and functions subscribed without a permission keep receiving, as they did before."""
    if _targets is None or not _targets.enforce or _targets.replaying:
        return True
    if _targets.permissions.may_invoke(function_arn, service, source_arn, source_arn.split(":")[4]):
        return True
    log.warning("%s may not invoke %s for %s (no resource-based policy allows it): not delivered",
                service, function_arn, source_arn)  # fmt: skip
    _targets.refused.append(failure)
    return False


def _iso_ms(moment: datetime.datetime) -> str:
    return moment.strftime(_ISO_MS)[:-3] + "Z"


# ---------------------------------------------------------------------- S3
def _s3_record(event: dict[str, Any], key: Any) -> dict[str, Any]:
    """moto's record, completed with what AWS's sample has and moto's lacks."""
    record = event["Records"][0]
    name = record["eventName"]
    principal = f"AWS:{CALL.access_key or 'AIDAKINDLING'}"
    record["userIdentity"] = {"principalId": principal}
    record["requestParameters"] = {"sourceIPAddress": CALL.source_ip or "127.0.0.1"}
    request_id = uuid.uuid4().hex[:16].upper()
    host_id = base64.b64encode(hashlib.sha256(request_id.encode()).digest() * 2).decode()
    record["responseElements"] = {"x-amz-request-id": request_id, "x-amz-id-2": host_id}
    s3 = record["s3"]
    s3["bucket"]["ownerIdentity"] = {"principalId": "A" + hashlib.sha1(_account().encode()).hexdigest()[:13].upper()}
    obj = s3["object"]
    obj["key"] = quote_plus(key.name, safe="/")  # AWS keeps the slashes (moto encodes them)
    if name.startswith("ObjectRemoved"):
        obj.pop("size", None)
        obj.pop("eTag", None)
    elif getattr(key, "_version_id", None):
        obj["versionId"] = key._version_id
    obj["sequencer"] = f"{time.time_ns():016X}"
    return event


def _account() -> str:
    return _targets.account_id if _targets is not None else "000000000000"


def _s3_send_event(original: Callable[..., None]) -> Callable[..., None]:
    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        config = bucket.notification_configuration
        if config is None or not config.cloud_function:
            return original(account_id, event_name, bucket, key)
        for notification in config.cloud_function:
            if notification.matches(event_name, key.name):
                event = s3_notifications._get_s3_event(event_name, bucket, key, notification.id)
                _deliver(notification.arn, json.dumps(_s3_record(event, key)).encode())
        functions, config.cloud_function = config.cloud_function, []  # the queues, topics and EventBridge: moto's
        try:
            original(account_id, event_name, bucket, key)
        finally:
            config.cloud_function = functions

    return send_event


def _s3_put_notifications(original: Callable[..., None]) -> Callable[..., None]:
    def put_bucket_notification_configuration(backend: Any, bucket_name: str, config: dict[str, Any]) -> None:
        if _targets is not None and not _targets.replaying:
            bucket_arn = f"arn:aws:s3:::{bucket_name}"
            for item in (config or {}).get("CloudFunctionConfiguration") or []:
                arn = item.get("CloudFunction", "")
                if not _targets.permissions.may_invoke(arn, "s3.amazonaws.com", bucket_arn, backend.account_id):
                    raise InvalidArgumentError(
                        "Unable to validate the following destination configurations",
                        arn,
                        f"Not authorized to invoke function [{arn}]",
                    )
        original(backend, bucket_name, config)

    return put_bucket_notification_configuration


# ---------------------------------------------------------------------- SNS
def _sns_publish(original: Callable[..., None]) -> Callable[..., None]:
    def publish(subscription: Any, message: str, message_id: str, subject: str | None = None, **kw: Any) -> None:
        if subscription.protocol != "lambda":
            return original(subscription, message, message_id, subject, **kw)
        attributes = kw.get("message_attributes") or {}
        matcher = subscription._filter_policy_matcher
        if matcher is not None and not matcher.matches(attributes, message):
            return
        topic = subscription.topic.arn
        failed = ("AWS/SNS", "NumberOfNotificationsFailed", ("TopicName", topic.split(":")[5]))
        if not _permitted(subscription.endpoint, "sns.amazonaws.com", topic, failed):
            return  # SNS's delivery to the function fails
        if kw.get("message_structure") == "json":
            message = subscription._parse_message_structure(message, "lambda")
        _deliver(
            subscription.endpoint,
            json.dumps(_sns_event(subscription, message, message_id, subject, attributes)).encode(),
        )

    return publish


def _sns_event(
    subscription: Any, message: str, message_id: str, subject: str | None, attributes: dict[str, Any]
) -> dict[str, Any]:
    topic = subscription.topic.arn
    region = topic.split(":")[3]
    timestamp = _iso_ms(datetime.datetime.now(datetime.UTC))
    signed = (
        f"Message\n{message}\nMessageId\n{message_id}\nTimestamp\n{timestamp}\nTopicArn\n{topic}\nType\nNotification\n"
    )
    sns = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic,
        "Subject": subject,
        "Message": message,
        "Timestamp": timestamp,
        "SignatureVersion": "1",
        "Signature": base64.b64encode(hashlib.sha256(signed.encode()).digest()).decode(),
        "SigningCertUrl": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-kindling.pem",
        "UnsubscribeUrl": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription.arn}",
        "MessageAttributes": {
            name: {"Type": value["Type"], "Value": value["Value"]} for name, value in attributes.items()
        },
    }
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription.arn,
                "Sns": sns,
            }
        ]
    }


# ---------------------------------------------------------------------- EventBridge
def _send_to_targets(original: Callable[..., None]) -> Callable[..., None]:
    def send_to_targets(rule: Any, event: dict[str, Any], transform_input: bool = True) -> None:
        functions = [t for t in rule.targets if t["Arn"].split(":")[2:3] == ["lambda"]]
        if functions and rule.event_pattern.matches_event(event):
            for target in functions:
                failed = ("AWS/Events", "FailedInvocations", ("RuleName", rule.name))
                if _permitted(target["Arn"], "events.amazonaws.com", rule.arn, failed):
                    _deliver(target["Arn"], target_input(rule, target, event))
        if len(functions) == len(rule.targets):
            return
        targets, rule.targets = rule.targets, [t for t in rule.targets if t not in functions]
        try:
            original(rule, event, transform_input)
        finally:
            rule.targets = targets

    return send_to_targets


def _eventbridge_event(event: dict[str, Any]) -> dict[str, Any]:
    moment = event.get("time")
    if isinstance(moment, (int, float)):
        moment = datetime.datetime.fromtimestamp(moment, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": event["id"],
        "detail-type": event["detail-type"],
        "source": event["source"],
        "account": event.get("account") or _account(),
        "time": moment,
        "region": event["region"],
        "resources": event.get("resources", []),
        "detail": event.get("detail", {}),
    }


def target_input(rule: Any, target: dict[str, Any], raw: dict[str, Any]) -> bytes:
    """What EventBridge gives the function: the event, or the target's Input, InputPath or InputTransformer."""
    event = _eventbridge_event(raw)
    if target.get("Input") is not None:
        return target["Input"].encode()
    if target.get("InputPath"):
        from jsonpath_ng.ext import parse

        found = parse(target["InputPath"]).find(event)
        return json.dumps(found[0].value if found else None).encode()
    transformer = target.get("InputTransformer")
    if transformer:
        from jsonpath_ng.ext import parse

        values: dict[str, Any] = {}
        for name, path in (transformer.get("InputPathsMap") or {}).items():
            found = parse(path).find(event)
            values[name] = found[0].value if found else None
        values.update({
            "aws.events.event.json": event,
            "aws.events.event": event,
            "aws.events.rule-arn": rule.arn,
            "aws.events.rule-name": rule.name,
            "aws.events.event.ingestion-time": event["time"],
        })  # fmt: skip
        return _fill(transformer["InputTemplate"], values).encode()
    return json.dumps(event).encode()


def _fill(template: str, values: dict[str, Any]) -> str:
    """An InputTemplate with its ``<name>`` placeholders replaced as EventBridge does: in a JSON template, a
    placeholder outside quotes becomes the value as JSON (a string gets its quotes) and one inside a string
    the value's text; in a plain-text template, the text."""
    as_json = template.lstrip().startswith(("{", "["))
    parts: list[str] = []
    in_string = escaped = False
    index = 0
    while index < len(template):
        char = template[index]
        end = template.find(">", index)
        name = template[index + 1 : end] if char == "<" and end > 0 else None
        if name is not None and name in values:
            value = values[name]
            text = value if isinstance(value, str) else json.dumps(value)
            if as_json and not in_string:
                text = json.dumps(value)
            elif as_json:
                text = json.dumps(text)[1:-1]
            parts.append(text)
            index = end + 1
            continue
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            in_string = not in_string
        parts.append(char)
        index += 1
    return "".join(parts)


def apply(targets: Targets) -> None:
    """Once per process, after ``moto_patches.apply``."""
    global _targets
    _targets = targets
    if getattr(s3_notifications, "_kindling_targets", False):
        return
    s3_notifications._kindling_targets = True
    send = _s3_send_event(s3_notifications.send_event)
    s3_notifications.send_event = send  # moto's S3 calls it through the module
    backend = s3_models.S3Backend
    backend.put_bucket_notification_configuration = _s3_put_notifications(backend.put_bucket_notification_configuration)
    sns_models.Subscription.publish = _sns_publish(sns_models.Subscription.publish)
    events_models.Rule.send_to_targets = _send_to_targets(events_models.Rule.send_to_targets)
