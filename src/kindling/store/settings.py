"""SQLite store for per-version settings that only need to be kept and returned: the runtime management and
scaling configurations of a function's versions. Rows go with their function (``ON DELETE CASCADE``)."""

from __future__ import annotations

import json
from typing import Any

from .sqlite import Tables

SCHEMA = """
CREATE TABLE IF NOT EXISTS function_settings (
    function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    PRIMARY KEY (function, qualifier, kind)
);
"""


class SettingsStore(Tables):
    SCHEMA = SCHEMA

    def save(self, function: str, qualifier: str, kind: str, config: dict[str, Any]) -> None:
        self.write(
            "INSERT OR REPLACE INTO function_settings (function, qualifier, kind, config) VALUES (?, ?, ?, ?)",
            (function, qualifier, kind, json.dumps(config)),
        )

    def get(self, function: str, qualifier: str, kind: str) -> dict[str, Any] | None:
        rows = self.rows(
            "SELECT config FROM function_settings WHERE function = ? AND qualifier = ? AND kind = ?",
            (function, qualifier, kind),
        )
        return json.loads(rows[0][0]) if rows else None
