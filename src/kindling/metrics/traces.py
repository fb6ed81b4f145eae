"""X-Ray's view of stored segment documents: checked as ``PutTraceSegments`` checks them, put together
into traces (subsegments sent on their own join their parent, as X-Ray shows them) and summed up as
``GetTraceSummaries`` answers, with the filter expressions it takes most often.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ..errors import ServiceFault

TRACE_ID = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")
SEGMENT_ID = re.compile(r"^[0-9a-f]{16}$")
DOCUMENT_MAX = 64 * 1024  # X-Ray's limit for one segment document


def invalid(message: str) -> ServiceFault:
    return ServiceFault("InvalidRequestException", message, 400)


def check(document: Any) -> str:
    """What is wrong with a segment document ("" if nothing)."""
    if not isinstance(document, dict):
        return "The segment document is not a JSON object"
    if not isinstance(document.get("trace_id"), str) or not TRACE_ID.match(document["trace_id"]):
        return "Invalid or missing trace_id"
    if not isinstance(document.get("id"), str) or not SEGMENT_ID.match(document["id"]):
        return "Invalid or missing id: 16 hexadecimal digits"
    if document.get("type") == "subsegment":
        if not isinstance(document.get("parent_id"), str) or not SEGMENT_ID.match(document["parent_id"]):
            return "A subsegment sent on its own needs parent_id"
    elif not isinstance(document.get("name"), str) or not document["name"]:
        return "Missing name"
    if not isinstance(document.get("start_time"), (int, float)):
        return "Missing start_time"
    if not isinstance(document.get("end_time"), (int, float)) and document.get("in_progress") is not True:
        return "Missing end_time (or in_progress: true)"
    return ""


def assemble(documents: list[str]) -> list[dict[str, Any]]:
    """A trace's segments, each subsegment sent on its own placed under its parent (by ``parent_id``)."""
    segments: list[dict[str, Any]] = []
    loose: list[dict[str, Any]] = []
    for text in documents:
        document = json.loads(text)
        (loose if document.get("type") == "subsegment" else segments).append(document)
    while loose:
        nodes = {node["id"]: node for segment in segments for node in _walk(segment)}
        left = []
        for sub in loose:
            parent = nodes.get(sub["parent_id"])
            if parent is None:
                left.append(sub)
                continue
            children = [child for child in parent.get("subsegments", []) if child.get("id") != sub["id"]]
            body = {key: value for key, value in sub.items() if key not in ("type", "parent_id", "trace_id")}
            parent["subsegments"] = [*children, body]
            nodes.update({node["id"]: node for node in _walk(body)})
        if len(left) == len(loose):  # parents never sent: shown as they came
            segments.extend(left)
            break
        loose = left
    return segments


def _walk(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node]
    for child in node.get("subsegments", []):
        if isinstance(child, dict) and "id" in child:
            found.extend(_walk(child))
    return found


def _end(node: dict[str, Any]) -> float:
    return float(node.get("end_time") or node["start_time"])


