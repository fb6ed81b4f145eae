"""Layers: the layer API, and what functions see of their layers under /opt."""

from __future__ import annotations

import itertools
import json
import urllib.request

import pytest

from runtime_helpers import invoke
from support import ROLE, deleting, make_zip, running

_names = itertools.count()

PY_READER = """import os
import shared, pkg_in_site

def handler(event, context):
    try:
        open("/opt/new-file", "w")
        writable = True
    except OSError:
        writable = False
    return {
        "shared": shared.WHO, "site": pkg_in_site.WHERE,
        "tool": open("/opt/bin/tool").read().split("echo ")[1].strip(),
        "path": os.environ["PATH"].split(":")[-1],
        "ld": os.environ["LD_LIBRARY_PATH"].split(":")[-1],
        "opt_writable": writable,
        "files": sorted(os.listdir("/opt")),
    }
"""


@pytest.fixture
def layer(lam):  # type: ignore[no-untyped-def]
    """Publish a layer version from a dict of files; every version is deleted after the test."""
    published: list[tuple[str, int]] = []

    def _publish(files: dict[str, str], name: str | None = None, modes: dict[str, int] | None = None, **extra):  # type: ignore[no-untyped-def]
        reply = lam.publish_layer_version(
            LayerName=name or f"layer-{next(_names)}", Content={"ZipFile": make_zip(files, modes)}, **extra
        )
        published.append((reply["LayerArn"].rpartition(":")[2], reply["Version"]))
        return reply

    yield _publish
    for name, version in published:
        lam.delete_layer_version(LayerName=name, VersionNumber=version)


def test_publish_get_list_and_delete_layer_versions(lam, layer):
    name = f"api-layer-{next(_names)}"
    first = layer(
        {"python/a.py": "A = 1\n"}, name, Description="one", CompatibleRuntimes=["python3.12"], LicenseInfo="MIT"
    )
    second = layer({"python/a.py": "A = 2\n"}, name, CompatibleRuntimes=["nodejs20.x"])
    assert (first["Version"], second["Version"]) == (1, 2)
    assert first["LayerVersionArn"] == f"arn:aws:lambda:us-east-1:000000000000:layer:{name}:1"
    assert first["Description"] == "one" and first["LicenseInfo"] == "MIT" and first["Content"]["CodeSize"] > 0
    with urllib.request.urlopen(first["Content"]["Location"]) as reply:  # the exact zip, as published
        assert reply.read()[:2] == b"PK"

    got = lam.get_layer_version(LayerName=name, VersionNumber=1)
    assert got["Content"]["CodeSha256"] == first["Content"]["CodeSha256"] and got["CompatibleRuntimes"] == [
        "python3.12"
    ]
    assert lam.get_layer_version_by_arn(Arn=second["LayerVersionArn"])["Version"] == 2
    versions = lam.list_layer_versions(LayerName=name)["LayerVersions"]
    assert [v["Version"] for v in versions] == [2, 1]
    assert [
        v["Version"] for v in lam.list_layer_versions(LayerName=name, CompatibleRuntime="python3.12")["LayerVersions"]
    ] == [1]
    listed = {entry["LayerName"]: entry for entry in lam.list_layers()["Layers"]}
    assert listed[name]["LatestMatchingVersion"]["Version"] == 2
    listed = {entry["LayerName"]: entry for entry in lam.list_layers(CompatibleRuntime="python3.12")["Layers"]}
    assert listed[name]["LatestMatchingVersion"]["Version"] == 1

    lam.delete_layer_version(LayerName=name, VersionNumber=2)
    with pytest.raises(lam.exceptions.ResourceNotFoundException, match="The resource you requested does not exist"):
        lam.get_layer_version(LayerName=name, VersionNumber=2)
    assert layer({"x.txt": "3"}, name)["Version"] == 3  # numbers are never reused


