"""How one invocation (or one init) ended, as the invoker reports it: the caller's payload and what
REPORT, the JSON platform records and the Telemetry API say about it."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import function_error
from .channel import Frame


@dataclass(frozen=True)
class Outcome:
    body: bytes  # the function's result, or its error in Lambda's shape
    function_error: str | None = None  # ``X-Amz-Function-Error``: Unhandled (or Handled) when it failed
    status: str | None = None  # REPORT's Status when the environment failed it: ``timeout`` or ``error``
    error_type: str | None = None  # REPORT's Error Type, with ``status`` ``error``
    max_rss_kb: int | None = None  # the runtime's resident high-water mark, when it reported one

    @classmethod
    def answered(cls, frame: Frame) -> Outcome:
        """What the runtime answered (a ``result`` or ``error`` frame)."""
        return cls(frame.body, frame.header.get("function_error"), max_rss_kb=frame.header.get("max_rss_kb"))

    @classmethod
    def failed(cls, error_type: str, message: str, *, timeout: bool = False, max_rss_kb: int | None = None) -> Outcome:
        """A failure the environment reports for the function: a timeout, a crash, an oversized response."""
        body = function_error(error_type, message)
        if timeout:
            return cls(body, "Unhandled", "timeout", max_rss_kb=max_rss_kb)
        return cls(body, "Unhandled", "error", error_type, max_rss_kb)

    @property
    def platform_status(self) -> str:
        """``status`` of the ``platform.runtimeDone`` and ``platform.report`` records."""
        return self.status or ("error" if self.function_error else "success")
