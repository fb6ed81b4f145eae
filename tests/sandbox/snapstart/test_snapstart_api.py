"""SnapStart through the Lambda API: the shapes boto3 reads, what is refused, what survives a restart."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from botocore.exceptions import ClientError
from snap_helpers import HOOKS, RESTORE, SNAPSTART, invoke, publish_ready, report

from support import ROLE, create_function, make_zip, running

HELLO = {"app.py": "def handler(event, context):\n    return 'hello'\n"}


def test_configuration_shapes(lam, deploy):
    name = deploy(HELLO, SnapStart=SNAPSTART)
    latest = lam.get_function(FunctionName=name)["Configuration"]
    assert latest["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "Off"}
    version = publish_ready(lam, name)["Version"]
    published = lam.get_function_configuration(FunctionName=name, Qualifier=version)
    assert published["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}
    assert published["State"] == "Active" and published["LastUpdateStatus"] == "Successful"
    versions = {v["Version"]: v["SnapStart"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]}
    assert versions == {
        "$LATEST": {"ApplyOn": "PublishedVersions", "OptimizationStatus": "Off"},
        version: {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"},
    }
    listed = [f for f in lam.list_functions()["Functions"] if f["FunctionName"] == name]
    assert listed[0]["SnapStart"]["ApplyOn"] == "PublishedVersions"


def test_off_by_default_and_turned_off_again(lam, deploy):
    name = deploy(HELLO)
    assert lam.get_function(FunctionName=name)["Configuration"]["SnapStart"] == {
        "ApplyOn": "None",
        "OptimizationStatus": "Off",
    }
    plain = lam.publish_version(FunctionName=name)
    assert plain["State"] == "Active" and plain["SnapStart"]["OptimizationStatus"] == "Off"
    lam.update_function_configuration(FunctionName=name, SnapStart=SNAPSTART)
    snap = publish_ready(lam, name)
    assert snap["Version"] != plain["Version"]  # ApplyOn is part of the configuration
    lam.update_function_configuration(FunctionName=name, SnapStart={"ApplyOn": "None"})
    again = lam.publish_version(FunctionName=name)
    assert again["SnapStart"] == {"ApplyOn": "None", "OptimizationStatus": "Off"}
    optimized = lam.get_function_configuration(FunctionName=name, Qualifier=snap["Version"])["SnapStart"]
    assert optimized["OptimizationStatus"] == "On"  # a published version keeps what it was published with


@pytest.mark.parametrize(
    ("runtime", "settings", "message"),
    [
        ("python3.11", {}, "python3.11"),
        ("nodejs20.x", {"Handler": "index.handler"}, "nodejs20.x"),
        ("python3.12", {"EphemeralStorage": {"Size": 1024}}, "512 MB"),
    ],
)
def test_create_refuses_what_cannot_be_snapshotted(lam, runtime, settings, message):
    with pytest.raises(ClientError) as caught:
        lam.create_function(FunctionName="snap-refused", Runtime=runtime, Role=ROLE, Code={"ZipFile": make_zip(HELLO)},
                            SnapStart=SNAPSTART, **{"Handler": "app.handler", **settings})  # fmt: skip
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert message in caught.value.response["Error"]["Message"]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName="snap-refused")  # nothing half-created


def test_update_refuses_and_changes_nothing(lam, deploy):
    old = deploy(HELLO, runtime="python3.11")
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.update_function_configuration(FunctionName=old, SnapStart=SNAPSTART, MemorySize=256)
    unchanged = lam.get_function_configuration(FunctionName=old)
    assert unchanged["SnapStart"]["ApplyOn"] == "None" and unchanged["MemorySize"] == 128
    snap = deploy(HELLO, SnapStart=SNAPSTART)
    for change in ({"EphemeralStorage": {"Size": 2048}}, {"Runtime": "python3.11"}):
        with pytest.raises(lam.exceptions.InvalidParameterValueException):
            lam.update_function_configuration(FunctionName=snap, **change)
    config = lam.get_function_configuration(FunctionName=snap)
    assert config["EphemeralStorage"] == {"Size": 512} and config["Runtime"] == "python3.12"


def test_provisioned_concurrency_is_refused_on_a_snapstart_version(lam, deploy):
    name = deploy(HELLO, SnapStart=SNAPSTART)
    version = publish_ready(lam, name)["Version"]
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier=version, ProvisionedConcurrentExecutions=1)
    with pytest.raises(lam.exceptions.ProvisionedConcurrencyConfigNotFoundException):
        lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier=version)


def test_latest_never_uses_the_snapshot(lam, deploy):
    name = deploy({"app.py": HOOKS}, SnapStart=SNAPSTART)
    publish_ready(lam, name)
    result, tail, error = invoke(lam, name, "$LATEST")
    assert error is None
    assert result["init_type"] == "on-demand" and result["calls"] == []  # no hook ran
    assert "Init Duration" in report(tail) and "Restore Duration" not in report(tail)


def test_settings_and_snapshots_survive_a_restart_and_idle_reclaim(tmp_path, lam):
    with running(tmp_path / "data", "--keep-alive", "1") as server:
        client = server.client()
        create_function(client, "durable", {"app.py": HOOKS}, SnapStart=SNAPSTART)
        version = publish_ready(client, "durable")["Version"]
        first, _, _ = invoke(client, "durable", version)
    with running(tmp_path / "data", "--keep-alive", "1") as server:
        client = server.client()
        config = client.get_function_configuration(FunctionName="durable", Qualifier=version)
        assert config["SnapStart"] == {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}
        assert config["State"] == "Active"
        assert client.get_function(FunctionName="durable")["Configuration"]["SnapStart"]["ApplyOn"] == (
            "PublishedVersions"
        )
        result, tail, error = invoke(client, "durable", version)  # the template was made again at start
        assert error is None and RESTORE.search(report(tail))
        assert result["calls"] == ["before-2", "before-1", "after-1:snap-start", "after-2"]
        assert result["init_value"] != first["init_value"]  # a new init, after the restart
        time.sleep(2.5)  # past --keep-alive: the environment is reclaimed
        again, tail, error = invoke(client, "durable", version)
        assert error is None and RESTORE.search(report(tail))  # restored again, not started
        assert again["init_value"] == result["init_value"] and again["stream"] != result["stream"]


def test_under_memory_pressure_an_unused_snapshot_is_reclaimed_and_made_again(tmp_path):
    with running(tmp_path / "pressure", "--min-free-memory", "100000000") as server:
        client = server.client()
        create_function(client, "snapped", {"app.py": HOOKS}, SnapStart=SNAPSTART)
        version = publish_ready(client, "snapped")["Version"]

        def templates() -> list[str]:
            with urllib.request.urlopen(server.endpoint + "/kindling/environments") as reply:
                return [t["function"] for t in json.loads(reply.read())["Templates"]]

        first, _, error = invoke(client, "snapped", version)  # its own template is in use: kept
        assert error is None and templates() == ["snapped"]
        create_function(client, "other", HELLO)
        # to make room for its environment: the idle one of "snapped" goes, then the unused snapshot
        assert "FunctionError" not in client.invoke(FunctionName="other")
        assert templates() == []
        again, tail, error = invoke(client, "snapped", version)  # made again on demand, then restored
        assert error is None and RESTORE.search(report(tail))
        assert again["calls"] == first["calls"] and again["init_value"] != first["init_value"]
        assert templates() == ["snapped"]
