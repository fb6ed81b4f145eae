"""Timestamps as the Lambda API writes them: ``2024-05-20T16:29:45.008+0000``."""

from __future__ import annotations

import time


def timestamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}+0000"
