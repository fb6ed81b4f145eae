"""The metrics part's building blocks on their own: the histogram's error bound and the CBOR codec."""

from __future__ import annotations

import math
import random

from kindling.metrics import cbor
from kindling.metrics.histogram import Histogram


def test_percentiles_are_within_one_percent() -> None:
    rng = random.Random(7)
    values = [rng.lognormvariate(2, 1.5) for _ in range(5000)]
    histogram = Histogram()
    for value in values:
        histogram.add(value)
    ordered = sorted(values)
    for p in (50, 90, 99, 99.9):
        exact = ordered[max(1, math.ceil(p / 100 * len(ordered) - 1e-9)) - 1]  # p / 100 * n is inexact
        assert abs(histogram.percentile(p) - exact) <= exact * 0.01


def test_cbor_round_trip() -> None:
    document = {"a": [1, -2, 3.5, True, None, "é"], "b": {"c": b"\x00\x01"}, "t": cbor.Timestamp(1700000000.25),
                "big": 2**40, "neg": -(2**33)}  # fmt: skip
    decoded = cbor.decode(cbor.encode(document))
    assert decoded == document
    assert isinstance(decoded["t"], cbor.Timestamp)


def test_active_tracing_samples_as_xrays_default_rule() -> None:
    """The first request of each second, then 5 % of the rest (X-Ray's default sampling rule)."""
    from kindling.metrics.tracing import Tracing

    tracing = Tracing()
    random.seed(15)
    decisions = [
        (header.split("-")[1], "Sampled=1" in header) for header in (tracing.new_header() for _ in range(20_000))
    ]
    seconds = {second for second, _ in decisions}
    firsts = {}
    for second, sampled in decisions:
        firsts.setdefault(second, sampled)
    assert all(firsts.values())  # the reservoir: one a second
    rest = len(decisions) - len(seconds)
    sampled_rest = sum(sampled for _, sampled in decisions) - len(seconds)
    assert abs(sampled_rest - 0.05 * rest) < 5 * math.sqrt(rest * 0.05 * 0.95)
