"""Lambda's platform records in the JSON log format (``LoggingConfig.LogFormat = JSON``).

With JSON, AWS replaces the START / END / REPORT lines by ``platform.start``, ``platform.runtimeDone``
and ``platform.report`` objects (``{"time", "type", "record"}``), all at level INFO, so a
``SystemLogLevel`` of WARN leaves them out. Text functions never build one of these.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from .streams import iso_now


def billed_ms(duration_ms: float, init_ms: float | None) -> int:
    """Billed Duration: the invocation plus a cold start's init, rounded up to 1 ms."""
    return math.ceil(duration_ms + (init_ms or 0))


class PlatformLog:
    def __init__(self, system_level: str, write: Callable[[str], None]) -> None:
        self.write = write if system_level in ("DEBUG", "INFO") else None

    def _emit(self, kind: str, record: dict) -> None:
        if self.write is not None:
            self.write(json.dumps({"time": iso_now(), "type": kind, "record": record}))

    def start(self, request_id: str, version: str) -> None:
        self._emit("platform.start", {"requestId": request_id, "version": version})

    def done(self, request_id: str, duration_ms: float, init_ms: float | None, status: str, error_type: str | None,
             memory_mb: int, used_mb: int) -> None:  # fmt: skip
        """``platform.runtimeDone`` and ``platform.report`` of one invocation, from how it ended."""
        base = {"requestId": request_id, "status": status}
        if error_type:
            base["errorType"] = error_type
        billed, cold_start = self._cold_start(duration_ms, init_ms)
        metrics = {
            "durationMs": round(duration_ms, 2),
            "billedDurationMs": billed,
            "memorySizeMB": memory_mb,
            "maxMemoryUsedMB": used_mb,
            **cold_start,
        }
        self._emit("platform.runtimeDone", {**base, "metrics": {"durationMs": metrics["durationMs"]}})
        self._emit("platform.report", {**base, "metrics": metrics})

    def _cold_start(self, duration_ms: float, init_ms: float | None) -> tuple[int, dict]:
        """``billedDurationMs`` and the metrics of a cold start (none on a warm invocation)."""
        return billed_ms(duration_ms, init_ms), {} if init_ms is None else {"initDurationMs": round(init_ms, 2)}


class RestoredPlatformLog(PlatformLog):
    """An environment restored from a SnapStart snapshot reports (and bills) a restore instead of an init."""

    def _cold_start(self, duration_ms: float, init_ms: float | None) -> tuple[int, dict]:
        if init_ms is None:
            return billed_ms(duration_ms, None), {}
        restore = {"restoreDurationMs": round(init_ms, 2), "billedRestoreDurationMs": math.ceil(init_ms)}
        return billed_ms(duration_ms, None), restore
