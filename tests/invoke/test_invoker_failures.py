"""How an invocation fails: a timeout or an init error resets the runtime, never the sandbox."""

from __future__ import annotations

import json

from fake_world import World, version


def test_a_timeout_answers_sandbox_timedout_and_the_next_invocation_starts_a_new_runtime(world: World):
    async def scenario(invoker, backend):
        target = version(timeout=0.05)  # seconds; a float keeps the test in milliseconds
        timed_out = await world.call(invoker, target, {"sleep": 1})
        after = await world.call(invoker, target, {"n": 1})
        return timed_out, after, backend

    timed_out, after, backend = world.run(scenario)
    error = json.loads(timed_out.payload)
    assert timed_out.function_error == "Unhandled" and error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 0.05 seconds" in error["errorMessage"]
    assert after.cold and json.loads(after.payload) == {"n": 1}
    assert len(backend.sandboxes) == 1 and backend.sandboxes[0].starts == 2


def test_an_init_error_is_the_invocations_error_and_the_next_one_tries_init_again(world: World):
    async def scenario(invoker, backend):
        target = version(handler="init_error")
        first = await world.call(invoker, target)
        second = await world.call(invoker, target)
        return first, second, backend

    first, second, backend = world.run(scenario)
    assert json.loads(first.payload)["errorType"] == "Runtime.ImportModuleError"
    assert first.cold and second.cold
    assert backend.sandboxes[0].starts == 2


def test_a_function_error_keeps_the_runtime_warm(world: World):
    async def scenario(invoker, backend):
        failed = await world.call(invoker, version(), {"error": "boom"})
        after = await world.call(invoker, version())
        return failed, after

    failed, after = world.run(scenario)
    assert failed.function_error == "Unhandled"
    assert json.loads(failed.payload) == {"errorMessage": "boom", "errorType": "Exception"}
    assert not after.cold
