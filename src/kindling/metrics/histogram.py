"""A log-linear histogram: buckets whose bounds grow by 2 %, so any percentile read back from it is the
geometric middle of its bucket, within 1 % of the true value, whatever the range (0.01 ms to 15 min).

Small to keep (a few hundred buckets at most for durations), exact to merge (counts add up), which is what
lets one minute's histograms roll up into five minutes and an hour without losing the percentiles.
"""

from __future__ import annotations

import math

RATIO = 1.02
_LOG_RATIO = math.log(RATIO)
ZERO = -(10**6)  # the bucket of values <= 0


def bucket(value: float) -> int:
    return math.floor(math.log(value) / _LOG_RATIO) if value > 0 else ZERO


def middle(index: int) -> float:
    """The value a bucket stands for: at most sqrt(1.02) - 1 < 1 % from any value in it."""
    return 0.0 if index == ZERO else RATIO ** (index + 0.5)


class Histogram:
    __slots__ = ("counts",)

    def __init__(self, counts: dict[int, float] | None = None) -> None:
        self.counts: dict[int, float] = counts or {}

    def add(self, value: float, count: float = 1.0) -> None:
        index = bucket(value)
        self.counts[index] = self.counts.get(index, 0.0) + count

    def merge(self, other: Histogram) -> None:
        for index, count in other.counts.items():
            self.counts[index] = self.counts.get(index, 0.0) + count

    def percentile(self, p: float, low: float = -math.inf, high: float = math.inf) -> float | None:
        """The nearest-rank ``p``th percentile, kept within the observed ``low``..``high``."""
        total = sum(self.counts.values())
        if total <= 0:
            return None
        rank = max(1.0, math.ceil(p / 100 * total - 1e-9))
        seen = 0.0
        for index in sorted(self.counts):
            seen += self.counts[index]
            if seen >= rank:
                return min(high, max(low, middle(index)))
        return min(high, max(low, middle(max(self.counts))))

    def to_pairs(self) -> list[list[float]]:
        return [[index, count] for index, count in sorted(self.counts.items())]

    @classmethod
    def from_pairs(cls, pairs: list[list[float]]) -> Histogram:
        return cls({int(index): count for index, count in pairs})
