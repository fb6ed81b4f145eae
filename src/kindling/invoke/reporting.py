"""What Lambda writes about each invocation: START, END and REPORT lines (LogFormat Text), or the
``platform.start``, ``platform.runtimeDone`` and ``platform.report`` records (LogFormat JSON).

A cold start's REPORT carries Init Duration; an environment restored from a SnapStart snapshot
reports (and bills) Restore Duration instead (``RestoredReporting``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

from ..logs.platform import PlatformLog, RestoredPlatformLog, billed_ms
from ..models import FunctionVersion
from .outcome import Outcome


class Ended(NamedTuple):
    """What END and REPORT say about one finished invocation."""

    request_id: str
    duration_ms: float
    init_ms: float | None
    outcome: Outcome


class Reporting:
    platform_log = PlatformLog

    def __init__(
        self, version: FunctionVersion, write: Callable[[str], None], peak_mb: Callable[[], int | None]
    ) -> None:
        self.version = version
        self.write = write
        self.peak_mb = peak_mb  # the sandbox's peak memory, when it measures one
        # LogFormat JSON: platform records; None (Text) keeps the hot path as it was
        self._platform = self.platform_log(version.system_log_level, write) if version.log_format == "JSON" else None

    def start(self, request_id: str) -> None:
        if self._platform is None:
            self.write(f"START RequestId: {request_id} Version: {self.version.version}")
        else:
            self._platform.start(request_id, self.version.version)

    def end(self, ended: Ended) -> int:
        """END and REPORT (or their records); returns the memory used, in MB, that REPORT gave."""
        request_id, duration, init_ms, outcome = ended
        used = self.memory_used(outcome)
        if self._platform is None:
            self.write(f"END RequestId: {request_id}")
            self.write(self._report(request_id, duration, init_ms, outcome, used))
        else:
            status, error_type = outcome.platform_status, outcome.error_type
            self._platform.done(request_id, duration, init_ms, status, error_type, self.version.memory_size, used)
        return used

    def memory_used(self, outcome: Outcome) -> int:
        """The runtime's resident high-water mark (zygote pages included, as a fresh process would have
        them) or the sandbox's peak (children and /tmp included), whichever is higher, in MB."""
        return max(self.peak_mb() or 0, round((outcome.max_rss_kb or 0) / 1024), 1)

    def _report(self, request_id: str, duration: float, init_ms: float | None, outcome: Outcome, used: int) -> str:
        billed, cold_start = self._cold_start(duration, init_ms)
        parts = [
            f"REPORT RequestId: {request_id}",
            f"Duration: {duration:.2f} ms",
            f"Billed Duration: {billed} ms",
            f"Memory Size: {self.version.memory_size} MB",
            f"Max Memory Used: {used} MB",
            *cold_start,
        ]
        if outcome.status == "timeout":
            parts.append("Status: timeout")
        elif outcome.status == "error":
            parts.append(f"Status: error\tError Type: {outcome.error_type}")
        return "\t".join(parts)

    def _cold_start(self, duration: float, init_ms: float | None) -> tuple[int, list[str]]:
        """Billed Duration (init included, as on Lambda since 2025) and the REPORT fields of a cold start."""
        return billed_ms(duration, init_ms), [] if init_ms is None else [f"Init Duration: {init_ms:.2f} ms"]


class RestoredReporting(Reporting):
    platform_log = RestoredPlatformLog

    def _cold_start(self, duration: float, init_ms: float | None) -> tuple[int, list[str]]:
        if init_ms is None:
            return billed_ms(duration, None), []
        restore = [f"Restore Duration: {init_ms:.2f} ms", f"Billed Restore Duration: {math.ceil(init_ms)} ms"]
        return billed_ms(duration, None), restore
