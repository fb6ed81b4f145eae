"""SQLite store for code signing: the configurations, which function uses which, and the signing profiles
(a name, its version and the certificate whose key signs packages)."""

from __future__ import annotations

import json
from typing import Any

from .sqlite import Tables

SCHEMA = """
CREATE TABLE IF NOT EXISTS code_signing_configs (
    id TEXT PRIMARY KEY,
    config TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS function_code_signing (
    function TEXT PRIMARY KEY REFERENCES functions(name) ON DELETE CASCADE,
    config_id TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS signing_profiles (
    name TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    certificate TEXT NOT NULL
);
"""


class SigningStore(Tables):
    SCHEMA = SCHEMA

    # ------------------------------------------------------------ configurations
    def save_config(self, config_id: str, config: dict[str, Any]) -> None:
        self.write(
            "INSERT OR REPLACE INTO code_signing_configs (id, config) VALUES (?, ?)", (config_id, json.dumps(config))
        )

    def config(self, config_id: str) -> dict[str, Any] | None:
        rows = self.rows("SELECT config FROM code_signing_configs WHERE id = ?", (config_id,))
        return json.loads(rows[0][0]) if rows else None

    def configs(self) -> list[dict[str, Any]]:
        return [json.loads(row[0]) for row in self.rows("SELECT config FROM code_signing_configs ORDER BY id")]

    def delete_config(self, config_id: str) -> None:
        self.write("DELETE FROM code_signing_configs WHERE id = ?", (config_id,))

    # ----------------------------------------------------------------- functions
    def attach(self, function: str, config_id: str | None) -> None:
        if config_id is None:
            self.write("DELETE FROM function_code_signing WHERE function = ?", (function,))
            return
        self.write(
            "INSERT OR REPLACE INTO function_code_signing (function, config_id) VALUES (?, ?)", (function, config_id)
        )

    def config_of(self, function: str) -> str | None:
        rows = self.rows("SELECT config_id FROM function_code_signing WHERE function = ?", (function,))
        return rows[0][0] if rows else None

    def functions_using(self, config_id: str) -> list[str]:
        rows = self.rows(
            "SELECT function FROM function_code_signing WHERE config_id = ? ORDER BY function", (config_id,)
        )
        return [row[0] for row in rows]

    # ------------------------------------------------------------------ profiles
    def save_profile(self, name: str, version: str, certificate: str) -> None:
        self.write(
            "INSERT OR REPLACE INTO signing_profiles (name, version, certificate) VALUES (?, ?, ?)",
            (name, version, certificate),
        )

    def profiles(self) -> list[tuple[str, str, str]]:
        return [
            (n, v, c) for n, v, c in self.rows("SELECT name, version, certificate FROM signing_profiles ORDER BY name")
        ]
