"""An environment restored from a snapshot is as isolated as one started fresh (namespaces backend)."""

from __future__ import annotations

import json
import os
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from snap_helpers import RESTORE, SNAPSTART, invoke, publish_ready, report

from isolation_probe import PROBE, IsolationChecks

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the namespaces sandbox needs root")

# what init itself may do: computed in the template, before the snapshot
INIT_PROBE = """
import ctypes, errno, os
def _status(field):
    for line in open('/proc/self/status'):
        if line.startswith(field + ':'):
            return line.split()[1]
INIT = {'uid': os.getuid(), 'cap_eff': _status('CapEff'), 'cap_bnd': _status('CapBnd'), 'no_new_privs': _status('NoNewPrivs')}
open('/tmp/written-at-init', 'w').write('init')

_libc = ctypes.CDLL(None, use_errno=True)
def _mount_errno():
    if _libc.mount(b'tmpfs', b'/tmp', b'tmpfs', 0, None) == 0:
        return 'allowed'
    return errno.errorcode[ctypes.get_errno()]

def init_handler(event, context):
    return {'init': INIT, 'mount_now': _mount_errno()}
"""


def _snap_function(lam, deploy, files: dict[str, str], handler: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    name = deploy(files, handler=handler, SnapStart=SNAPSTART)
    return name, publish_ready(lam, name)["Version"]


@pytest.fixture
def probe(lam, deploy, server):  # type: ignore[no-untyped-def]
    secret = "secret_of_another_function.txt"
    deploy({"main.py": "def handler(e, c):\n    return 1\n", secret: "private"}, handler="main.handler")
    name, version = _snap_function(lam, deploy, {"probe.py": PROBE}, "probe.handler")
    event = {"secret_name": secret, "server_pid": server.process.pid, "data_dir": str(server.data_dir)}
    result, tail, error = invoke(lam, name, version, event)
    assert error is None, result
    assert RESTORE.search(report(tail))  # the probe ran in a restored environment
    return result


class TestRestoredEnvironment(IsolationChecks):
    """The checks every execution environment must pass, on one forked from a SnapStart template."""


def test_init_runs_without_privileges_and_restored_code_cannot_mount(lam, deploy):
    name, version = _snap_function(lam, deploy, {"app.py": INIT_PROBE}, "app.init_handler")
    result, _, error = invoke(lam, name, version)
    assert error is None, result
    init = result["init"]
    assert init["uid"] != 0 and int(init["cap_eff"], 16) == 0 and int(init["cap_bnd"], 16) == 0
    assert init["no_new_privs"] == "1"
    assert result["mount_now"] == "EPERM"  # its user namespace's capabilities are gone


def test_tmp_is_fresh_and_private_in_each_restored_environment(lam, deploy):
    code = INIT_PROBE + (
        "import time\n"
        "def handler(event, context):\n"
        "    mine = os.urandom(4).hex()\n"
        "    open('/tmp/' + mine, 'w').close()\n"
        "    time.sleep(0.5)\n"
        "    return sorted(os.listdir('/tmp'))\n"
    )
    name, version = _snap_function(lam, deploy, {"app.py": code}, "app.handler")
    with ThreadPoolExecutor(3) as pool:
        listings = list(pool.map(lambda _: invoke(lam, name, version)[0], range(3)))
    assert all(len(listing) == 2 and "written-at-init" in listing for listing in listings), listings
    assert len({tuple(listing) for listing in listings}) == 3


def test_each_restored_environment_has_its_own_uid_and_cgroups_on_the_host(lam, deploy, server):
    code = "import time\ndef handler(event, context):\n    time.sleep(0.5)\n    return 1\n"
    name, version = _snap_function(lam, deploy, {"app.py": code}, "app.handler")
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: invoke(lam, name, version), range(2)))
    with urllib.request.urlopen(server.endpoint + "/kindling/environments") as reply:
        mine = [e for e in json.loads(reply.read())["Environments"] if e["function"] == name]
    assert len(mine) == 2
    uids = set()
    for env in mine:
        status = Path(f"/proc/{env['pid']}/status").read_text()
        uids.add(next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:")))
        groups = dict(line.split(":", 2)[1:] for line in Path(f"/proc/{env['pid']}/cgroup").read_text().splitlines())
        memory = groups.get("memory") or groups.get("")
        assert memory.endswith("/" + env["id"]), memory  # its own memory cgroup, not the template's
    assert len(uids) == 2 and "0" not in uids
