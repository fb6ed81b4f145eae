"""``kindling triggers NAME``: everything that can invoke a function, gathered from wherever it is kept —
the function URL, Kindling's route tables and schedules, the event source mappings, the S3 buckets'
notifications, SNS subscriptions and EventBridge rules on the port, and the resource policy's principals.

``kindling ls`` shows the cheap part of it (what the Lambda side alone knows: URL, routes, schedules,
mappings, the services the policy lets in) so listing functions never scans the services.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import click
from rich.table import Table

from .common import Clients, client_command, err, kindling_request, out

_ORDER = ("url", "api", "schedule", "sqs", "dynamodb", "kinesis", "policy")


@dataclass(frozen=True)
class Trigger:
    kind: str  # url, api, schedule, sqs, kinesis, dynamodb, s3, sns, eventbridge, policy
    source: str  # what fires it: a URL, a route, a bucket, a queue's ARN, a rule...
    detail: str  # events, filters, expression...
    state: str  # ENABLED / DISABLED, a mapping's state, or "-"
    qualifier: str = ""  # the alias or version invoked, if not $LATEST


def _split(reference: str) -> tuple[str, str]:
    """(name, qualifier) of a function's name, name:qualifier, or ARN."""
    if reference.startswith("arn:"):
        parts = reference.split(":")
        return parts[6], parts[7] if len(parts) > 7 else ""
    name, _, qualifier = reference.partition(":")
    return name, qualifier


@dataclass(frozen=True)
class Kindling:
    """Kindling's route tables and schedules, read once for however many functions are looked at."""

    apis: list[dict[str, Any]]
    schedules: list[dict[str, Any]]

    @classmethod
    def read(cls, clients: Clients) -> Kindling:
        apis = kindling_request(clients, "GET", "/kindling/apis")["Items"]
        return cls(apis, kindling_request(clients, "GET", "/kindling/schedules")["Schedules"])


def _lambda_side(clients: Clients, name: str, kindling: Kindling) -> list[Trigger]:
    """URL, route tables, schedules, mappings and policy: what Kindling's Lambda API knows."""
    lam, found = clients.lam, []
    for config in lam.list_function_url_configs(FunctionName=name).get("FunctionUrlConfigs", []):
        found.append(Trigger("url", config["FunctionUrl"], f"auth {config['AuthType']}", "-",
                             _split(config["FunctionArn"])[1]))  # fmt: skip
    for api in kindling.apis:
        for route in api["Routes"]:
            function, qualifier = _split(str(route["Function"]))
            if function == name:
                detail = f"{api['Name']} {route['RouteKey']} (payload {api.get('PayloadFormatVersion', '2.0')})"
                found.append(Trigger("api", api["Endpoint"], detail, "-", qualifier))
    for rule in kindling.schedules:
        function, qualifier = _split(rule["FunctionName"])
        if function == name:
            found.append(Trigger("schedule", rule["Name"], rule["ScheduleExpression"], rule["State"], qualifier))
    pages = lam.get_paginator("list_event_source_mappings").paginate(FunctionName=name)
    for mapping in (item for page in pages for item in page["EventSourceMappings"]):
        source = mapping["EventSourceArn"]
        filters = len((mapping.get("FilterCriteria") or {}).get("Filters", []))
        detail = f"batch {mapping.get('BatchSize')}" + (f", {filters} filter{'s' * (filters > 1)}" if filters else "")
        found.append(Trigger(source.split(":")[2], source, detail, mapping["State"], _split(mapping["FunctionArn"])[1]))
    found += _policy(clients, name)
    return found


def _policy(clients: Clients, name: str) -> list[Trigger]:
    try:
        policy = json.loads(clients.lam.get_policy(FunctionName=name)["Policy"])
    except clients.lam.exceptions.ResourceNotFoundException:
        return []
    found = []
    for statement in policy.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        who = statement.get("Principal")
        principal = who if isinstance(who, str) else who.get("Service") or who.get("AWS") or json.dumps(who)
        condition = statement.get("Condition", {})
        source = condition.get("ArnLike", {}).get("AWS:SourceArn") or condition.get("ArnEquals", {}).get(
            "AWS:SourceArn", ""
        )
        action = statement.get("Action")
        detail = f"{statement.get('Sid', '')}: {action}" + (f" from {source}" if source else "")
        found.append(Trigger("policy", str(principal), detail, "-"))
    return found


