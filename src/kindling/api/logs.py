"""The CloudWatch Logs API (JSON 1.1, ``X-Amz-Target: Logs_20140328.*``) on the Lambda port.

Inputs are checked against botocore's own ``logs`` model, like the Lambda API's. Reads (describe,
get, filter) run on one worker thread so a large scan never stalls invocations; writes run on the
event loop, where the log store's flushes and the retention sweep run too, so they never race.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import LambdaError, ServiceFault
from ..logs import reader, retention
from ..logs.filters import FilterPatternError, compile_pattern
from ..logs.groups import GroupInfo, LogGroups
from ..logs.live import LiveTail
from ..logs.streams import LogStore
from ..web import Reply
from .errors import json_protocol_error
from .model import ServiceModel

log = logging.getLogger("kindling.logs")
TARGET_PREFIX = "Logs_20140328."
CONTENT_TYPE = b"application/x-amz-json-1.1"
_TOKEN = re.compile(r"^([fb])/(\d{1,56})$")
_GROUP_ARN = re.compile(r"^arn:aws[\w-]*:logs:[^:]*:\d*:log-group:(.+?)(?::\*)?$")
Params = dict[str, Any]


def _invalid(message: str) -> ServiceFault:
    return ServiceFault("InvalidParameterException", message)


def _no_group() -> ServiceFault:
    return ServiceFault("ResourceNotFoundException", "The specified log group does not exist.")


def _no_stream() -> ServiceFault:
    return ServiceFault("ResourceNotFoundException", "The specified log stream does not exist.")


def _json_reply(data: Params, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data).encode(), content_type=CONTENT_TYPE)


def _encode_token(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def _decode_token(token: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error):
        raise _invalid("The specified nextToken is invalid.") from None


def _page(items: list[Any], params: Params, default_limit: int) -> tuple[list[Any], Params]:
    """An offset page of a sorted listing, and the ``nextToken`` member when more remain."""
    start = _decode_token(params["nextToken"]) if params.get("nextToken") else 0
    if not isinstance(start, int) or start < 0:
        raise _invalid("The specified nextToken is invalid.")
    end = start + params.get("limit", default_limit)
    return items[start:end], ({"nextToken": _encode_token(end)} if end < len(items) else {})


class LogsApi:
    def __init__(self, config: Config, logs: LogStore) -> None:
        self.config = config
        self.logs = logs
        self.model = ServiceModel("logs")
        self.groups = LogGroups(logs, config.data_dir / "log-groups.json")
        self.reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="logs-api")
        self._reads: dict[str, Callable[[Params], Params]] = {
            "DescribeLogGroups": self.describe_log_groups,
            "DescribeLogStreams": self.describe_log_streams,
            "GetLogEvents": self.get_log_events,
            "FilterLogEvents": self.filter_log_events,
        }
        self._writes: dict[str, Callable[[Params], Params]] = {
            "CreateLogGroup": self.create_log_group,
            "DeleteLogGroup": self.delete_log_group,
            "PutRetentionPolicy": self.put_retention_policy,
            "DeleteRetentionPolicy": self.delete_retention_policy,
            "CreateLogStream": self.create_log_stream,
            "DeleteLogStream": self.delete_log_stream,
            "PutLogEvents": self.put_log_events,
        }
        logs.every(retention.SWEEP_INTERVAL_S, lambda: retention.sweep(logs, self.groups))

    async def handle(self, operation: str, body: bytes) -> Reply:
        try:
            params = self._parse(operation, body)
            if operation in self._writes:
                return _json_reply(self._writes[operation](params))
            self.logs.flush()  # what the functions wrote up to now is readable at once
            loop = asyncio.get_running_loop()
            return _json_reply(await loop.run_in_executor(self.reader, self._reads[operation], params))
        except ServiceFault as error:
            failure = error
        except Exception:
            log.exception("unexpected error in Logs %s", operation)
            failure = ServiceFault("ServiceUnavailableException", "An internal error occurred.", 500)
        return Reply(failure.status, json_protocol_error(failure), content_type=CONTENT_TYPE)

    def _parse(self, operation: str, body: bytes) -> Params:
        if operation not in self._reads and operation not in self._writes and operation != "StartLiveTail":
            if operation in self.model.operations:
                raise ServiceFault("NotImplementedException", f"Kindling does not implement {operation} yet.", 501)
            raise ServiceFault("UnknownOperationException", f"Unknown operation {operation}.")
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            raise ServiceFault("SerializationException", "Could not parse the request body as JSON.") from None
        if not isinstance(params, dict):
            raise ServiceFault("SerializationException", "The request body must be a JSON object.")
        try:
            self.model.validate(self.model.operations[operation], params)
        except LambdaError as error:
            raise _invalid(error.message) from None
        return params

    def start_live_tail(self, body: bytes) -> tuple[LiveTail, Params]:
        """A live tail session positioned at the end of its groups' streams, and its sessionStart event."""
        params = self._parse("StartLiveTail", body)
        groups = {}
        for identifier in params["logGroupIdentifiers"]:
            info = self._group({"logGroupIdentifier": identifier})
            groups[identifier] = info.name
        try:
            matches = compile_pattern(params.get("logEventFilterPattern"))
        except FilterPatternError as error:
            raise _invalid(str(error)) from None
        names, prefixes = params.get("logStreamNames"), params.get("logStreamNamePrefixes")
        self.logs.flush()
        session = LiveTail(self.logs, groups, names, prefixes, matches)
        pattern = params.get("logEventFilterPattern", "")
        start = {"logGroupIdentifiers": list(groups), "logStreamNames": names or [],
                 "logStreamNamePrefixes": prefixes or [], "logEventFilterPattern": pattern}  # fmt: skip
        return session, start

    # ------------------------------------------------------------------ groups
    def _group_name(self, params: Params) -> str:
        if params.get("logGroupName"):
            return params["logGroupName"]
        identifier = params.get("logGroupIdentifier") or ""
        found = _GROUP_ARN.match(identifier)
        if found:
            return found.group(1)
        if identifier:
            return identifier
        raise _invalid("Either logGroupName or logGroupIdentifier must be specified.")

    def _group(self, params: Params) -> GroupInfo:
        info = self.groups.get(self._group_name(params))
        if info is None:
            raise _no_group()
        return info

    def _arn(self, group: str) -> str:
        return f"arn:aws:logs:{self.config.region}:{self.config.account_id}:log-group:{group}"

    def describe_log_groups(self, params: Params) -> Params:
        prefix = params.get("logGroupNamePrefix")
        pattern = (params.get("logGroupNamePattern") or "").lower()
        if prefix and pattern:
            raise _invalid("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
        names = [
            name
            for name in self.groups.names()
            if (not prefix or name.startswith(prefix)) and (not pattern or pattern in name.lower())
        ]
        page, more = _page(names, params, 50)
        described = []
        for name in page:
            info = self.groups.get(name)
            if info is None:
                continue  # deleted meanwhile
            group: Params = {
                "logGroupName": name,
                "creationTime": info.created,
                "metricFilterCount": 0,
                "arn": self._arn(name) + ":*",
                "storedBytes": reader.stored_bytes(self.logs.group_dir(name)),
                "logGroupClass": "STANDARD",
                "logGroupArn": self._arn(name),
            }
            if info.retention_days:
                group["retentionInDays"] = info.retention_days
            described.append(group)
        return {"logGroups": described, **more}

    def create_log_group(self, params: Params) -> Params:
        if not self.groups.create(params["logGroupName"]):
            raise ServiceFault("ResourceAlreadyExistsException", "The specified log group already exists")
        return {}

    def delete_log_group(self, params: Params) -> Params:
        if not self.groups.delete(params["logGroupName"]):
            raise _no_group()
        return {}

    def put_retention_policy(self, params: Params) -> Params:
        days = params["retentionInDays"]
        if days not in retention.RETENTION_DAYS:
            allowed = ", ".join(map(str, retention.RETENTION_DAYS))
            raise _invalid(
                f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{allowed}]"
            )
        info = self._group(params)
        self.groups.set_retention(info.name, days)
        self.logs.flush()
        retention.sweep_group(self.logs, info.name, retention.oldest_kept(days))
        return {}

    def delete_retention_policy(self, params: Params) -> Params:
        self.groups.set_retention(self._group(params).name, None)
        return {}

    # ----------------------------------------------------------------- streams
    def _stream_path(self, group: GroupInfo, stream: str) -> Path:
        path = self.logs.stream_path(group.name, stream)
        if not path.is_file():
            raise _no_stream()
        return path

    def describe_log_streams(self, params: Params) -> Params:
        group = self._group(params)
        prefix = params.get("logStreamNamePrefix", "")
        by_time = params.get("orderBy") == "LastEventTime"
        if by_time and prefix:
            raise _invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        infos = []
        for name, path in reader.stream_names(self.logs.group_dir(group.name)):
            if name.startswith(prefix):
                try:
                    infos.append(reader.stream_info(name, path))
                except FileNotFoundError:
                    continue
        if by_time:
            infos.sort(key=lambda info: (info.last_event or 0, info.name))
        if params.get("descending"):
            infos.reverse()
        page, more = _page(infos, params, 50)
        streams = []
        for info in page:
            stream = {
                "logStreamName": info.name,
                "creationTime": info.created,
                "firstEventTimestamp": info.first_event,
                "lastEventTimestamp": info.last_event,
                "lastIngestionTime": info.last_ingestion,
                "uploadSequenceToken": "1",
                "arn": f"{self._arn(group.name)}:log-stream:{info.name}",
                "storedBytes": info.size,
            }
            streams.append({key: value for key, value in stream.items() if value is not None})
        return {"logStreams": streams, **more}

    def create_log_stream(self, params: Params) -> Params:
        group = self._group(params)
        path = self.logs.stream_path(group.name, params["logStreamName"])
        if path.exists():
            raise ServiceFault("ResourceAlreadyExistsException", "The specified log stream already exists")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
        return {}

    def delete_log_stream(self, params: Params) -> Params:
        group = self._group(params)
        self._stream_path(group, params["logStreamName"])
        self.logs.delete_stream(group.name, params["logStreamName"])
        return {}

    def put_log_events(self, params: Params) -> Params:
        group = self._group(params)
        self._stream_path(group, params["logStreamName"])
        events = params["logEvents"]
        stamps = [event["timestamp"] for event in events]
        if stamps != sorted(stamps):
            raise _invalid("Log events in a single PutLogEvents request must be in chronological order.")
        now = retention.now_ms()
        too_old = max(now - 14 * retention.DAY_MS, retention.oldest_kept(group.retention_days, now))
        accepted = [event for event in events if too_old <= event["timestamp"] <= now + 2 * 3_600_000]
        stream = self.logs.open_stream(group.name, params["logStreamName"])
        try:
            for event in accepted:
                stream.write(event["message"], event["timestamp"])
        finally:
            stream.close()
        rejected: Params = {}
        if stamps and stamps[0] < too_old:
            key = "expiredLogEventEndIndex" if group.retention_days else "tooOldLogEventEndIndex"
            rejected[key] = max(i for i, stamp in enumerate(stamps) if stamp < too_old)
        if stamps and stamps[-1] > now + 2 * 3_600_000:
            rejected["tooNewLogEventStartIndex"] = min(i for i, s in enumerate(stamps) if s > now + 2 * 3_600_000)
        return {"nextSequenceToken": "1", **({"rejectedLogEventsInfo": rejected} if rejected else {})}

    # ------------------------------------------------------------------ events
    def get_log_events(self, params: Params) -> Params:
        group = self._group(params)
        path = self._stream_path(group, params["logStreamName"])
        limit = params.get("limit", 10_000)
        start = max(params.get("startTime", 0), retention.oldest_kept(group.retention_days))
        end = params.get("endTime")

        def visible(timestamp: int) -> bool:
            return timestamp >= start and (end is None or timestamp < end)

        if params.get("nextToken"):
            found = _TOKEN.match(params["nextToken"])
            if found is None:
                raise _invalid("The specified nextToken is invalid.")
            forward, position = found.group(1) == "f", int(found.group(2))
        else:
            forward = bool(params.get("startFromHead"))
            position = 0 if forward else reader.complete_size(path)
        read = reader.read_forward if forward else reader.read_backward
        page = read(path, position, limit, visible)
        return {
            "events": [
                {"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.timestamp} for e in page.events
            ],
            "nextForwardToken": f"f/{page.ahead:056d}",
            "nextBackwardToken": f"b/{page.back:056d}",
        }

    def filter_log_events(self, params: Params) -> Params:
        group = self._group(params)
        names = params.get("logStreamNames")
        prefix = params.get("logStreamNamePrefix")
        if names and prefix:
            raise _invalid("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
        try:
            matches = compile_pattern(params.get("filterPattern"))
        except FilterPatternError as error:
            raise _invalid(str(error)) from None
        start = max(params.get("startTime", 0), retention.oldest_kept(group.retention_days))
        end = params.get("endTime")
        after = _filter_position(params["nextToken"]) if params.get("nextToken") else None
        streams = [
            (name, path)
            for name, path in reader.stream_names(self.logs.group_dir(group.name))
            if (not names or name in names) and (not prefix or name.startswith(prefix))
        ]

        def visible(timestamp: int) -> bool:
            return timestamp >= start and (end is None or timestamp <= end)

        page, more = reader.search(streams, visible, matches, after, params.get("limit", 10_000))
        events = [
            {
                "logStreamName": key[1],
                "timestamp": event.timestamp,
                "message": event.message,
                "ingestionTime": event.timestamp,
                "eventId": f"{event.timestamp:020d}{zlib.crc32(key[1].encode()):010d}{event.offset:026d}",
            }
            for key, event in page
        ]
        reply: Params = {
            "events": events,
            "searchedLogStreams": [{"logStreamName": name, "searchedCompletely": True} for name, _ in streams],
        }
        if more:
            reply["nextToken"] = _encode_token(list(page[-1][0]))
        return reply


def _filter_position(token: str) -> reader.Position:
    """Where a FilterLogEvents page stopped: (timestamp, stream, offset) of its last event."""
    value = _decode_token(token)
    if not (isinstance(value, list) and len(value) == 3 and [type(part) for part in value] == [int, str, int]):
        raise _invalid("The specified nextToken is invalid.")
    return value[0], value[1], value[2]