def test_layer_version_permissions(lam, layer):
    published = layer({"x.txt": "x"})
    name, version = published["LayerArn"].rpartition(":")[2], published["Version"]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_layer_version_policy(LayerName=name, VersionNumber=version)
    added = lam.add_layer_version_permission(
        LayerName=name, VersionNumber=version, StatementId="everyone", Action="lambda:GetLayerVersion", Principal="*"
    )
    assert json.loads(added["Statement"])["Resource"] == published["LayerVersionArn"]
    policy = lam.get_layer_version_policy(LayerName=name, VersionNumber=version)
    assert policy["RevisionId"] == added["RevisionId"]
    assert [s["Sid"] for s in json.loads(policy["Policy"])["Statement"]] == ["everyone"]
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.add_layer_version_permission(
            LayerName=name,
            VersionNumber=version,
            StatementId="everyone",
            Action="lambda:GetLayerVersion",
            Principal="*",
        )
    lam.remove_layer_version_permission(LayerName=name, VersionNumber=version, StatementId="everyone")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_layer_version_policy(LayerName=name, VersionNumber=version)


@pytest.fixture
def function(lam):  # type: ignore[no-untyped-def]
    with deleting(lam) as created:

        def _create(runtime: str, files: dict[str, str], handler: str, layers: list[str], modes=None) -> str:  # type: ignore[no-untyped-def]
            name = f"with-layers-{next(_names)}"
            lam.create_function(
                FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler, Layers=layers,
                Code={"ZipFile": make_zip(files, modes)},
            )  # fmt: skip
            created.append(name)
            return name

        yield _create


def test_python_function_sees_its_layers_merged_in_order_under_opt(lam, layer, function):
    base = layer(
        {
            "python/shared.py": "WHO = 'base'\n",
            "python/lib/python3.12/site-packages/pkg_in_site.py": "WHERE = 'site-packages'\n",
            "bin/tool": "#!/bin/sh\necho tool from base\n",
            "base-only.txt": "b",
        },
        modes={"bin/tool": 0o755},
    )
    override = layer(
        {"python/shared.py": "WHO = 'override'\n", "bin/tool": "#!/bin/sh\necho tool from override\n"},
        modes={"bin/tool": 0o755},
    )
    arns = [base["LayerVersionArn"], override["LayerVersionArn"]]
    name = function("python3.12", {"app.py": PY_READER}, "app.handler", arns)
    config = lam.get_function_configuration(FunctionName=name)
    assert config["Layers"] == [
        {"Arn": base["LayerVersionArn"], "CodeSize": base["Content"]["CodeSize"]},
        {"Arn": override["LayerVersionArn"], "CodeSize": override["Content"]["CodeSize"]},
    ]
    body, error, _ = invoke(lam, name)
    assert error is None, body
    assert body == {
        "shared": "override", "site": "site-packages", "tool": "tool from override", "path": "/opt/bin", "ld": "/opt/lib",
        "opt_writable": False, "files": ["base-only.txt", "bin", "python"],
    }  # fmt: skip

    # reversed order: the base layer now wins; deleting a layer version leaves functions working
    lam.update_function_configuration(FunctionName=name, Layers=list(reversed(arns)))
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    lam.delete_layer_version(LayerName=base["LayerArn"], VersionNumber=base["Version"])
    body, error, _ = invoke(lam, name)
    assert error is None and body["shared"] == "base" and body["tool"] == "tool from base"


