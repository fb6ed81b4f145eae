"""``examples/sam-app`` deployed with ``kindling deploy`` as a user runs it, and used over plain HTTP."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import urllib.request
from collections.abc import Iterator

import pytest

from support import KINDLING, ROOT

APP = ROOT / "examples" / "sam-app"


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as reply:
        return reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read()


def kindling_json(server, path: str, method: str = "GET") -> object:  # type: ignore[no-untyped-def]
    request = urllib.request.Request(f"{server.endpoint}{path}", method=method)
    with urllib.request.urlopen(request, timeout=10) as reply:
        raw = reply.read()
    return json.loads(raw) if raw else None


@pytest.fixture
def deploy_app(server, lam) -> Iterator:  # type: ignore[no-untyped-def]
    env = {**os.environ, "KINDLING_ENDPOINT": server.endpoint, "NO_COLOR": "1"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([KINDLING, "deploy", *args], capture_output=True, text=True, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        return done

    yield run
    for name in ("sam-app-hello", "sam-app-tick"):
        with contextlib.suppress(lam.exceptions.ResourceNotFoundException):
            lam.delete_function(FunctionName=name)
    for version in lam.list_layer_versions(LayerName="sam-app-shared")["LayerVersions"]:
        lam.delete_layer_version(LayerName="sam-app-shared", VersionNumber=version["Version"])
    with contextlib.suppress(OSError):
        kindling_json(server, "/kindling/schedules/sam-app-tick-Hourly", "DELETE")
    for api in kindling_json(server, "/kindling/apis")["Items"]:  # type: ignore[index]
        if api["Name"].startswith("sam-app-"):
            kindling_json(server, f"/kindling/apis/{api['ApiId']}", "DELETE")


def test_the_sam_example_deploys_and_answers_over_http(deploy_app, server, lam):
    first = deploy_app(str(APP)).stdout.splitlines()
    assert first[0] == "published layer sam-app-shared:1"
    assert first[-1] == "template.yaml: 5 resources changed"

    # the HttpApi event: a route of the implicit HTTP API, served under the stack's base path, payload 2.0
    status, _, body = get(f"{server.endpoint}/sam-app/hello/Ada")
    assert status == 200 and json.loads(body) == {"message": "Hello, Ada!", "version": "1"}  # greet() is the layer's

    # FunctionUrlConfig with AuthType NONE on the alias: public, with its CORS headers
    url = lam.get_function_url_config(FunctionName="sam-app-hello", Qualifier="live")["FunctionUrl"]
    url_id = url.split("//")[1].split(".")[0]
    status, headers, body = get(f"{server.endpoint}/lambda-url/{url_id}/", {"Origin": "http://example.com"})
    assert status == 200 and json.loads(body)["message"] == "Hello, world!"
    assert headers["access-control-allow-origin"] == "*"

    # the Schedule event, !GetAtt HelloFunction.Arn in the tick function's environment, LoggingConfig JSON
    rules = {rule["Name"]: rule for rule in kindling_json(server, "/kindling/schedules")["Schedules"]}  # type: ignore[index]
    assert rules["sam-app-tick-Hourly"]["ScheduleExpression"] == "rate(1 hour)"
    assert rules["sam-app-tick-Hourly"]["FunctionName"] == "sam-app-tick"
    tick = lam.invoke(FunctionName="sam-app-tick", LogType="Tail")
    lines = base64.b64decode(tick["LogResult"]).decode().splitlines()
    logged = next(json.loads(line) for line in lines if '"logger": "tick"' in line)
    arn = "arn:aws:lambda:us-east-1:000000000000:function:sam-app-hello"
    assert logged["level"] == "INFO" and logged["message"] == f"Hello, scheduler! - the hello function is {arn}"
    assert json.loads(lines[-1])["type"] == "platform.report"

    again = deploy_app(str(APP / "template.yaml")).stdout.splitlines()
    assert again[-1] == "template.yaml: nothing changed"
    assert all("up to date" in line for line in again[:-1]), again
    assert [v["Version"] for v in lam.list_layer_versions(LayerName="sam-app-shared")["LayerVersions"]] == [1]
    assert lam.get_alias(FunctionName="sam-app-hello", Name="live")["FunctionVersion"] == "1"
