"""When environments go: after the keep-alive, to make room for another, never while busy."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from fake_world import World, until, version

from kindling.errors import TooManyRequests


def test_idle_environments_are_reaped_after_the_keep_alive(world: World):
    async def scenario(invoker, backend):
        await world.call(invoker, version())
        await invoker.reap()
        kept = set(backend.live)
        invoker.config = dataclasses.replace(invoker.config, keep_alive_s=0.0)
        await invoker.reap()
        return kept, set(backend.live), backend.sandboxes[0].destroyed

    kept, left, destroyed = world.run(scenario, keep_alive_s=600.0)
    assert len(kept) == 1
    assert not left and destroyed


def test_provisioned_environments_are_never_reaped(world: World):
    async def scenario(invoker, backend):
        await invoker.provision(version(), world.code, 1)
        await invoker.reap()
        return len(backend.live)

    assert world.run(scenario, keep_alive_s=0.0) == 1


def test_a_full_backend_gives_up_the_least_recently_used_idle_environment(world: World):
    async def scenario(invoker, backend):
        await world.call(invoker, version("old"))
        await world.call(invoker, version("recent"))
        await world.call(invoker, version("new"))
        return {
            sandbox.spec.environment["AWS_LAMBDA_FUNCTION_NAME"]: sandbox.destroyed for sandbox in backend.sandboxes
        }

    assert world.run(scenario, capacity=2) == {"old": True, "recent": False, "new": False}


def test_a_full_backend_with_every_environment_busy_throttles(world: World):
    async def scenario(invoker, backend):
        busy = asyncio.ensure_future(world.call(invoker, version("busy"), {"sleep": 0.05}))
        await until(lambda: backend.sandboxes and backend.sandboxes[0].starts == 1)
        with pytest.raises(TooManyRequests) as refused:
            await world.call(invoker, version("other"))
        await busy
        after = await world.call(invoker, version("other"))  # room again: the idle one is reclaimed
        return refused.value, after

    refused, after = world.run(scenario, capacity=1)
    assert refused.extra == {"Reason": "ConcurrentInvocationLimitExceeded"}
    assert after.cold
