"""Concurrent invocations: one environment each, counted against the account and reserved limits."""

from __future__ import annotations

import asyncio
import json

import pytest
from fake_world import World, until, version

from kindling.errors import TooManyRequests


def test_concurrent_invocations_get_an_environment_each_then_share_them(world: World):
    async def scenario(invoker, backend):
        results = await asyncio.gather(*(world.call(invoker, version(), {"sleep": 0.02, "n": n}) for n in range(3)))
        again = await asyncio.gather(*(world.call(invoker, version(), {"n": n}) for n in range(3)))
        return results, again, backend

    results, again, backend = world.run(scenario)
    assert [json.loads(r.payload)["n"] for r in results] == [0, 1, 2]
    assert all(r.cold for r in results) and not any(r.cold for r in again)
    assert len(backend.sandboxes) == 3


def test_reserved_concurrency_throttles_the_invocation_past_it(world: World):
    async def scenario(invoker, backend):
        invoker.limits.set_reserved("f", 1)
        running = asyncio.ensure_future(world.call(invoker, version(), {"sleep": 0.05}))
        await until(lambda: invoker.limits.busy("f") == 1)
        with pytest.raises(TooManyRequests) as refused:
            await world.call(invoker, version())
        await running
        await world.call(invoker, version())  # the slot is free again
        return refused.value, invoker.limits.busy("f")

    refused, busy = world.run(scenario)
    assert refused.extra == {"Reason": "ReservedFunctionConcurrentInvocationLimitExceeded"}
    assert busy == 0


def test_the_account_limit_throttles_every_unreserved_function(world: World):
    async def scenario(invoker, backend):
        running = asyncio.ensure_future(world.call(invoker, version("a"), {"sleep": 0.05}))
        await until(lambda: invoker.limits.busy("a") == 1)
        with pytest.raises(TooManyRequests) as refused:
            await world.call(invoker, version("b"))
        await running
        return refused.value

    assert world.run(scenario, account_concurrency=1).extra == {"Reason": "ConcurrentInvocationLimitExceeded"}


def test_a_failed_invocation_releases_its_concurrency_and_keeps_its_sandbox(world: World):
    async def scenario(invoker, backend):
        crashed = await world.call(invoker, version(), {"exit": 3})
        after = await world.call(invoker, version(), {"n": 1})
        return crashed, after, invoker.limits.busy("f"), backend

    crashed, after, busy, backend = world.run(scenario)
    assert crashed.function_error == "Unhandled"
    assert json.loads(crashed.payload)["errorType"] == "Runtime.ExitError"
    assert "exit status 3" in json.loads(crashed.payload)["errorMessage"]
    assert after.cold and busy == 0
    assert len(backend.sandboxes) == 1 and backend.sandboxes[0].starts == 2  # the runtime restarted in place
