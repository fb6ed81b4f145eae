"""A SnapStart version's life: Pending while its snapshot is made, then every environment restored from it."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import WaiterError
from snap_helpers import HOOKS, RESTORE, SNAPSTART, invoke, publish_ready, report

from support import make_zip

SLOW_INIT = {"Variables": {"INIT_SLEEP": "1"}}


def test_pending_until_the_snapshot_exists(lam, deploy):
    name = deploy({"app.py": HOOKS}, SnapStart=SNAPSTART, Environment=SLOW_INIT)
    published = lam.publish_version(FunctionName=name)
    assert published["State"] == "Pending" and published["LastUpdateStatus"] == "InProgress"
    assert published["StateReasonCode"] == "Creating"
    with pytest.raises(lam.exceptions.SnapStartNotReadyException):
        lam.invoke(FunctionName=name, Qualifier=published["Version"])
    lam.get_waiter("published_version_active").wait(
        FunctionName=name, Qualifier=published["Version"], WaiterConfig={"Delay": 0.2, "MaxAttempts": 100}
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=f"{name}:{published['Version']}")
    active = lam.get_function_configuration(FunctionName=name, Qualifier=published["Version"])
    assert active["State"] == "Active" and "StateReason" not in active


def test_hooks_run_in_lambdas_order_and_restore_is_reported(lam, deploy):
    name = deploy({"app.py": HOOKS}, SnapStart=SNAPSTART)
    version = publish_ready(lam, name)["Version"]
    result, tail, error = invoke(lam, name, version)
    assert error is None
    assert result["calls"] == ["before-2", "before-1", "after-1:snap-start", "after-2"]
    assert result["init_type"] == "snap-start" and result["env_type"] == "snap-start"
    line = report(tail)
    assert RESTORE.search(line) and "Init Duration" not in line
    assert f"[{version}]" in result["stream"]
    _, tail, _ = invoke(lam, name, version)
    assert "Restore Duration" not in report(tail)  # warm: nothing restored


def test_restored_environments_share_init_but_not_random_state(lam, deploy):
    name = deploy({"app.py": HOOKS}, SnapStart=SNAPSTART)
    version = publish_ready(lam, name)["Version"]
    with ThreadPoolExecutor(3) as pool:  # three at once: three environments
        results = list(pool.map(lambda _: invoke(lam, name, version, {"sleep": 0.5})[0], range(3)))
    assert len({r["stream"] for r in results}) == 3
    assert len({r["init_value"] for r in results}) == 1  # computed once, in the snapshot
    assert len({r["random"] for r in results}) == 3  # re-seeded in each environment


@pytest.mark.serial
def test_heavy_init_is_paid_once(lam, deploy):
    name = deploy({"app.py": HOOKS}, SnapStart=SNAPSTART, Environment=SLOW_INIT)
    version = publish_ready(lam, name)["Version"]
    started = time.perf_counter()
    _, tail, _ = invoke(lam, name, version)
    assert time.perf_counter() - started < 0.3 and RESTORE.search(report(tail))
    busy = threading.Thread(target=invoke, args=(lam, name, version, {"sleep": 1}))
    busy.start()  # keeps the first environment busy: the next invoke needs a second one
    time.sleep(0.2)
    started = time.perf_counter()
    _, tail, _ = invoke(lam, name, version)
    elapsed = time.perf_counter() - started
    busy.join()
    assert RESTORE.search(report(tail)), report(tail)
    assert elapsed < 0.3, f"a second environment took {elapsed * 1000:.0f} ms"


@pytest.mark.parametrize(
    ("code", "reason_code", "error_type"),
    [
        (
            "raise ValueError('no database')\ndef handler(e, c):\n    pass\n",
            "FunctionError.RuntimeInitError",
            "ValueError",
        ),
        (
            "from snapshot_restore_py import register_before_snapshot\n"
            "def close():\n    raise RuntimeError('cannot close')\n"
            "register_before_snapshot(close)\ndef handler(e, c):\n    pass\n",
            "FunctionError",
            "Runtime.BeforeSnapshotError",
        ),
    ],
)
def test_a_failed_snapshot_fails_the_version(lam, deploy, code, reason_code, error_type):
    name = deploy({"app.py": code}, SnapStart=SNAPSTART)
    version = lam.publish_version(FunctionName=name)["Version"]
    with pytest.raises(WaiterError):
        lam.get_waiter("published_version_active").wait(
            FunctionName=name, Qualifier=version, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100}
        )
    failed = lam.get_function_configuration(FunctionName=name, Qualifier=version)
    assert failed["State"] == "Failed" and failed["LastUpdateStatus"] == "Failed"
    assert failed["StateReasonCode"] == reason_code and error_type in failed["StateReason"]
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.invoke(FunctionName=name, Qualifier=version)


def test_after_restore_hooks_past_ten_seconds_answer_snapstart_timeout(lam, deploy):
    code = (
        "import time\nfrom snapshot_restore_py import register_after_restore\n"
        "register_after_restore(time.sleep, 11)\ndef handler(e, c):\n    return 'served'\n"
    )
    name = deploy({"app.py": code}, SnapStart=SNAPSTART)
    version = publish_ready(lam, name)["Version"]
    began = time.monotonic()
    with pytest.raises(lam.exceptions.SnapStartTimeoutException) as refused:
        lam.invoke(FunctionName=name, Qualifier=version)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 408
    assert 10 <= time.monotonic() - began < 12  # the hook was stopped at its limit
    assert lam.get_function(FunctionName=name, Qualifier=version)["Configuration"]["State"] == "Active"


def test_a_failing_after_restore_hook_fails_each_restore(lam, deploy):
    code = (
        "from snapshot_restore_py import register_after_restore\n"
        "def reconnect():\n    raise ConnectionError('database unreachable')\n"
        "register_after_restore(reconnect)\ndef handler(e, c):\n    return 'served'\n"
    )
    name = deploy({"app.py": code}, SnapStart=SNAPSTART)
    version = publish_ready(lam, name)["Version"]
    for _ in range(2):  # each invoke restores again, and fails again
        result, tail, error = invoke(lam, name, version)
        assert error == "Unhandled"
        assert result["errorType"] == "Runtime.AfterRestoreError"
        assert result["errorMessage"] == "database unreachable"
        assert "database unreachable" in tail


@pytest.mark.parametrize(
    ("event", "error_type", "settings"),
    [
        ({"sleep": 3}, "Sandbox.Timedout", {"Timeout": 1}),
        ({"exit": 3}, "Runtime.ExitError", {}),
    ],
)
def test_a_restored_environment_recovers_by_restoring_again(lam, deploy, event, error_type, settings):
    name = deploy({"app.py": HOOKS}, SnapStart=SNAPSTART, **settings)
    version = publish_ready(lam, name)["Version"]
    first, _, _ = invoke(lam, name, version)
    failed, _, error = invoke(lam, name, version, event)
    assert error == "Unhandled" and failed["errorType"] == error_type
    result, tail, error = invoke(lam, name, version)
    assert error is None and RESTORE.search(report(tail))
    assert result["calls"] == first["calls"] and result["init_value"] == first["init_value"]


def test_out_of_memory_in_a_restored_environment(lam, deploy):
    code = (
        "def handler(event, context):\n"
        "    if event.get('allocate'):\n"
        "        hog = bytearray(400 * 1024 * 1024)\n"
        "        hog[::4096] = b'x' * len(hog[::4096])\n"
        "    return 'fine'\n"
    )
    name = deploy({"app.py": code}, SnapStart=SNAPSTART, MemorySize=128)
    version = publish_ready(lam, name)["Version"]
    result, _, error = invoke(lam, name, version, {"allocate": True})
    assert error == "Unhandled" and result["errorType"] == "Runtime.OutOfMemory", result
    result, tail, error = invoke(lam, name, version)
    assert result == "fine" and RESTORE.search(report(tail))


def test_versions_and_functions_share_nothing(lam, deploy):
    code = (
        "import os\n"
        "MARK = open('/var/task/mark.txt').read()\n"
        "open('/tmp/init-' + MARK, 'w').close()\n"
        "seen = []\n"
        "def handler(event, context):\n"
        "    seen.append(MARK)\n"
        "    open('/tmp/invoke-' + MARK, 'w').close()\n"
        "    return {'mark': MARK, 'seen': seen, 'tmp': sorted(os.listdir('/tmp'))}\n"
    )
    first = deploy({"app.py": code, "mark.txt": "one"}, SnapStart=SNAPSTART)
    v1 = publish_ready(lam, first)["Version"]
    invoke(lam, first, v1)
    lam.update_function_code(FunctionName=first, ZipFile=make_zip({"app.py": code, "mark.txt": "two"}))
    lam.get_waiter("function_updated_v2").wait(FunctionName=first)
    v2 = publish_ready(lam, first)["Version"]
    other = deploy({"app.py": code, "mark.txt": "three"}, SnapStart=SNAPSTART)
    v3 = publish_ready(lam, other)["Version"]
    two, _, _ = invoke(lam, first, v2)
    three, _, _ = invoke(lam, other, v3)
    assert two == {"mark": "two", "seen": ["two"], "tmp": ["init-two", "invoke-two"]}
    assert three == {"mark": "three", "seen": ["three"], "tmp": ["init-three", "invoke-three"]}
    one, _, _ = invoke(lam, first, v1)
    assert one["mark"] == "one" and one["seen"] == ["one", "one"]


def test_tail_reports_restore_in_json_log_format(lam, deploy):
    name = deploy({"app.py": HOOKS}, SnapStart=SNAPSTART, LoggingConfig={"LogFormat": "JSON"})
    version = publish_ready(lam, name)["Version"]
    _, tail, _ = invoke(lam, name, version)
    records = [json.loads(line) for line in tail.splitlines() if line.startswith("{")]
    metrics = next(r["record"]["metrics"] for r in records if r.get("type") == "platform.report")
    assert "restoreDurationMs" in metrics and "initDurationMs" not in metrics


def test_a_killed_template_is_made_again(lam, deploy, server):
    """Its live environments die with it (they live in its PID namespace): an invoke may find one gone,
    as any crash; every new environment is restored from a new template, made once."""
    name = deploy({"app.py": HOOKS}, SnapStart=SNAPSTART)
    version = publish_ready(lam, name)["Version"]
    first, _, _ = invoke(lam, name, version)

    def templates() -> list[dict]:
        with urllib.request.urlopen(server.endpoint + "/kindling/environments") as reply:
            return [t for t in json.loads(reply.read())["Templates"] if t["function"] == name]

    (template,) = templates()
    os.kill(template["pid"], signal.SIGKILL)
    with ThreadPoolExecutor(3) as pool:  # at least two new environments, restored from a new template
        results = list(pool.map(lambda _: invoke(lam, name, version, {"sleep": 0.5}), range(3)))
    failed = [result for result, _, error in results if error is not None]
    assert len(failed) <= 1 and all(f["errorType"] == "Runtime.ExitError" for f in failed), failed
    restored = [result for result, tail, error in results if error is None and RESTORE.search(report(tail))]
    assert len(restored) >= 2
    (renewed,) = templates()
    assert renewed["pid"] != template["pid"]
    assert all(r["calls"] == first["calls"] and r["init_value"] != first["init_value"] for r in restored)


def test_threads_started_during_init_are_named_in_the_log(lam, deploy, server):
    """A restore is a fork, so init's threads do not survive it (they would on AWS): the log says so."""
    code = (
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(3600,), name='refresher', daemon=True).start()\n"
        "def handler(event, context):\n"
        "    return sorted(t.name for t in threading.enumerate())\n"
    )
    name = deploy({"app.py": code}, SnapStart=SNAPSTART)
    version = publish_ready(lam, name)["Version"]
    result, _, error = invoke(lam, name, version)
    assert error is None and result == ["MainThread"]
    events = server.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern="SnapStart")
    [line] = [event["message"] for event in events["events"]]
    assert "1 thread(s) started during init will not run in restored environments: refresher." in line
