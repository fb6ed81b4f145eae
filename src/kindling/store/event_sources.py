"""Event source mappings and their pollers' checkpoints, in the shared database.

A mapping is kept as its configuration (JSON); a checkpoint is the last sequence number of a shard whose
records have all been handled, written before the next batch of that shard is read, so a restarted poller
carries on after it (nothing processed twice after a clean stop, nothing skipped after a crash).
Mappings outlive their function, as on AWS: no foreign key to ``functions``.
"""

from __future__ import annotations

import json
from typing import Any

from .sqlite import Tables


class MappingStore(Tables):
    SCHEMA = """
    CREATE TABLE IF NOT EXISTS event_source_mappings (uuid TEXT PRIMARY KEY, config TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS event_source_checkpoints (
        uuid TEXT NOT NULL REFERENCES event_source_mappings(uuid) ON DELETE CASCADE,
        shard TEXT NOT NULL,
        sequence TEXT NOT NULL,
        PRIMARY KEY (uuid, shard)
    );
    """

    def save(self, uuid: str, config: dict[str, Any]) -> None:
        self.write(
            "INSERT INTO event_source_mappings (uuid, config) VALUES (?, ?)"
            " ON CONFLICT (uuid) DO UPDATE SET config = excluded.config",  # a REPLACE would drop the checkpoints
            (uuid, json.dumps(config)),
        )

    def delete(self, uuid: str) -> None:
        self.write("DELETE FROM event_source_mappings WHERE uuid = ?", (uuid,))

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(row[0]) for row in self.rows("SELECT config FROM event_source_mappings")]

    def checkpoints(self, uuid: str) -> dict[str, str]:
        return dict(self.rows("SELECT shard, sequence FROM event_source_checkpoints WHERE uuid = ?", (uuid,)))

    def checkpoint(self, uuid: str, shard: str, sequence: str) -> None:
        self.write(
            "INSERT OR REPLACE INTO event_source_checkpoints (uuid, shard, sequence) VALUES (?, ?, ?)",
            (uuid, shard, sequence),
        )
