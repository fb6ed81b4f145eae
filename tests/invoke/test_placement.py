"""Where an invocation runs: a warm environment of the exact configuration, else a new one."""

from __future__ import annotations

import base64
import json

from fake_world import World, until, version


def test_a_second_invocation_reuses_the_warm_environment(world: World):
    async def scenario(invoker, backend):
        first = await world.call(invoker, version(), {"n": 1})
        second = await world.call(invoker, version(), {"n": 2})
        return first, second, backend

    first, second, backend = world.run(scenario)
    assert (first.cold, second.cold) == (True, False)
    assert json.loads(second.payload) == {"n": 2}
    assert len(backend.sandboxes) == 1 and backend.sandboxes[0].starts == 1


def test_a_new_revision_never_gets_an_environment_of_the_old_one(world: World):
    async def scenario(invoker, backend):
        await world.call(invoker, version(revision_id="1"))
        result = await world.call(invoker, version(revision_id="2"))
        return result, backend

    result, backend = world.run(scenario)
    assert result.cold
    assert len(backend.sandboxes) == 2


def test_functions_and_versions_have_environments_of_their_own(world: World):
    async def scenario(invoker, backend):
        for target in (version("a"), version("b"), version("a", version="1")):
            await world.call(invoker, target)
        return {(e["function"], e["version"]) for e in invoker.environments()}

    assert world.run(scenario) == {("a", "$LATEST"), ("b", "$LATEST"), ("a", "1")}


def test_provisioned_environments_are_initialised_ahead_and_served_first(world: World):
    async def scenario(invoker, backend):
        target = version()
        await invoker.provision(target, world.code, 2)
        started = sum(sandbox.starts for sandbox in backend.sandboxes)
        result = await world.call(invoker, target)
        return started, result, invoker.provisioned_status(target), backend

    started, result, status, backend = world.run(scenario)
    assert started == 2 and not result.cold
    assert status == (2, 2, "")
    assert len(backend.sandboxes) == 2


def test_provisioning_a_function_whose_init_fails_reports_it_and_keeps_nothing(world: World):
    async def scenario(invoker, backend):
        target = version(handler="init_error")
        await invoker.provision(target, world.code, 1)
        return invoker.provisioned_status(target), len(backend.sandboxes), set(backend.live)

    status, made, live = world.run(scenario)
    assert status == (0, 0, "FUNCTION_ERROR_INIT_FAILURE")
    assert made == 1 and not live


def test_a_retired_version_loses_its_idle_environments(world: World):
    async def scenario(invoker, backend):
        await world.call(invoker, version())
        invoker.retire("f")
        sandbox = backend.sandboxes[0]
        await until(lambda: sandbox.destroyed)  # the reclaim runs in the background
        again = await world.call(invoker, version())
        return sandbox.destroyed, again, len(backend.sandboxes)

    destroyed, again, made = world.run(scenario)
    assert destroyed
    assert again.cold and made == 2


def test_the_log_tail_holds_the_invocation_and_its_report(world: World):
    async def scenario(invoker, backend):
        return await world.call(invoker, version(), {"log": "hello from the function"}, log_tail=True)

    tail = base64.b64decode(world.run(scenario).log_tail).decode()
    assert tail.index("START RequestId:") < tail.index("hello from the function") < tail.index("END RequestId:")
    assert "REPORT RequestId:" in tail and "Init Duration:" in tail