def _s3(clients: Clients, name: str) -> list[Trigger]:
    s3, found = clients.aws("s3"), []
    for bucket in s3.list_buckets().get("Buckets", []):
        config = s3.get_bucket_notification_configuration(Bucket=bucket["Name"])
        for item in config.get("LambdaFunctionConfigurations", []):
            function, qualifier = _split(item["LambdaFunctionArn"])
            if function == name:
                rules = (item.get("Filter") or {}).get("Key", {}).get("FilterRules", [])
                detail = " ".join(item["Events"]) + "".join(f" {r['Name']}={r['Value']}" for r in rules)
                found.append(Trigger("s3", bucket["Name"], detail, "-", qualifier))
    return found


def _sns(clients: Clients, name: str) -> list[Trigger]:
    sns, found = clients.aws("sns"), []
    for page in sns.get_paginator("list_subscriptions").paginate():
        for item in page["Subscriptions"]:
            if item["Protocol"] != "lambda" or _split(item["Endpoint"])[0] != name:
                continue
            attributes = sns.get_subscription_attributes(SubscriptionArn=item["SubscriptionArn"])["Attributes"]
            policy = attributes.get("FilterPolicy")
            detail = f"filter {policy} ({attributes.get('FilterPolicyScope', 'MessageAttributes')})" if policy else ""
            found.append(Trigger("sns", item["TopicArn"], detail, "-", _split(item["Endpoint"])[1]))
    return found


def _eventbridge(clients: Clients, name: str) -> list[Trigger]:
    events, found = clients.aws("events"), []
    for bus in events.list_event_buses().get("EventBuses", []):
        for rule in events.list_rules(EventBusName=bus["Name"]).get("Rules", []):
            targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus["Name"])["Targets"]
            for target in targets:
                if target["Arn"].split(":")[2:3] != ["lambda"] or _split(target["Arn"])[0] != name:
                    continue
                what = rule.get("ScheduleExpression") or rule.get("EventPattern", "")
                found.append(Trigger("eventbridge", f"{bus['Name']}/{rule['Name']}", what, rule.get("State", "-"),
                                     _split(target["Arn"])[1]))  # fmt: skip
    return found


def gather(clients: Clients, name: str) -> list[Trigger]:
    """Every trigger of function ``name``; a service that cannot be asked is said on stderr and skipped."""
    clients.lam.get_function_configuration(FunctionName=name)  # an unknown function: the usual error
    found = _lambda_side(clients, name, Kindling.read(clients))
    for label, scan in (("S3", _s3), ("SNS", _sns), ("EventBridge", _eventbridge)):
        try:
            found += scan(clients, name)
        except Exception as error:  # a service served elsewhere, or down: the rest is still worth showing
            err.print(f"warning: {label} could not be read: {error}", markup=False)
    return found


def summary(clients: Clients, name: str, kindling: Kindling) -> str:
    """The kinds of trigger for ``kindling ls``: ``url api sqs*2 policy:s3``."""
    counts: dict[str, int] = {}
    try:
        found = _lambda_side(clients, name, kindling)
    except clients.lam.exceptions.ResourceNotFoundException:  # deleted since it was listed
        return "-"
    for trigger in found:
        kind = trigger.kind
        if kind == "policy":
            kind = "policy:" + trigger.source.split(".")[0]
        counts[kind] = counts.get(kind, 0) + 1

    def rank(kind: str) -> tuple[int, str]:
        group = kind.split(":")[0]
        return (_ORDER.index(group) if group in _ORDER else len(_ORDER), kind)

    ordered = sorted(counts, key=rank)
    return " ".join(kind + (f"*{counts[kind]}" if counts[kind] > 1 else "") for kind in ordered) or "-"


@click.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="print the triggers as a JSON list")
@client_command
def triggers(clients: Clients, name: str, as_json: bool) -> None:
    """What can invoke function NAME: its URL, routes, schedules, event source mappings, S3 notifications,
    SNS subscriptions, EventBridge rules and the principals of its resource policy."""
    found = gather(clients, name)
    if as_json:
        out.print(json.dumps([asdict(trigger) for trigger in found], indent=2), markup=False)
        return
    if not found:
        out.print(f"nothing invokes {name} but direct calls (Invoke)", markup=False)
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("KIND", "SOURCE", "DETAIL", "STATE", "QUALIFIER"):
        table.add_column(column, overflow="fold")
    for trigger in found:
        table.add_row(trigger.kind, trigger.source, trigger.detail, trigger.state, trigger.qualifier or "-")
    out.print(table)
