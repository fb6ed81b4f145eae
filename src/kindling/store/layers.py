"""SQLite tables for layers: every version as a JSON document, and each layer's last number.

Tables in ``<data>/kindling.db``. The last number outlives deleted versions,
so a layer never hands out the same version number twice, as on AWS.
"""

from __future__ import annotations

import json
from typing import Any

from .sqlite import Tables

SCHEMA = """
CREATE TABLE IF NOT EXISTS layers (
    name TEXT PRIMARY KEY,
    last_version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS layer_versions (
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    config TEXT NOT NULL,
    PRIMARY KEY (name, version)
);
"""


class LayerStore(Tables):
    SCHEMA = SCHEMA

    def next_version(self, name: str, build: Any) -> dict[str, Any]:
        """Number, build (``build(version) -> record``) and save the next version, in one transaction."""
        with self.transaction() as db:
            row = db.execute("SELECT last_version FROM layers WHERE name = ?", (name,)).fetchone()
            version = (row[0] if row else 0) + 1
            record = build(version)
            db.execute(
                "INSERT INTO layers (name, last_version) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET last_version = excluded.last_version",
                (name, version),
            )
            db.execute(
                "INSERT INTO layer_versions (name, version, config) VALUES (?, ?, ?)",
                (name, version, json.dumps(record)),
            )
        return record

    def save(self, record: dict[str, Any]) -> None:
        self.write(
            "UPDATE layer_versions SET config = ? WHERE name = ? AND version = ?",
            (json.dumps(record), record["name"], record["version"]),
        )

    def delete(self, name: str, version: int) -> None:
        self.write("DELETE FROM layer_versions WHERE name = ? AND version = ?", (name, version))

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(row[0]) for row in self.rows("SELECT config FROM layer_versions ORDER BY name, version")]
