"""The queue's timings and limits, read once from the environment (the CLI will grow flags for them).

AWS's own values are the defaults; tests shrink the delays so that a retry takes a fraction of a second.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_RETRY_ATTEMPTS = 2
DEFAULT_EVENT_AGE_S = 21_600


def _number(environ: dict[str, str], key: str, default: float) -> float:
    raw = environ.get(key)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"{key} must be a number of seconds, not {raw!r}") from None
    if value < 0:
        raise SystemExit(f"{key} must not be negative")
    return value


@dataclass(frozen=True)
class QueueSettings:
    retry_base_s: float = 60.0  # function errors: retry n waits n x this (AWS: 1 min, then 2 min)
    backoff_min_s: float = 1.0  # throttles and platform errors: first delay, doubled each time ...
    backoff_max_s: float = 300.0  # ... up to this
    concurrency: int = 32  # attempts in flight at once, whatever the account limit allows
    drain_s: float = 10.0  # at shutdown, how long running attempts may finish before they are stopped
    sqs_endpoint: str = ""  # where SQS destinations and dead-letter queues are reached
    sqs_keys: tuple[str, str] = ("kindling", "kindling")  # the platform's keys there (the server's root keys)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> QueueSettings:
        env = dict(os.environ if environ is None else environ)
        return cls(
            retry_base_s=_number(env, "KINDLING_ASYNC_RETRY_BASE_S", cls.retry_base_s),
            backoff_min_s=_number(env, "KINDLING_ASYNC_BACKOFF_MIN_S", cls.backoff_min_s),
            backoff_max_s=_number(env, "KINDLING_ASYNC_BACKOFF_MAX_S", cls.backoff_max_s),
            concurrency=max(1, int(_number(env, "KINDLING_ASYNC_CONCURRENCY", cls.concurrency))),
            drain_s=_number(env, "KINDLING_ASYNC_DRAIN_S", cls.drain_s),
            sqs_endpoint=env.get("KINDLING_SQS_ENDPOINT", ""),
        )

    def retry_delay(self, attempts: int) -> float:
        """Delay before the next try after ``attempts`` function errors: 1 x base, then 2 x base."""
        return self.retry_base_s * attempts

    def backoff_delay(self, backoffs: int) -> float:
        """Delay after the ``backoffs``-th throttle or platform error in a row: 1 s, 2 s, 4 s ... 5 min."""
        return min(self.backoff_max_s, self.backoff_min_s * 2 ** max(0, backoffs - 1))
