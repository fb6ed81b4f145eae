"""SQLite tables for CloudWatch metrics, alarms and the usage that cost is computed from.

A series is (namespace, name, dimensions, unit); its points are kept as AWS keeps them: 1-minute points
for 15 days, then 5-minute points for 63 days, then 1-hour points for 455 days, each point its sum,
sample count, minimum, maximum and log-linear histogram (JSON pairs), so roll-ups keep percentiles.
The space a function takes is bounded by its series times those retentions. Usage is kept per hour.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from .sqlite import Tables

SCHEMA = """
CREATE TABLE IF NOT EXISTS metric_series (
    id INTEGER PRIMARY KEY,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    dims TEXT NOT NULL,
    unit TEXT NOT NULL,
    last_ts INTEGER NOT NULL DEFAULT 0,
    UNIQUE (namespace, name, dims, unit)
);
CREATE TABLE IF NOT EXISTS metric_points (
    series INTEGER NOT NULL,
    period INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    sum REAL NOT NULL,
    count REAL NOT NULL,
    min REAL NOT NULL,
    max REAL NOT NULL,
    hist TEXT,
    PRIMARY KEY (series, period, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS metric_usage (
    hour INTEGER NOT NULL,
    function TEXT NOT NULL,
    version TEXT NOT NULL,
    architecture TEXT NOT NULL,
    memory_mb INTEGER NOT NULL,
    ephemeral_mb INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    billed_ms INTEGER NOT NULL,
    duration_ms REAL NOT NULL,
    provisioned_gb_s REAL NOT NULL DEFAULT 0,
    cpu_s REAL NOT NULL DEFAULT 0,
    memory_gb_s REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, function, version, architecture, memory_mb, ephemeral_mb)
);
CREATE TABLE IF NOT EXISTS metric_alarms (
    name TEXT PRIMARY KEY,
    config TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS metric_alarm_history (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    summary TEXT NOT NULL,
    data TEXT NOT NULL
);
"""

# (period, kept for, rolled into) as CloudWatch keeps Lambda's metrics
RETENTION = ((60, 15 * 86400, 300), (300, 63 * 86400, 3600), (3600, 455 * 86400, 0))
Row = tuple[float, float, float, float, str | None]  # sum, count, min, max, histogram JSON
Merge = Callable[[Row, Row], Row]


class MetricStore(Tables):
    SCHEMA = SCHEMA

    def __init__(self, database: Any) -> None:
        super().__init__(database)
        self._series: dict[tuple[str, str, str, str], int] = {}

    def _series_id(self, db: Any, namespace: str, name: str, dims: str, unit: str, ts: int) -> int:
        key = (namespace, name, dims, unit)
        found = self._series.get(key)
        if found is None:
            db.execute("INSERT OR IGNORE INTO metric_series (namespace, name, dims, unit) VALUES (?, ?, ?, ?)", key)
            found = db.execute(
                "SELECT id FROM metric_series WHERE namespace = ? AND name = ? AND dims = ? AND unit = ?", key
            ).fetchone()[0]
            self._series[key] = found
        db.execute("UPDATE metric_series SET last_ts = max(last_ts, ?) WHERE id = ?", (ts, found))
        return found

    def add_points(self, points: Iterable[tuple[str, str, str, str, int, Row]], merge: Merge) -> None:
        """Add 1-minute points to what is stored for the same minute (``merge`` joins two rows)."""
        with self.transaction() as db:
            for namespace, name, dims, unit, ts, row in points:
                series = self._series_id(db, namespace, name, dims, unit, ts)
                old = db.execute(
                    "SELECT sum, count, min, max, hist FROM metric_points WHERE series = ? AND period = 60 AND ts = ?",
                    (series, ts),
                ).fetchone()
                total = merge(old, row) if old else row
                db.execute(
                    "INSERT OR REPLACE INTO metric_points VALUES (?, 60, ?, ?, ?, ?, ?, ?)", (series, ts, *total)
                )

    def add_usage(self, rows: Iterable[tuple[tuple[int, str, str, str, int, int], tuple[int, int, float]]]) -> None:
        with self.transaction() as db:
            for key, (requests, billed, duration) in rows:
                db.execute(
                    "INSERT INTO metric_usage (hour, function, version, architecture, memory_mb, ephemeral_mb, "
                    "requests, billed_ms, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT DO UPDATE SET requests = requests + excluded.requests, "
                    "billed_ms = billed_ms + excluded.billed_ms, duration_ms = duration_ms + excluded.duration_ms",
                    (*key, requests, billed, duration),
                )

    def add_resources(self, hour: int, function: str, version: str, column: str, amount: float) -> None:
        """Provisioned GB-s, or the CPU-seconds and memory GB-s an environment used (cgroups), to an hour."""
        assert column in ("provisioned_gb_s", "cpu_s", "memory_gb_s")
        self.write(
            "INSERT INTO metric_usage (hour, function, version, architecture, memory_mb, ephemeral_mb, requests, "
            f"billed_ms, duration_ms, {column}) VALUES (?, ?, ?, '', 0, 0, 0, 0, 0, ?) "
            f"ON CONFLICT DO UPDATE SET {column} = {column} + excluded.{column}",
            (hour, function, version, amount),
        )

    def usage(self, since: int, until: int, function: str | None = None) -> list[tuple[Any, ...]]:
        sql = (
            "SELECT hour, function, version, architecture, memory_mb, ephemeral_mb, requests, billed_ms, "
            "duration_ms, provisioned_gb_s, cpu_s, memory_gb_s FROM metric_usage WHERE hour >= ? AND hour < ?"
        )
        parameters: tuple[Any, ...] = (since, until)
        if function:
            sql += " AND function = ?"
            parameters += (function,)
        return self.rows(sql + " ORDER BY function, hour", parameters)

    def series(self, namespace: str | None = None, name: str | None = None, since: int = 0) -> list[tuple[Any, ...]]:
        sql = "SELECT id, namespace, name, dims, unit FROM metric_series WHERE last_ts >= ?"
        parameters: tuple[Any, ...] = (since,)
        if namespace:
            sql += " AND namespace = ?"
            parameters += (namespace,)
        if name:
            sql += " AND name = ?"
            parameters += (name,)
        return self.rows(sql + " ORDER BY namespace, name, dims", parameters)

    def points(self, series: list[int], start: int, end: int) -> list[tuple[Any, ...]]:
        """Every stored point of these series in [start, end), at whatever resolution is left of it."""
        if not series:
            return []
        marks = ",".join("?" * len(series))
        return self.rows(
            f"SELECT series, period, ts, sum, count, min, max, hist FROM metric_points WHERE series IN ({marks}) "
            "AND ts >= ? AND ts < ? ORDER BY ts",
            (*series, start, end),
        )

    def roll_up(self, now: float, merge: Merge) -> None:
        """Points past their resolution's retention join the next resolution's point, or go."""
        for period, kept, into in RETENTION:
            cutoff = int(now - kept)
            with self.transaction() as db:
                old = db.execute(
                    "SELECT series, ts, sum, count, min, max, hist FROM metric_points WHERE period = ? AND ts < ?",
                    (period, cutoff),
                ).fetchall()
                db.execute("DELETE FROM metric_points WHERE period = ? AND ts < ?", (period, cutoff))
                for series, ts, *row in old if into else ():
                    at = ts // into * into
                    found = db.execute(
                        "SELECT sum, count, min, max, hist FROM metric_points WHERE series = ? AND period = ? "
                        "AND ts = ?",
                        (series, into, at),
                    ).fetchone()
                    total = merge(found, tuple(row)) if found else tuple(row)
                    db.execute(
                        "INSERT OR REPLACE INTO metric_points VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (series, into, at, *total),
                    )
        self.write("DELETE FROM metric_usage WHERE hour < ?", (int(now - RETENTION[-1][1]),))

    # ---------------------------------------------------------------- alarms
    def alarms(self) -> list[dict[str, Any]]:
        return [json.loads(row[0]) for row in self.rows("SELECT config FROM metric_alarms ORDER BY name")]

    def save_alarm(self, alarm: dict[str, Any]) -> None:
        self.write(
            "INSERT OR REPLACE INTO metric_alarms (name, config) VALUES (?, ?)", (alarm["AlarmName"], json.dumps(alarm))
        )

    def delete_alarm(self, name: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM metric_alarms WHERE name = ?", (name,))
            db.execute("DELETE FROM metric_alarm_history WHERE name = ?", (name,))

    def add_history(self, name: str, ts: float, kind: str, summary: str, data: str) -> None:
        self.write(
            "INSERT INTO metric_alarm_history (name, ts, kind, summary, data) VALUES (?, ?, ?, ?, ?)",
            (name, ts, kind, summary, data),
        )

    def history(self, name: str | None, kind: str | None, start: float, end: float) -> list[tuple[Any, ...]]:
        sql = "SELECT name, ts, kind, summary, data FROM metric_alarm_history WHERE ts >= ? AND ts < ?"
        parameters: tuple[Any, ...] = (start, end)
        if name:
            sql += " AND name = ?"
            parameters += (name,)
        if kind:
            sql += " AND kind = ?"
            parameters += (kind,)
        return self.rows(sql + " ORDER BY ts DESC, id DESC", parameters)
