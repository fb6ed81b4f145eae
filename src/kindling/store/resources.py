"""SQLite (WAL) store for what hangs off a function: URLs, resource policies, recursion settings,
tags, and Kindling's own HTTP route tables.

Tables in the same database as ``store/db.py``; rows that belong to a function
reference ``functions(name)`` with ``ON DELETE CASCADE``, so deleting a function removes them
in the same transaction, whichever connection deletes it.
"""

from __future__ import annotations

import json
from typing import Any

from .sqlite import Tables

SCHEMA = """
CREATE TABLE IF NOT EXISTS function_urls (
    function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    config TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
CREATE TABLE IF NOT EXISTS policies (
    function TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    statements TEXT NOT NULL,
    revision_id TEXT NOT NULL,
    PRIMARY KEY (function, qualifier)
);
CREATE TABLE IF NOT EXISTS recursion (
    function TEXT PRIMARY KEY REFERENCES functions(name) ON DELETE CASCADE,
    mode TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS http_apis (
    api_id TEXT PRIMARY KEY,
    config TEXT NOT NULL
);
"""


class ResourceStore(Tables):
    SCHEMA = SCHEMA

    # ------------------------------------------------------------ function URLs
    def save_url(self, function: str, qualifier: str, config: dict[str, Any]) -> None:
        self.write(
            "INSERT OR REPLACE INTO function_urls (function, qualifier, config) VALUES (?, ?, ?)",
            (function, qualifier, json.dumps(config)),
        )

    def delete_url(self, function: str, qualifier: str) -> None:
        self.write("DELETE FROM function_urls WHERE function = ? AND qualifier = ?", (function, qualifier))

    def all_urls(self) -> list[dict[str, Any]]:
        return [json.loads(row[0]) for row in self.rows("SELECT config FROM function_urls ORDER BY function")]

    # ---------------------------------------------------------------- policies
    def save_policy(self, function: str, qualifier: str, statements: list[dict[str, Any]], revision: str) -> None:
        if not statements:
            self.write("DELETE FROM policies WHERE function = ? AND qualifier = ?", (function, qualifier))
            return
        self.write(
            "INSERT OR REPLACE INTO policies (function, qualifier, statements, revision_id) VALUES (?, ?, ?, ?)",
            (function, qualifier, json.dumps(statements), revision),
        )

    def all_policies(self) -> list[tuple[str, str, list[dict[str, Any]], str]]:
        rows = self.rows("SELECT function, qualifier, statements, revision_id FROM policies")
        return [(f, q, json.loads(s), r) for f, q, s, r in rows]

    # --------------------------------------------------------------- recursion
    def set_recursion(self, function: str, mode: str) -> None:
        self.write("INSERT OR REPLACE INTO recursion (function, mode) VALUES (?, ?)", (function, mode))

    def all_recursion(self) -> dict[str, str]:
        return dict(self.rows("SELECT function, mode FROM recursion"))

    # -------------------------------------------------------------------- tags
    def set_tags(self, function: str, tags: dict[str, str]) -> None:
        """Tags live in the ``functions`` row, where CreateFunction put them and GetFunction reads them."""
        self.write("UPDATE functions SET tags = ? WHERE name = ?", (json.dumps(tags), function))

    # --------------------------------------------------------------- HTTP APIs
    def save_api(self, api_id: str, config: dict[str, Any]) -> None:
        self.write("INSERT OR REPLACE INTO http_apis (api_id, config) VALUES (?, ?)", (api_id, json.dumps(config)))

    def delete_api(self, api_id: str) -> None:
        self.write("DELETE FROM http_apis WHERE api_id = ?", (api_id,))

    def all_apis(self) -> list[dict[str, Any]]:
        return [json.loads(row[0]) for row in self.rows("SELECT config FROM http_apis ORDER BY api_id")]
