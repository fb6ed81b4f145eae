"""The Embedded Metric Format: a JSON log line with ``_aws.CloudWatchMetrics`` becomes custom metrics, as
CloudWatch Logs makes them on AWS. Checked cheaply first (a ``{`` and ``"_aws"``), parsed only then."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from .recorder import Recorder

log = logging.getLogger("kindling.metrics")


def take_line(recorder: Recorder, message: str) -> None:
    """Record the metrics of one log line if it is an EMF document; any other line costs a substring test."""
    if '"_aws"' not in message:
        return
    start = message.find("{")
    try:
        document = json.loads(message[start:])
    except ValueError:
        return
    if isinstance(document, dict):
        try:
            record(recorder, document)
        except (TypeError, ValueError, KeyError, AttributeError):
            log.debug("ignoring a malformed EMF document")


def record(recorder: Recorder, document: dict[str, Any]) -> None:
    meta = document["_aws"]
    timestamp = float(meta.get("Timestamp") or time.time() * 1000) / 1000
    for directive in meta["CloudWatchMetrics"]:
        namespace = directive["Namespace"]
        if not isinstance(namespace, str) or not namespace or namespace.startswith("AWS/"):
            continue
        for definition in directive["Metrics"]:
            name = definition["Name"]
            unit = definition.get("Unit") or "None"
            raw = document.get(name)
            values = raw if isinstance(raw, list) else [raw]
            for dimension_set in directive.get("Dimensions") or [[]]:
                dims = tuple(sorted((key, str(document[key])) for key in dimension_set if key in document))
                for value in values:
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        recorder.put(namespace, name, dims, unit, timestamp, float(value))