def test_node_modules_and_a_custom_bootstrap_from_layers(lam, layer, function, server):
    if "nodejs20.x" not in server.health()["runtimes"]:
        pytest.skip("no node 20 on this machine")
    modules = layer({"nodejs/node_modules/greeter/index.js": "exports.greet = (n) => `hello ${n}`;\n"})
    tools = layer({"bin/shout": '#!/bin/sh\necho "$1!"\n'}, modes={"bin/shout": 0o755})
    source = (
        "const g = require('greeter'); const { execFileSync } = require('node:child_process');\n"
        "exports.handler = async (e) => execFileSync('shout', [g.greet(e.who)]).toString().trim();\n"
    )
    name = function(
        "nodejs20.x", {"index.js": source}, "index.handler", [modules["LayerVersionArn"], tools["LayerVersionArn"]]
    )
    assert invoke(lam, name, {"who": "layers"})[0] == "hello layers!"  # node_modules on NODE_PATH, bin on PATH

    runtime = layer(
        {"bootstrap": "#!/bin/sh\nexec /var/lang/bin/python3.12 /opt/runtime.py\n", "runtime.py": RUNTIME_PY},
        modes={"bootstrap": 0o755},
    )
    custom = function(
        "provided.al2023", {"handler.txt": "from the function"}, "handler.txt", [runtime["LayerVersionArn"]]
    )
    assert invoke(lam, custom, {"n": 1})[0] == {"event": {"n": 1}, "text": "from the function"}


# a minimal custom runtime in Python's standard library, shipped as a layer with its /opt/bootstrap
RUNTIME_PY = """import json, os, urllib.request
base = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
text = open(os.environ["_HANDLER"]).read()
while True:
    with urllib.request.urlopen(base + "next") as reply:
        request_id, event = reply.headers["Lambda-Runtime-Aws-Request-Id"], json.load(reply)
    body = json.dumps({"event": event, "text": text}).encode()
    urllib.request.urlopen(urllib.request.Request(base + request_id + "/response", data=body, method="POST")).read()
"""


def test_layer_limits(raw_lam, layer, function):
    one = layer({"x.txt": "x"})
    arn = one["LayerVersionArn"]
    cases = [
        ([arn] * 6, "Cannot reference more than 5 layers."),
        ([arn.rpartition(":")[0] + ":99"], "does not exist"),
        ([arn, layer({"y.txt": "y"}, one["LayerArn"].rpartition(":")[2])["LayerVersionArn"]], "Two different versions"),
    ]
    for layers, message in cases:
        with pytest.raises(raw_lam.exceptions.InvalidParameterValueException, match=message):
            function("python3.12", {"app.py": ""}, "app.handler", layers)


def test_layers_and_the_functions_using_them_survive_a_restart(tmp_path):
    with running(tmp_path / "data") as server:
        lam = server.client()
        published = lam.publish_layer_version(
            LayerName="kept", Content={"ZipFile": make_zip({"python/kept.py": "WHAT = 'kept'\n"})}
        )
        lam.create_function(
            FunctionName="uses-kept", Runtime="python3.12", Role=ROLE, Handler="app.handler",
            Layers=[published["LayerVersionArn"]],
            Code={"ZipFile": make_zip({"app.py": "import kept\ndef handler(e, c):\n    return kept.WHAT\n"})},
        )  # fmt: skip
    with running(tmp_path / "data") as server:
        lam = server.client()
        assert lam.get_layer_version(LayerName="kept", VersionNumber=1)["Version"] == 1
        assert invoke(lam, "uses-kept")[0] == "kept"
        assert lam.publish_layer_version(LayerName="kept", Content={"ZipFile": make_zip({"x": "y"})})["Version"] == 2


def test_an_exec_wrapper_from_a_layer_starts_the_node_runtime(lam, layer, server):
    if "nodejs20.x" not in server.health()["runtimes"]:
        pytest.skip("no node 20 on this machine")
    wrapper = layer({"wrap.sh": '#!/bin/sh\nexport WRAPPED="by $0 around $1"\nexec "$@"\n'}, modes={"wrap.sh": 0o755})
    name = f"wrapped-{next(_names)}"
    lam.create_function(
        FunctionName=name, Runtime="nodejs20.x", Role=ROLE, Handler="index.handler",
        Layers=[wrapper["LayerVersionArn"]], Environment={"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/wrap.sh"}},
        Code={"ZipFile": make_zip({"index.js": "exports.handler = async () => process.env.WRAPPED;"})},
    )  # fmt: skip
    try:
        assert invoke(lam, name)[0] == "by /opt/wrap.sh around /usr/bin/node"
    finally:
        lam.delete_function(FunctionName=name)
