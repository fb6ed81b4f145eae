"""Pure rules: ARNs, concurrency accounting, service limits."""

from __future__ import annotations

import pytest

from kindling.arn import function_arn, parse_function
from kindling.errors import InvalidParameterValue, ResourceNotFound, TooManyRequests, ValidationError
from kindling.functions.limits import check_settings
from kindling.invoke.concurrency import ConcurrencyLimits


@pytest.mark.parametrize(
    ("value", "name", "qualifier"),
    [
        ("f", "f", None),
        ("f:3", "f", "3"),
        ("f:$LATEST", "f", "$LATEST"),
        ("000000000000:function:f", "f", None),
        ("arn:aws:lambda:us-east-1:000000000000:function:f:live", "f", "live"),
    ],
)
def test_function_names(value, name, qualifier):
    ref = parse_function(value, "us-east-1")
    assert (ref.name, ref.qualifier) == (name, qualifier)


def test_other_region_and_conflicting_qualifier():
    with pytest.raises(ResourceNotFound):
        parse_function("arn:aws:lambda:eu-west-1:000000000000:function:f", "us-east-1")
    with pytest.raises(InvalidParameterValue):
        parse_function("f:1", "us-east-1", "2")
    assert function_arn("us-east-1", "1" * 12, "f", "2") == "arn:aws:lambda:us-east-1:111111111111:function:f:2"


def test_reserved_concurrency_caps_and_guarantees():
    limits = ConcurrencyLimits(account_limit=3)
    limits.set_reserved("small", 1)
    limits.acquire("small")
    with pytest.raises(TooManyRequests) as caught:
        limits.acquire("small")
    assert caught.value.extra["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    limits.acquire("other")
    limits.acquire("other")  # the unreserved pool is 3 - 1 = 2
    with pytest.raises(TooManyRequests) as caught:
        limits.acquire("third")
    assert caught.value.extra["Reason"] == "ConcurrentInvocationLimitExceeded"
    limits.release("other")
    limits.acquire("third")
    assert limits.total_busy == 3


def test_changing_a_reservation_while_running():
    limits = ConcurrencyLimits(account_limit=10)
    limits.acquire("f")
    limits.set_reserved("f", 5)
    limits.release("f")
    limits.set_reserved("f", None)
    for _ in range(10):
        limits.acquire("g")  # the whole pool is free again
    assert limits.busy("f") == 0


def test_settings_limits():
    assert check_settings({})["memory_size"] == 128
    with pytest.raises(ValidationError) as caught:
        check_settings({"MemorySize": 10241, "Timeout": 901})
    assert caught.value.message.startswith("2 validation errors detected")
    with pytest.raises(InvalidParameterValue, match="4KB"):
        check_settings({"Environment": {"Variables": {"K": "v" * 4096}}})
