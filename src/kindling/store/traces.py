"""SQLite table for X-Ray trace segments: the documents functions send (``PutTraceSegments``, the daemon's
UDP port) and the platform's own segments for each sampled invocation, kept as X-Ray keeps them (30 days)
and bounded in number, the oldest going first.
"""

from __future__ import annotations

from collections.abc import Iterable

from .sqlite import Tables

RETENTION_S = 30 * 86400
MAX_SEGMENTS = 200_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS trace_segments (
    seq INTEGER PRIMARY KEY,
    trace_id TEXT NOT NULL,
    trace_time INTEGER NOT NULL,
    id TEXT NOT NULL,
    start REAL NOT NULL,
    received REAL NOT NULL,
    document TEXT NOT NULL,
    UNIQUE (trace_id, id)
);
CREATE INDEX IF NOT EXISTS trace_segments_start ON trace_segments (start);
CREATE INDEX IF NOT EXISTS trace_segments_time ON trace_segments (trace_time);
"""

Row = tuple[str, str, float, float, str]  # trace id, segment id, start, received, document (JSON)


class TraceStore(Tables):
    SCHEMA = SCHEMA

    def put(self, rows: Iterable[Row], now: float) -> None:
        """Save segments (a segment sent again under the same id replaces the first: in progress, then done)."""
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO trace_segments (trace_id, trace_time, id, start, received, document) "
                "VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (trace_id, id) DO UPDATE SET start = excluded.start, received = excluded.received, "
                "document = excluded.document",
                [(trace_id, int(trace_id[2:10], 16), *rest) for trace_id, *rest in rows],
            )
            db.execute("DELETE FROM trace_segments WHERE received < ?", (now - RETENTION_S,))
            db.execute(
                "DELETE FROM trace_segments WHERE seq <= (SELECT MAX(seq) FROM trace_segments) - ?", (MAX_SEGMENTS,)
            )

    def trace_ids(self, start: float, end: float, by_trace_time: bool = True) -> list[str]:
        """Traces in [start, end): by the time in their id (when they began), or with a segment that started
        then; newest first."""
        column = "trace_time" if by_trace_time else "start"
        found = self.rows(
            f"SELECT trace_id, MAX(start) AS last FROM trace_segments WHERE {column} >= ? AND {column} < ? "
            "GROUP BY trace_id ORDER BY last DESC",
            (start, end),
        )
        return [row[0] for row in found]

    def documents(self, trace_ids: list[str]) -> dict[str, list[str]]:
        """Each trace's documents (JSON), in the order they arrived."""
        if not trace_ids:
            return {}
        marks = ",".join("?" * len(trace_ids))
        found: dict[str, list[str]] = {}
        for trace_id, document in self.rows(
            f"SELECT trace_id, document FROM trace_segments WHERE trace_id IN ({marks}) ORDER BY seq", tuple(trace_ids)
        ):
            found.setdefault(trace_id, []).append(document)
        return found
