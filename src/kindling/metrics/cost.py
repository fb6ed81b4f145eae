"""What the recorded usage would cost on AWS Lambda, priced from ``prices.json`` (its source and date are in
the file), and what it used here (CPU-seconds and memory GB-seconds from the environments' cgroups).

Billed GB-seconds are each invocation's billed duration (1 ms steps, init included as Lambda bills it now)
times its memory; duration tiers apply per architecture and month. The free tier (1M requests and 400,000
GB-seconds a month per account) is used up in time order from the first of each month, so a range inside a
month gets only what is left of it, and it is applied once, to the total, never per function.
"""

from __future__ import annotations

import calendar
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..store.metrics import MetricStore

PRICES = json.loads((Path(__file__).with_name("prices.json")).read_text())
DIGITS = 10  # the JSON keeps fractions of a cent: small workloads cost little


def month_bounds(month: str) -> tuple[int, int]:
    """``YYYY-MM`` -> [first second, first second of the next month) in UTC."""
    year, number = (int(part) for part in month.split("-"))
    if not 1 <= number <= 12:
        raise ValueError(month)
    start = calendar.timegm((year, number, 1, 0, 0, 0))
    end = calendar.timegm((year + number // 12, number % 12 + 1, 1, 0, 0, 0))
    return start, end


def _month_start(ts: int) -> int:
    moment = time.gmtime(ts)
    return calendar.timegm((moment.tm_year, moment.tm_mon, 1, 0, 0, 0))


def duration_rate(architecture: str, used_before: float) -> float:
    """The price of the next GB-second of an architecture, after ``used_before`` this month."""
    tiers = PRICES["duration_per_gb_second"].get(architecture) or PRICES["duration_per_gb_second"]["x86_64"]
    floor = 0.0
    for size, rate in tiers:
        if size is None or used_before < floor + size:
            return rate
        floor += size
    return tiers[-1][1]


@dataclass
class FunctionCost:
    name: str
    requests: int = 0
    gb_seconds: float = 0.0
    provisioned_gb_seconds: float = 0.0
    ephemeral_gb_seconds: float = 0.0
    cost_usd: float = 0.0
    cpu_seconds: float = 0.0
    memory_gb_seconds_used: float = 0.0
    versions: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "requests": self.requests,
            "gb_seconds": round(self.gb_seconds, DIGITS),
            "provisioned_gb_seconds": round(self.provisioned_gb_seconds, DIGITS),
            "ephemeral_gb_seconds": round(self.ephemeral_gb_seconds, DIGITS),
            "cost_usd": round(self.cost_usd, DIGITS),
            "here": {
                "cpu_seconds": round(self.cpu_seconds, 6),
                "memory_gb_seconds": round(self.memory_gb_seconds_used, 6),
            },
            "versions": self.versions,
        }


def report(store: MetricStore, since: int, until: int, function: str | None = None) -> dict[str, Any]:
    """Costs of [since, until): per function (before the free tier) and in total (after it)."""
    functions: dict[str, FunctionCost] = {}
    free_requests = free_gb_s = 0.0  # used up inside the range
    free_usd = 0.0
    month = _month_start(since)
    while month < until:
        _, next_month = month_bounds(time.strftime("%Y-%m", time.gmtime(month)))
        left_requests = float(PRICES["free_tier"]["requests"])
        left_gb_s = float(PRICES["free_tier"]["gb_seconds"])
        used_by_arch: dict[str, float] = {}
        for row in store.usage(month, min(next_month, until)):  # the whole month so far: the free tier's order
            hour, name, version, arch, memory, ephemeral, requests, billed, _duration, provisioned, cpu, used = row
            gb_s = billed / 1000 * memory / 1024
            inside = hour >= since and (function is None or name == function)
            rate = duration_rate(arch or "x86_64", used_by_arch.get(arch, 0.0))
            used_by_arch[arch] = used_by_arch.get(arch, 0.0) + gb_s
            free_r, free_g = min(left_requests, requests), min(left_gb_s, gb_s)
            left_requests -= free_r
            left_gb_s -= free_g
            if not inside:
                continue
            free_requests += free_r
            free_gb_s += free_g
            free_usd += free_r * PRICES["requests_per_million"] / 1e6 + free_g * rate
            entry = functions.setdefault(name, FunctionCost(name))
            ephemeral_gb_s = max(0, ephemeral - 512) / 1024 * billed / 1000
            pc_rate = PRICES["provisioned_concurrency_per_gb_second"].get(arch or "x86_64", 0.0)
            cost = (
                requests * PRICES["requests_per_million"] / 1e6
                + gb_s * rate
                + ephemeral_gb_s * PRICES["ephemeral_storage_per_gb_second"]
                + provisioned * pc_rate
            )
            entry.requests += requests
            entry.gb_seconds += gb_s
            entry.ephemeral_gb_seconds += ephemeral_gb_s
            entry.provisioned_gb_seconds += provisioned
            entry.cost_usd += cost
            entry.cpu_seconds += cpu
            entry.memory_gb_seconds_used += used
            shown = entry.versions.setdefault(version, {"requests": 0, "gb_seconds": 0.0, "cost_usd": 0.0})
            shown["requests"] += requests
            shown["gb_seconds"] = round(shown["gb_seconds"] + gb_s, DIGITS)
            shown["cost_usd"] = round(shown["cost_usd"] + cost, DIGITS)
        month = next_month
    gross = sum(entry.cost_usd for entry in functions.values())
    return {
        "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since)),
        "until": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(until)),
        "region": PRICES["region"],
        "prices": {"source": PRICES["source"], "retrieved": PRICES["retrieved"]},
        "functions": [functions[name].to_json() for name in sorted(functions)],
        "total": {
            "requests": sum(entry.requests for entry in functions.values()),
            "gb_seconds": round(sum(entry.gb_seconds for entry in functions.values()), DIGITS),
            "cost_before_free_tier_usd": round(gross, DIGITS),
            "free_tier_applied": round(min(gross, free_usd), DIGITS),
            "free_tier": {"requests": free_requests, "gb_seconds": round(free_gb_s, DIGITS)},
            "cost_usd": round(max(0.0, gross - free_usd), DIGITS),
        },
    }
