"""A SAM function's service ``Events``: ``S3`` (a bucket notification), ``SNS`` (a subscription),
``EventBridgeRule`` / ``CloudWatchEvent`` (a rule and its target), ``SQS``, ``DynamoDB`` and ``Kinesis``
(an event source mapping), each with the permission SAM adds to the function's resource policy for the
service that invokes it (``<Function><Event>Permission``, with the source's ARN as condition).

Every step compares with what the services hold first, so deploying an unchanged template changes nothing.
A bucket's Lambda notifications are the template's: a bucket named in ``S3`` events gets exactly those.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .common import Clients, CliError, out
from .template import warn_unsupported

_COMMON = {"Enabled", "BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes", "FilterCriteria"}
_STREAM_SETTINGS = {"StartingPosition", "StartingPositionTimestamp", "MaximumRetryAttempts",
                    "MaximumRecordAgeInSeconds", "BisectBatchOnFunctionError", "ParallelizationFactor",
                    "DestinationConfig", "TumblingWindowInSeconds"}  # fmt: skip
_RULE = {"Pattern", "EventBusName", "Input", "InputPath", "InputTransformer", "RuleName", "State", "Target"}
EVENT_PROPERTIES = {
    "S3": {"Bucket", "Events", "Filter"},
    "SNS": {"Topic", "FilterPolicy", "FilterPolicyScope", "Region"},
    "SQS": {"Queue", "ScalingConfig", *_COMMON},
    "DynamoDB": {"Stream", *_COMMON, *_STREAM_SETTINGS},
    "Kinesis": {"Stream", *_COMMON, *_STREAM_SETTINGS},
    "EventBridgeRule": _RULE,
    "CloudWatchEvent": _RULE,
}
SOURCE_EVENTS = frozenset(EVENT_PROPERTIES)
_ONLY_AT_CREATION = ("StartingPosition", "StartingPositionTimestamp")


@dataclass(frozen=True)
class SourceEvent:
    function: str  # the function's logical id
    event: str  # the event's logical id
    kind: str
    properties: dict[str, Any]  # resolved
    target: str  # the function's name, or name:alias

    @property
    def where(self) -> str:
        return f"event {self.event} of {self.function}"

    def required(self, key: str) -> Any:
        value = self.properties.get(key)
        if not value:
            raise CliError(f"{self.where}: {self.kind} needs {key}", f"set Properties.{key}")
        return value


def function_arn(clients: Clients, target: str) -> str:
    name, _, alias = target.partition(":")
    where = {"FunctionName": name, **({"Qualifier": alias} if alias else {})}
    return str(clients.lam.get_function_configuration(**where)["FunctionArn"])


def _report(changed: bool, line: str) -> bool:
    out.print(line if changed else f"up to date: {line}", markup=False)
    return changed


# ---------------------------------------------------------------------- permissions
def _statements(clients: Clients, where: dict[str, str]) -> list[dict[str, Any]]:
    try:
        return list(json.loads(clients.lam.get_policy(**where)["Policy"]).get("Statement", []))
    except clients.lam.exceptions.ResourceNotFoundException:
        return []


def has_statement(clients: Clients, where: dict[str, str], sid: str) -> bool:
    return any(statement.get("Sid") == sid for statement in _statements(clients, where))


def allow_service(
    clients: Clients, event: SourceEvent, principal: str, source_arn: str, account: str | None = None
) -> bool:
    """The statement SAM adds so ``principal`` may invoke the function for ``source_arn`` (and, for S3,
    whose ARN names no account, ``account``); True if added."""
    name, _, alias = event.target.partition(":")
    where = {"FunctionName": name, **({"Qualifier": alias} if alias else {})}
    sid = f"{event.function}{event.event}Permission"[:100]
    for statement in _statements(clients, where):
        if statement.get("Sid") != sid:
            continue
        condition = statement.get("Condition", {})
        arn = condition.get("ArnLike", {}).get("AWS:SourceArn") or condition.get("ArnEquals", {}).get("AWS:SourceArn")
        owner = condition.get("StringEquals", {}).get("AWS:SourceAccount")
        if statement.get("Principal", {}).get("Service") == principal and (arn, owner) == (source_arn, account):
            return False
        clients.lam.remove_permission(**where, StatementId=sid)
    clients.lam.add_permission(**where, StatementId=sid, Action="lambda:InvokeFunction", Principal=principal,
                               SourceArn=source_arn, **({"SourceAccount": account} if account else {}))  # fmt: skip
    return True


# ---------------------------------------------------------------------- S3
def _s3_filter(filter_: dict[str, Any] | None) -> list[tuple[str, str]]:
    rules = (filter_ or {}).get("S3Key") or (filter_ or {}).get("Key") or {}
    rules = rules.get("Rules") or rules.get("FilterRules") or []
    return sorted((str(rule["Name"]).lower(), str(rule["Value"])) for rule in rules)


def _s3_config(identifier: str, arn: str, events: list[str], rules: list[tuple[str, str]]) -> dict[str, Any]:
    config: dict[str, Any] = {"Id": identifier, "LambdaFunctionArn": arn, "Events": sorted(events)}
    if rules:
        config["Filter"] = {"Key": {"FilterRules": [{"Name": name, "Value": value} for name, value in rules]}}
    return config


def _s3_key(config: dict[str, Any]) -> tuple[str, str, tuple[str, ...], tuple[tuple[str, str], ...]]:
    rules = _s3_filter(config.get("Filter"))
    return config.get("Id", ""), config["LambdaFunctionArn"], tuple(sorted(config["Events"])), tuple(rules)


def _sync_buckets(clients: Clients, events: list[SourceEvent]) -> int:
    s3 = clients.aws("s3")
    wanted: dict[str, list[dict[str, Any]]] = defaultdict(list)
    allowed: set[str] = set()  # the buckets whose permissions were added
    for event in events:
        bucket = str(event.required("Bucket"))
        arn = function_arn(clients, event.target)
        names = event.required("Events")
        names = [names] if isinstance(names, str) else list(names)
        if allow_service(clients, event, "s3.amazonaws.com", f"arn:aws:s3:::{bucket}", arn.split(":")[4]):
            allowed.add(bucket)
        identifier = f"{event.function}{event.event}"
        wanted[bucket].append(_s3_config(identifier, arn, names, _s3_filter(event.properties.get("Filter"))))
    changed = 0
    for bucket, configs in wanted.items():
        current = s3.get_bucket_notification_configuration(Bucket=bucket)
        current.pop("ResponseMetadata", None)
        mine = sorted(map(_s3_key, configs))
        line = f"s3 notifications of {bucket}: " + ", ".join(
            f"{' '.join(c['Events'])} → {c['LambdaFunctionArn'].split(':function:')[1]}" for c in configs
        )
        if sorted(map(_s3_key, current.get("LambdaFunctionConfigurations", []))) == mine:
            changed += _report(bucket in allowed, line)
            continue
        current["LambdaFunctionConfigurations"] = configs
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=current)
        changed += _report(True, line)
    return changed


# ---------------------------------------------------------------------- SNS
def _sync_topic(clients: Clients, event: SourceEvent) -> bool:
    sns = clients.aws("sns")
    topic = str(event.required("Topic"))
    arn = function_arn(clients, event.target)
    wanted = {}
    if event.properties.get("FilterPolicy") is not None:
        wanted["FilterPolicy"] = json.dumps(event.properties["FilterPolicy"])
    if event.properties.get("FilterPolicyScope"):
        wanted["FilterPolicyScope"] = str(event.properties["FilterPolicyScope"])
    changed = allow_service(clients, event, "sns.amazonaws.com", topic)
    subscriptions = [
        item
        for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic)
        for item in page["Subscriptions"]
        if item["Protocol"] == "lambda" and item["Endpoint"] == arn
    ]
    line = f"sns subscription {topic.rsplit(':', 1)[1]} → {event.target}"
    if not subscriptions:
        sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn, Attributes=wanted, ReturnSubscriptionArn=True)
        return _report(True, line)
    subscription = subscriptions[0]["SubscriptionArn"]
    current = sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]
    if "FilterPolicy" not in wanted and current.get("FilterPolicy"):
        wanted["FilterPolicy"] = "{}"  # the template dropped it
    for key, value in wanted.items():
        if not _same_json(current.get(key), value):
            sns.set_subscription_attributes(SubscriptionArn=subscription, AttributeName=key, AttributeValue=value)
            changed = True
    return _report(changed, line)


def _same_json(current: str | None, wanted: str) -> bool:
    try:
        return current is not None and json.loads(current) == json.loads(wanted)
    except ValueError:
        return current == wanted


# ---------------------------------------------------------------------- EventBridge
def _sync_rule(clients: Clients, event: SourceEvent, stack: str) -> bool:
    events = clients.aws("events")
    properties = event.properties
    bus = str(properties.get("EventBusName") or "default")
    name = str(properties.get("RuleName") or f"{stack}-{event.function}{event.event}")[:64]
    pattern = json.dumps(event.required("Pattern"))
    state = str(properties.get("State") or "ENABLED")
    changed = False
    if bus != "default":
        try:
            events.describe_event_bus(Name=bus)
        except events.exceptions.ResourceNotFoundException:
            events.create_event_bus(Name=bus)
            changed = True
    try:
        current = events.describe_rule(Name=name, EventBusName=bus)
        rule_arn = current["Arn"]
        same = _same_json(current.get("EventPattern"), pattern) and current.get("State") == state
    except events.exceptions.ResourceNotFoundException:
        same = False
    if not same:
        rule_arn = events.put_rule(Name=name, EventPattern=pattern, State=state, EventBusName=bus)["RuleArn"]
        changed = True
    target: dict[str, Any] = {
        "Id": str((properties.get("Target") or {}).get("Id") or f"{event.function}{event.event}LambdaTarget")[:64],
        "Arn": function_arn(clients, event.target),
    }
    for key in ("Input", "InputPath"):
        if properties.get(key) is not None:
            target[key] = str(properties[key])
    if properties.get("InputTransformer"):
        transformer = properties["InputTransformer"]
        target["InputTransformer"] = {"InputTemplate": str(transformer["InputTemplate"]),
                                      **({"InputPathsMap": transformer["InputPathsMap"]}
                                         if transformer.get("InputPathsMap") else {})}  # fmt: skip
    targets = events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"]
    if next((item for item in targets if item["Id"] == target["Id"]), None) != target:
        events.put_targets(Rule=name, EventBusName=bus, Targets=[target])
        changed = True
    changed |= allow_service(clients, event, "events.amazonaws.com", rule_arn)
    return _report(changed, f"eventbridge rule {name} ({bus}) → {event.target}")


# ---------------------------------------------------------------------- event source mappings
def _mapping_settings(event: SourceEvent) -> dict[str, Any]:
    properties = event.properties
    known = EVENT_PROPERTIES[event.kind] & (_COMMON | _STREAM_SETTINGS | {"ScalingConfig"})
    settings = {key: properties[key] for key in known if key in properties}
    criteria = settings.get("FilterCriteria")
    if criteria:
        settings["FilterCriteria"] = {"Filters": [
            {"Pattern": item["Pattern"] if isinstance(item["Pattern"], str) else json.dumps(item["Pattern"])}
            for item in criteria.get("Filters") or []
        ]}  # fmt: skip
    failure = (settings.get("DestinationConfig") or {}).get("OnFailure")
    if failure:
        settings["DestinationConfig"] = {"OnFailure": {"Destination": failure["Destination"]}}
    if "StartingPositionTimestamp" in settings:
        settings["StartingPositionTimestamp"] = datetime.fromtimestamp(
            float(settings["StartingPositionTimestamp"]), UTC
        )
    if "Enabled" in settings:
        settings["Enabled"] = bool(settings["Enabled"])
    return settings


def _differs(current: dict[str, Any], key: str, value: Any) -> bool:
    if key == "Enabled":
        return value != (current.get("State") in ("Enabled", "Enabling", "Creating", "Updating"))
    if key == "FilterCriteria":

        def patterns(criteria: Any) -> list[Any]:
            return [json.loads(item["Pattern"]) for item in (criteria or {}).get("Filters", [])]

        return patterns(current.get(key)) != patterns(value)
    return bool(current.get(key) != value)


def _sync_mapping(clients: Clients, event: SourceEvent) -> bool:
    lam = clients.lam
    source = str(event.required("Queue" if event.kind == "SQS" else "Stream"))
    if event.kind != "SQS" and "StartingPosition" not in event.properties:
        raise CliError(f"{event.where}: {event.kind} needs StartingPosition", "set it to LATEST or TRIM_HORIZON")
    arn = function_arn(clients, event.target)
    settings = _mapping_settings(event)
    found = [
        mapping
        for page in lam.get_paginator("list_event_source_mappings").paginate(EventSourceArn=source)
        for mapping in page["EventSourceMappings"]
        if mapping["FunctionArn"] == arn
    ]
    resource = source.split(":", 5)[-1]  # a queue's name, stream/NAME, or table/NAME/stream/TIME
    line = f"{event.kind.lower()} mapping {resource.split('/')[1] if '/' in resource else resource} → {event.target}"
    if not found:
        lam.create_event_source_mapping(EventSourceArn=source, FunctionName=arn, **settings)
        return _report(True, line)
    current = found[0]
    update = {key: value for key, value in settings.items()
              if key not in _ONLY_AT_CREATION and _differs(current, key, value)}  # fmt: skip
    if update:
        lam.update_event_source_mapping(UUID=current["UUID"], **update)
    return _report(bool(update), line)


def sync_sources(clients: Clients, stack: str, events: list[SourceEvent]) -> int:
    """Connects every service event to its function; how many changed."""
    for event in events:
        warn_unsupported(event.where, event.properties, EVENT_PROPERTIES[event.kind])
    changed = _sync_buckets(clients, [event for event in events if event.kind == "S3"])
    for event in events:
        if event.kind == "SNS":
            changed += _sync_topic(clients, event)
        elif event.kind in ("EventBridgeRule", "CloudWatchEvent"):
            changed += _sync_rule(clients, event, stack)
        elif event.kind in ("SQS", "DynamoDB", "Kinesis"):
            changed += _sync_mapping(clients, event)
    return changed