def summary(trace_id: str, segments: list[dict[str, Any]], account: str) -> dict[str, Any]:
    """One ``TraceSummary``: the entry segment's response, the whole trace's duration, its flags."""
    ids = {segment["id"] for segment in segments}
    entry = min(
        (segment for segment in segments if segment.get("parent_id") not in ids),
        key=lambda segment: segment["start_time"],
        default=segments[0],
    )
    nodes = [node for segment in segments for node in _walk(segment)]
    start = min(segment["start_time"] for segment in segments)
    services: dict[tuple[str, str], dict[str, Any]] = {}
    for segment in segments:
        key = (segment.get("name", ""), segment.get("origin", ""))
        services.setdefault(key, _service(segment, account))
    annotations: dict[str, list[dict[str, Any]]] = {}
    for node in nodes:
        for key, value in (node.get("annotations") or {}).items():
            annotations.setdefault(key, []).append({"AnnotationValue": _annotation(value)})
    resources = sorted({segment["resource_arn"] for segment in segments if segment.get("resource_arn")})
    http = entry.get("http") or {}
    request, response = http.get("request") or {}, http.get("response") or {}
    found = {
        "Id": trace_id,
        "StartTime": start,
        "Duration": round(max(_end(node) for node in nodes) - start, 3),
        "ResponseTime": round(_end(entry) - entry["start_time"], 3),
        "HasFault": any(node.get("fault") for node in nodes),
        "HasError": any(node.get("error") for node in nodes),
        "HasThrottle": any(node.get("throttle") for node in nodes),
        "IsPartial": any(node.get("in_progress") for node in nodes),
        "Annotations": annotations,
        "ServiceIds": list(services.values()),
        "ResourceARNs": [{"ARN": arn} for arn in resources],
        "EntryPoint": _service(entry, account),
        "Revision": len(nodes),
        "Users": [],
    }
    if request or response:
        found["Http"] = {
            key: value
            for key, value in (
                ("HttpURL", request.get("url")),
                ("HttpMethod", request.get("method")),
                ("UserAgent", request.get("user_agent")),
                ("ClientIp", request.get("client_ip")),
                ("HttpStatus", response.get("status")),
            )
            if value is not None
        }
    return found


def _service(segment: dict[str, Any], account: str) -> dict[str, Any]:
    name = segment.get("name", "")
    found = {"Name": name, "Names": [name], "AccountId": (segment.get("aws") or {}).get("account_id", account)}
    if segment.get("origin"):
        found["Type"] = segment["origin"]
    return found


def _annotation(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BooleanValue": value}
    if isinstance(value, (int, float)):
        return {"NumberValue": value}
    return {"StringValue": str(value)}


# ------------------------------------------------------------ filter expressions
_CLAUSE = re.compile(
    r"""^(?:
        service\(\s*"(?P<service>[^"]*)"\s*\)
      | (?P<flag>ok|error|fault|throttle|partial)(?:\s*=\s*(?P<flag_value>true|false))?
      | (?P<number>responsetime|duration)\s*(?P<op>>=|<=|!=|=|>|<)\s*(?P<limit>[0-9.]+)
      | annotation\.(?P<key>[A-Za-z0-9_]+)\s*=\s*(?P<value>"[^"]*"|[0-9.]+|true|false)
    )$""",
    re.VERBOSE | re.IGNORECASE,
)
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
Test = Callable[[dict[str, Any]], bool]


def parse_filter(expression: str) -> list[Test]:
    """Clauses joined by ``AND``/``&&``: ``service("name")``, ``ok``, ``error``, ``fault``, ``throttle``
    (``= true|false``), ``responsetime``/``duration`` compared with a number, ``annotation.key = value``."""
    tests: list[Test] = []
    for clause in re.split(r"\s+(?:AND)\s+|\s*&&\s*", expression.strip(), flags=re.IGNORECASE):
        match = _CLAUSE.match(clause.strip())
        if match is None:
            raise invalid(f"Kindling does not support this part of the filter expression: {clause!r}")
        tests.append(_test(match))
    return tests


def _test(match: re.Match[str]) -> Test:
    if match["service"] is not None:
        name = match["service"]
        return lambda found: any(service["Name"] == name for service in found["ServiceIds"])
    if match["flag"] is not None:
        wanted = (match["flag_value"] or "true").lower() == "true"
        flag = match["flag"].lower()
        if flag == "ok":
            return lambda found: (not (found["HasFault"] or found["HasError"] or found["HasThrottle"])) == wanted
        field = {"error": "HasError", "fault": "HasFault", "throttle": "HasThrottle", "partial": "IsPartial"}[flag]
        return lambda found: bool(found[field]) == wanted
    if match["number"] is not None:
        field = "ResponseTime" if match["number"].lower() == "responsetime" else "Duration"
        compare, limit = _COMPARE[match["op"]], float(match["limit"])
        return lambda found: compare(found[field], limit)
    key, text = match["key"], match["value"]
    value = json.loads(text.lower() if text.lower() in ("true", "false") else text)
    return lambda found: any(value in item["AnnotationValue"].values() for item in found["Annotations"].get(key, []))
