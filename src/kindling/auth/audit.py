"""The audit trail: every mutating call and every refused or denied one, in an append-only database of its
own (``<data-dir>/audit/audit.db``, apart from the functions' data, so deleting a function keeps its trail).

Each event is what CloudTrail records: who (``userIdentity``), what (the event source and name, e.g.
``CreateFunction20150331``; the resources; the request parameters, secret values hidden as CloudTrail hides
them), when, from where (source IP, user agent), the request id and the error. Served as CloudTrail's
``LookupEvents`` (``trail_api.py``) and by ``kindling audit``.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..store.sqlite import Database
from .gate import Caller

HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"  # what CloudTrail writes for a secret parameter
_SECRET_WORDS = ("secret", "password", "token", "privatekey")
_OMITTED = {"ZipFile", "Payload", "Content"}  # bytes: code archives and invoke payloads are not recorded

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    event_time REAL NOT NULL,
    event_source TEXT NOT NULL,
    event_name TEXT NOT NULL,
    username TEXT NOT NULL,
    access_key TEXT NOT NULL,
    read_only INTEGER NOT NULL,
    resources TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_time ON events (event_time);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TABLE IF NOT EXISTS retention (days REAL NOT NULL);
DROP TRIGGER IF EXISTS events_no_delete;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
WHEN OLD.event_time >= (SELECT COALESCE(MAX(unixepoch('now') - days * 86400), 0) FROM retention)
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""
PRUNE_EVERY = 1000  # events recorded between two prunings


def redact(params: Any, key: str = "") -> Any:
    """Request parameters as CloudTrail keeps them: environment variable values and anything named like a
    secret hidden, code and payload bytes left out."""
    if isinstance(params, dict):
        if key == "Variables":
            return {name: HIDDEN for name in params}
        return {k: redact(v, k) for k, v in params.items() if k not in _OMITTED}
    if isinstance(params, list):
        return [redact(item, key) for item in params]
    if isinstance(params, bytes | bytearray):
        return None
    if any(word in key.lower() for word in _SECRET_WORDS):
        return HIDDEN
    return params


@dataclass
class Event:
    source: str  # "lambda.amazonaws.com"
    name: str  # "CreateFunction20150331"
    caller: Caller
    region: str
    request_id: str
    params: dict[str, Any] = field(default_factory=dict)
    resources: list[tuple[str, str]] = field(default_factory=list)  # (type, ARN or name)
    error_code: str = ""
    error_message: str = ""
    read_only: bool = False


class AuditTrail:
    def __init__(self, data_dir: Path, retention_days: float = 90.0) -> None:
        """Events older than ``retention_days`` are pruned (at start, then every ``PRUNE_EVERY`` events); the
        database itself refuses to delete younger ones, or to change any."""
        folder = data_dir / "audit"
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
        self.database = Database(folder / "audit.db", SCHEMA)
        with self.database.transaction() as db:
            db.execute("DELETE FROM retention")
            db.execute("INSERT INTO retention VALUES (?)", (retention_days,))
        self.retention_s = retention_days * 86400
        self._since_prune = 0
        self.prune()

    def prune(self) -> None:
        self.database.write("DELETE FROM events WHERE event_time < ?", (time.time() - self.retention_s + 1,))

    def record(self, event: Event) -> str:
        identity = event.caller.identity
        event_id = str(uuid.uuid4())
        now = time.time()
        user_identity: dict[str, Any] = {
            "type": identity.kind,
            "principalId": identity.principal_id,
            "arn": identity.arn,
            "accountId": identity.account,
            "accessKeyId": identity.access_key,
        }
        if identity.name:
            user_identity["userName"] = identity.name
        record = {
            "eventVersion": "1.08",
            "userIdentity": user_identity,
            "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "eventSource": event.source,
            "eventName": event.name,
            "awsRegion": event.region,
            "sourceIPAddress": event.caller.source_ip,
            "userAgent": event.caller.user_agent,
            "requestParameters": redact(event.params) or None,
            "responseElements": None,
            "requestID": event.request_id,
            "eventID": event_id,
            "readOnly": event.read_only,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": identity.account,
        }
        if event.error_code:
            record["errorCode"] = event.error_code
            record["errorMessage"] = event.error_message
        resources = [{"ResourceType": kind, "ResourceName": name} for kind, name in event.resources]
        self._since_prune += 1
        if self._since_prune >= PRUNE_EVERY:
            self._since_prune = 0
            self.prune()
        self.database.write(
            "INSERT INTO events (event_id, event_time, event_source, event_name, username, access_key, read_only, "
            "resources, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event_id,
                now,
                event.source,
                event.name,
                identity.name or ("root" if identity.kind == "Root" else identity.arn),
                identity.access_key,
                int(event.read_only),
                json.dumps(resources),
                json.dumps(record),
            ),
        )
        return event_id

    def lookup(
        self,
        attributes: list[tuple[str, str]] = (),  # type: ignore[assignment]
        start: float | None = None,
        end: float | None = None,
        limit: int = 50,
        before: int | None = None,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Events newest first, as ``LookupEvents`` returns them; the second value is the next page's cursor."""
        where: list[str] = ["1 = 1"]
        args: list[object] = []
        columns = {"EventName": "event_name", "Username": "username", "AccessKeyId": "access_key",
                   "EventSource": "event_source", "EventId": "event_id"}  # fmt: skip
        for key, value in attributes:
            if key in columns:
                where.append(f"{columns[key]} = ?")
                args.append(value)
            elif key == "ReadOnly":
                where.append("read_only = ?")
                args.append(int(value.lower() == "true"))
            elif key in ("ResourceName", "ResourceType"):
                where.append(f"EXISTS (SELECT 1 FROM json_each(resources) WHERE json_extract(value, '$.{key}') = ?)")
                args.append(value)
        if start is not None:
            where.append("event_time >= ?")
            args.append(start)
        if end is not None:
            where.append("event_time <= ?")
            args.append(end)
        if before is not None:
            where.append("seq < ?")
            args.append(before)
        rows = self.database.rows(
            f"SELECT seq, event_id, event_time, event_source, event_name, username, access_key, read_only, resources, "
            f"record FROM events WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?",
            (*args, limit + 1),
        )
        events = [
            {
                "EventId": event_id,
                "EventName": name,
                "ReadOnly": "true" if read_only else "false",
                "AccessKeyId": key,
                "EventTime": at,
                "EventSource": source,
                "Username": user,
                "Resources": json.loads(resources),
                "CloudTrailEvent": record,
            }
            for _, event_id, at, source, name, user, key, read_only, resources, record in rows[:limit]
        ]
        return events, (rows[limit - 1][0] if len(rows) > limit else None)

    def close(self) -> None:
        self.database.close()
