"""The audit store on its own: append-only (no update, no delete of a live event), pruned past its retention."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from kindling.auth.audit import AuditTrail, Event
from kindling.auth.gate import Caller
from kindling.auth.identities import Identity

BOB = Identity("arn:aws:iam::000000000000:user/bob", "000000000000", "IAMUser", "bob", "AIDABOB", "AKIABOB")


def record(trail: AuditTrail, name: str = "CreateFunction20150331") -> str:
    return trail.record(Event("lambda.amazonaws.com", name, Caller(BOB, "10.0.0.1", "test"), "us-east-1", "rid"))


def test_events_cannot_be_changed_or_deleted(tmp_path: Path) -> None:
    trail = AuditTrail(tmp_path)
    record(trail)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        trail.database.write("UPDATE events SET username = 'alice'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        trail.database.write("DELETE FROM events")
    assert [e["Username"] for e in trail.lookup()[0]] == ["bob"]
    assert (tmp_path / "audit").stat().st_mode & 0o777 == 0o700


def test_retention_prunes_old_events_only(tmp_path: Path) -> None:
    trail = AuditTrail(tmp_path, retention_days=1)
    record(trail, "DeleteFunction20150331")
    trail.database.close()
    raw = sqlite3.connect(tmp_path / "audit" / "audit.db")
    raw.execute("DROP TRIGGER events_no_update")  # age one event by hand, as two days would
    raw.execute("UPDATE events SET event_time = ?", (time.time() - 2 * 86400,))
    raw.commit()
    raw.close()
    trail = AuditTrail(tmp_path, retention_days=1)  # prunes at start
    record(trail)
    assert [e["EventName"] for e in trail.lookup()[0]] == ["CreateFunction20150331"]
