"""What a function can see and do from inside its execution environment (namespaces backend)."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the namespaces sandbox needs root")

PROBE = """
import errno, json, os, socket

def attempt(action):
    try:
        action()
        return "allowed"
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error.errno))

def status(field):
    for line in open('/proc/self/status'):
        if line.startswith(field + ':'):
            return line.split()[1]

def write(path):
    with open(path, 'w') as handle:
        handle.write('x')

def handler(event, context):
    found = []
    for top in ('/var', '/opt', '/etc', '/usr/local', '/home', '/root', '/srv', '/mnt'):
        for folder, _, files in os.walk(top):
            found += [os.path.join(folder, f) for f in files if f == event['secret_name']]
    return {
        'uid': os.getuid(), 'gid': os.getgid(), 'euid': os.geteuid(),
        'cap_eff': status('CapEff'), 'cap_prm': status('CapPrm'), 'cap_bnd': status('CapBnd'),
        'no_new_privs': status('NoNewPrivs'),
        'pids': sorted(int(p) for p in os.listdir('/proc') if p.isdigit()),
        'signal_host': attempt(lambda: os.kill(event['server_pid'], 0)),
        'write_task': attempt(lambda: write('/var/task/new.py')),
        'write_root': attempt(lambda: write('/evil')),
        'write_tmp': attempt(lambda: write('/tmp/fine')),
        'data_dir_visible': os.path.exists(event['data_dir']),
        'root_home': os.path.exists('/root/.bashrc') or os.path.exists('/root/.pyenv'),
        'found_secret': found,
        'hostname_change': attempt(lambda: socket.sethostname('evil')),
        'top': sorted(os.listdir('/')),
        'nofile': __import__('resource').getrlimit(__import__('resource').RLIMIT_NOFILE),
    }
"""


@pytest.fixture
def probe(lam, deploy, server):  # type: ignore[no-untyped-def]
    secret = "secret_of_another_function.txt"
    deploy({"main.py": "def handler(e, c):\n    return 1\n", secret: "private"}, handler="main.handler")
    name = deploy({"probe.py": PROBE}, handler="probe.handler")
    event = {"secret_name": secret, "server_pid": server.process.pid, "data_dir": str(server.data_dir)}
    reply = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    assert "FunctionError" not in reply, reply["Payload"].read()
    return json.loads(reply["Payload"].read())


def test_runs_unprivileged(probe):
    assert probe["uid"] != 0 and probe["euid"] != 0 and probe["gid"] != 0
    assert int(probe["cap_eff"], 16) == 0 and int(probe["cap_prm"], 16) == 0 and int(probe["cap_bnd"], 16) == 0
    assert probe["no_new_privs"] == "1"
    assert probe["nofile"] == [1024, 1024]


def test_sees_only_its_own_processes(probe):
    assert probe["pids"][0] == 1 and len(probe["pids"]) < 5
    assert probe["signal_host"] == "ESRCH"
    assert probe["hostname_change"] == "EPERM"


def test_file_system_is_read_only_except_tmp(probe):
    assert probe["write_task"] == "EROFS"
    assert probe["write_root"] == "EROFS"
    assert probe["write_tmp"] == "allowed"


def test_nothing_of_the_host_or_other_functions_is_visible(probe):
    assert probe["found_secret"] == []
    assert probe["data_dir_visible"] is False
    assert probe["root_home"] is False
    assert set(probe["top"]) <= {
        "bin",
        "dev",
        "etc",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "opt",
        "proc",
        "sbin",
        "tmp",
        "usr",
        "var",
    }


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
