"""SQLite (WAL) store for functions and their versions.

Records go in as JSON documents keyed by name and version: the schema stays small while
the configuration grows with the API, and each write is one transaction.
"""

from __future__ import annotations

import json

from ..models import Alias, FunctionVersion
from .sealed import Sealer
from .sqlite import Database, Tables

SCHEMA = """
CREATE TABLE IF NOT EXISTS functions (
    name TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '{}',
    reserved_concurrency INTEGER,
    last_version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS versions (
    function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    version TEXT NOT NULL,
    config TEXT NOT NULL,
    PRIMARY KEY (function, version)
);
CREATE TABLE IF NOT EXISTS provisioned (
    function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    requested INTEGER NOT NULL,
    last_modified TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
CREATE TABLE IF NOT EXISTS aliases (
    function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    PRIMARY KEY (function, name)
);
"""


class Store(Tables):
    SCHEMA = SCHEMA
    MIGRATIONS = (
        ("functions", "reserved_concurrency", "INTEGER"),
        ("functions", "last_version", "INTEGER NOT NULL DEFAULT 0"),
    )

    def __init__(self, database: Database, sealer: Sealer) -> None:
        super().__init__(database)
        self.sealer = sealer

    def _row(self, record: FunctionVersion) -> str:
        """A version as stored: its environment variables sealed (no plaintext value in the database)."""
        row = record.to_row()
        row["environment"] = self.sealer.seal(record.environment, f"{record.name}:{record.version}", record.kms_key_arn)
        return json.dumps(row)

    def _record(self, config: str) -> FunctionVersion:
        row = json.loads(config)
        row["environment"] = self.sealer.open(row.get("environment") or {}, f"{row['name']}:{row['version']}")
        return FunctionVersion.from_row(row)

    def insert_function(self, latest: FunctionVersion, created: str, tags: dict[str, str]) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO functions (name, created, tags) VALUES (?, ?, ?)",
                (latest.name, created, json.dumps(tags)),
            )
            db.execute(
                "INSERT INTO versions (function, version, config) VALUES (?, ?, ?)",
                (latest.name, latest.version, self._row(latest)),
            )

    def save_version(self, record: FunctionVersion) -> None:
        self.write(
            "INSERT OR REPLACE INTO versions (function, version, config) VALUES (?, ?, ?)",
            (record.name, record.version, self._row(record)),
        )

    def publish_version(self, record: FunctionVersion) -> None:
        """Store a new published version and remember its number, so numbers are never reused."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO versions (function, version, config) VALUES (?, ?, ?)",
                (record.name, record.version, self._row(record)),
            )
            db.execute("UPDATE functions SET last_version = ? WHERE name = ?", (int(record.version), record.name))

    def delete_version(self, name: str, version: str) -> None:
        self.write("DELETE FROM versions WHERE function = ? AND version = ?", (name, version))

    def last_versions(self) -> dict[str, int]:
        return dict(self.rows("SELECT name, last_version FROM functions"))

    def save_provisioned(self, function: str, qualifier: str, requested: int, last_modified: str) -> None:
        self.write(
            "INSERT OR REPLACE INTO provisioned VALUES (?, ?, ?, ?)", (function, qualifier, requested, last_modified)
        )

    def delete_provisioned(self, function: str, qualifier: str) -> None:
        self.write("DELETE FROM provisioned WHERE function = ? AND qualifier = ?", (function, qualifier))

    def all_provisioned(self) -> list[tuple[str, str, int, str]]:
        return self.rows("SELECT function, qualifier, requested, last_modified FROM provisioned")

    def save_alias(self, alias: Alias) -> None:
        self.write(
            "INSERT OR REPLACE INTO aliases (function, name, config) VALUES (?, ?, ?)",
            (alias.function_name, alias.name, json.dumps(alias.to_row())),
        )

    def delete_alias(self, function_name: str, name: str) -> None:
        self.write("DELETE FROM aliases WHERE function = ? AND name = ?", (function_name, name))

    def all_aliases(self) -> list[Alias]:
        return [Alias.from_row(json.loads(row[0])) for row in self.rows("SELECT config FROM aliases ORDER BY 1")]

    def delete_function(self, name: str) -> None:
        self.write("DELETE FROM functions WHERE name = ?", (name,))

    def set_reserved_concurrency(self, name: str, value: int | None) -> None:
        self.write("UPDATE functions SET reserved_concurrency = ? WHERE name = ?", (value, name))

    def reserved_concurrency(self) -> dict[str, int]:
        return dict(
            self.rows("SELECT name, reserved_concurrency FROM functions WHERE reserved_concurrency IS NOT NULL")
        )

    def tags(self, name: str) -> dict[str, str]:
        found = self.rows("SELECT tags FROM functions WHERE name = ?", (name,))
        return json.loads(found[0][0]) if found else {}

    def all_versions(self) -> list[FunctionVersion]:
        rows = self.rows("SELECT config FROM versions ORDER BY function, version")
        return [self._record(row[0]) for row in rows]
