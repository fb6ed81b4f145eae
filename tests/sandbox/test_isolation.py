"""What a function can see and do from inside its execution environment (namespaces backend)."""

from __future__ import annotations

import json
import os
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from isolation_probe import PROBE, IsolationChecks

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the namespaces sandbox needs root")


@pytest.fixture
def probe(lam, deploy, server):  # type: ignore[no-untyped-def]
    secret = "secret_of_another_function.txt"
    deploy({"main.py": "def handler(e, c):\n    return 1\n", secret: "private"}, handler="main.handler")
    name = deploy({"probe.py": PROBE}, handler="probe.handler")
    event = {"secret_name": secret, "server_pid": server.process.pid, "data_dir": str(server.data_dir)}
    reply = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    assert "FunctionError" not in reply, reply["Payload"].read()
    return json.loads(reply["Payload"].read())


class TestFreshEnvironment(IsolationChecks):
    """The checks every execution environment must pass, on one started from the zygote."""


def test_tmp_is_private_to_each_environment(lam, deploy):
    name = deploy(
        {
            "app.py": (
                "import os, time\n"
                "def handler(event, context):\n"
                "    mine = os.urandom(4).hex()\n"
                "    open('/tmp/' + mine, 'w').close()\n"
                "    time.sleep(0.5)\n"
                "    return sorted(os.listdir('/tmp'))\n"
            )
        }
    )
    with ThreadPoolExecutor(3) as pool:
        listings = list(pool.map(lambda _: json.loads(lam.invoke(FunctionName=name)["Payload"].read()), range(3)))
    assert all(len(listing) == 1 for listing in listings)


@pytest.mark.serial
def test_fork_bomb_is_contained(lam, deploy, server):
    bomb = deploy(
        {
            "app.py": (
                "import os, time\n"
                "def handler(event, context):\n"
                "    children = 0\n"
                "    while children < 5000:\n"
                "        try:\n"
                "            pid = os.fork()\n"
                "        except OSError as error:\n"
                "            return {'children': children, 'error': error.errno}\n"
                "        if pid == 0:\n"
                "            time.sleep(30)\n"
                "            os._exit(0)\n"
                "        children += 1\n"
                "    return {'children': children, 'error': None}\n"
            )
        },
        MemorySize=1024,
        Timeout=60,
    )
    result = json.loads(lam.invoke(FunctionName=bomb)["Payload"].read())
    assert result["error"] == 11  # EAGAIN from the pids limit
    assert result["children"] < 1024
    other = deploy({"app.py": "def handler(e, c):\n    return 'still here'\n"})
    assert lam.invoke(FunctionName=other)["Payload"].read() == b'"still here"'
    assert server.health()["status"] == "ok"


@pytest.mark.serial
def test_cpu_share_follows_memory_but_init_runs_at_full_speed(lam, deploy):
    """At 128 MB a function gets about 7 % of a CPU, as on Lambda, but its init is not throttled."""
    name = deploy(
        {
            "app.py": (
                "import time\n"
                "def spin():\n"
                "    started = time.perf_counter()\n"
                "    total = 0\n"
                "    for i in range(1_500_000):\n"
                "        total += i\n"
                "    return time.perf_counter() - started\n"
                "init_seconds = spin()\n"
                "def handler(event, context):\n"
                "    return {'init': init_seconds, 'invoke': spin()}\n"
            )
        },
        MemorySize=128,
        Timeout=30,
    )
    timings = json.loads(lam.invoke(FunctionName=name)["Payload"].read())
    assert timings["invoke"] > 3 * timings["init"]  # about 14x in theory: 1,769 MB / 128 MB


def _memory_cgroup_dir(pid: int) -> Path:
    """The host directory of a process's memory cgroup (v1 memory controller or the v2 tree)."""
    groups = dict(line.split(":", 2)[1:] for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines())
    v1 = "memory" in groups
    relative = (groups["memory"] if v1 else groups[""]).lstrip("/")
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields, _, tail = line.partition(" - ")
        kind, options = tail.split()[0], tail.split()[-1]
        if (v1 and kind == "cgroup" and "memory" in options.split(",")) or (not v1 and kind == "cgroup2"):
            return Path(fields.split()[4]) / relative
    raise AssertionError("no memory cgroup mount")


def test_every_environment_has_cgroups_of_its_own_with_its_limits(lam, deploy, server):
    """Whether its first process was forked by a spare parked in its groups or joined them itself."""
    name = deploy({"app.py": "import time\ndef handler(e, c):\n    time.sleep(0.5)\n    return 1\n"}, MemorySize=256)
    with ThreadPoolExecutor(4) as pool:  # more at once than a zygote keeps spares for
        list(pool.map(lambda _: lam.invoke(FunctionName=name), range(4)))
    with urllib.request.urlopen(server.endpoint + "/kindling/environments") as reply:
        mine = [e for e in json.loads(reply.read())["Environments"] if e["function"] == name]
    assert len(mine) == 4
    for env in mine:
        group = _memory_cgroup_dir(env["pid"])
        assert group.name == env["id"]
        limit = group / ("memory.limit_in_bytes" if (group / "memory.limit_in_bytes").exists() else "memory.max")
        assert int(limit.read_text()) == 256 * 1024 * 1024
        assert (group / "cgroup.procs").read_text().split() == [str(env["pid"])]  # no spare left behind
