"""A SAM function's ``Events`` as Kindling's own resources: ``Api`` / ``HttpApi`` routes become route tables
(``/kindling/apis``), ``Schedule`` / ``ScheduleV2`` become schedules (``/kindling/schedules``); the events
of the AWS services are left to ``sam_sources.py``.

SAM gathers the routes of every function into one implicit API per kind; so does kindling, under a
base path of the stack (the template's folder name): ``HttpApi`` events (payload 2.0, stage ``$default``)
at ``/<stack>``, ``Api`` events (REST, payload 1.0, stage ``Prod``) at ``/<stack>-rest``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from .common import Clients, kindling_request, out
from .sam_sources import SOURCE_EVENTS, SourceEvent
from .schedules import Schedule, put_schedule
from .template import warn, warn_unsupported

# event type -> (SAM's logical id of the implicit API, base path suffix, stage, payload format)
IMPLICIT = {
    "HttpApi": ("ServerlessHttpApi", "", "$default", "2.0"),
    "Api": ("ServerlessRestApi", "-rest", "Prod", "1.0"),
}
EVENT_PROPERTIES = {
    "HttpApi": {"Path", "Method", "PayloadFormatVersion"},
    "Api": {"Path", "Method"},
    "Schedule": {"Schedule", "Enabled", "Name", "Input"},
    "ScheduleV2": {"ScheduleExpression", "State", "Name", "Input"},
}


@dataclass(frozen=True)
class Route:
    kind: str  # "HttpApi" or "Api"
    key: str  # "GET /items/{id}" or "$default"
    function: str  # name, or name:alias
    payload_version: str


def events(logical: str, target: str, spec: dict[str, Any]) -> tuple[list[Route], list[Schedule], list[SourceEvent]]:
    """The routes, schedules and service events of one function's ``Events``; ``target`` is what they invoke."""
    routes, schedules, sources = [], [], []
    for event, item in spec.items():
        kind, properties = item.get("Type"), item.get("Properties") or {}
        if kind in SOURCE_EVENTS:
            sources.append(SourceEvent(logical, event, kind, properties, target))
            continue
        if kind not in EVENT_PROPERTIES:
            warn(f"event {event} of {logical} ({kind}) skipped: not supported yet")
            continue
        warn_unsupported(f"event {event} of {logical}", properties, EVENT_PROPERTIES[kind])
        if kind in IMPLICIT:
            method, path = str(properties.get("Method", "ANY")).upper(), properties.get("Path")
            key = f"{'ANY' if method == 'X-AMAZON-APIGATEWAY-ANY-METHOD' else method} {path}" if path else "$default"
            version = str(properties.get("PayloadFormatVersion", IMPLICIT[kind][3]))
            routes.append(Route(kind, key, target, version))
            continue
        if kind == "Schedule":
            expression, enabled = properties.get("Schedule"), properties.get("Enabled", True)
        else:
            expression = properties.get("ScheduleExpression")
            enabled = properties.get("State", "ENABLED") == "ENABLED"
        name = str(properties.get("Name") or f"{target.partition(':')[0]}-{event}")[:64]
        schedules.append(Schedule(name, target, str(expression), bool(enabled), properties.get("Input")))
    return routes, schedules, sources


def sync_schedule(clients: Clients, schedule: Schedule) -> bool:
    """Puts the schedule unless the server has it exactly so (a rate's next firing is kept); True if changed."""
    wanted = {
        "ScheduleExpression": schedule.expression,
        "FunctionName": schedule.function,
        "State": "ENABLED" if schedule.enabled else "DISABLED",
        "Input": schedule.input,
    }
    rules = kindling_request(clients, "GET", "/kindling/schedules")["Schedules"]
    current = next((rule for rule in rules if rule["Name"] == schedule.name), None)
    state = "" if schedule.enabled else " (disabled)"
    line = f"schedule {schedule.name}: {schedule.expression} → {schedule.function}{state}"
    if current is not None and {key: current.get(key) for key in wanted} == wanted:
        out.print(f"up to date: {line}", markup=False)
        return False
    put_schedule(clients, schedule)
    out.print(line, markup=False)
    return True


def _route(route: Route, default_version: str) -> dict[str, str]:
    document = {"RouteKey": route.key, "Function": route.function}
    if route.payload_version != default_version:
        document["PayloadFormatVersion"] = route.payload_version
    return document


def sync_apis(clients: Clients, stack: str, routes: list[Route]) -> int:
    """Creates or replaces one route table per kind of API event; how many changed."""
    existing = {api["Name"]: api for api in kindling_request(clients, "GET", "/kindling/apis")["Items"]}
    changed = 0
    for kind, (logical, suffix, stage, version) in IMPLICIT.items():
        mine = sorted((route for route in routes if route.kind == kind), key=lambda route: route.key)
        if not mine:
            continue
        name = f"{stack}-{logical}"
        document = {
            "Name": name,
            "BasePath": f"/{stack}{suffix}",
            "Stage": stage,
            "PayloadFormatVersion": version,
            "Routes": [_route(route, version) for route in mine],
        }
        current = existing.get(name)
        if current is not None and {key: current.get(key) for key in document} == document:
            plural = "s" if len(mine) > 1 else ""
            out.print(f"up to date: api {logical} {current['Endpoint']} ({len(mine)} route{plural})", markup=False)
            continue
        if current is None:
            saved = kindling_request(clients, "POST", "/kindling/apis", document)
        else:
            saved = kindling_request(clients, "PUT", f"/kindling/apis/{quote(current['ApiId'], safe='')}", document)
        changed += 1
        keys = ", ".join(route.key for route in mine)
        out.print(f"api {logical} {saved['Endpoint']}: {keys}", markup=False)
    return changed
