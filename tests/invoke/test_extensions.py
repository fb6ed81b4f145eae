"""External extensions (``/opt/extensions`` in a layer): registration, INVOKE and SHUTDOWN, failures."""

from __future__ import annotations

import itertools
import json
import time

import pytest

from runtime_helpers import create, invoke, zip_tree
from support import ROOT, make_zip

EXAMPLES = ROOT / "examples" / "extensions"
_names = itertools.count()

READER = """import os, time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    print("hello", event.get("n"))
    path = "/tmp/" + event.get("file", "lifecycle.log")
    return {"request": context.aws_request_id, "seen": open(path).read().splitlines() if os.path.exists(path) else []}
"""
SHELL_BOOTSTRAP = """#!/bin/sh
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation"
while true; do
  headers=$(mktemp); curl -s -D "$headers" -o /tmp/event "$api/next"
  id=$(grep -i lambda-runtime-aws-request-id "$headers" | tr -d '\\r' | cut -d' ' -f2)
  seen=$(sed 's/.*/"&"/' /tmp/lifecycle.log 2>/dev/null | paste -sd, -)
  curl -s -o /dev/null -d "{\\"request\\": \\"$id\\", \\"seen\\": [$seen]}" "$api/$id/response"
done
"""


EXTENSION_SH = r"""#!/bin/sh
api="http://$AWS_LAMBDA_RUNTIME_API"
id=$(curl -s -D - -o /dev/null -H "Lambda-Extension-Name: $(basename "$0")" -d '{"events": ["INVOKE"]}' \
  "$api/2020-01-01/extension/register" | tr -d '\r' | grep -i '^lambda-extension-identifier' | cut -d' ' -f2)
"""
# exits while the environment is live: after its second INVOKE
CRASHER = (
    EXTENSION_SH
    + r"""for n in 1 2 3; do
  curl -s -o /dev/null -H "Lambda-Extension-Identifier: $id" "$api/2020-01-01/extension/event/next"
  [ "$n" = 2 ] && exit 1
done
"""
)
# tries subscriptions the Telemetry API must refuse (and one it accepts), notes the status codes
VALIDATOR = (
    EXTENSION_SH
    + r"""put() { curl -s -o /dev/null -w '%{http_code} ' -X PUT -H "Lambda-Extension-Identifier: ${2:-$id}" \
  -d "{\"schemaVersion\": \"2022-07-01\", $1}" "$api/2022-07-01/telemetry"; }
to='"destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:9/"}'
{
  put '"types": ["platform"], "buffering": {"maxItems": 999}, '"$to"
  put '"types": ["platform"], "buffering": {"maxBytes": 1048577}, '"$to"
  put '"types": ["platform"], "buffering": {"timeoutMs": 24}, '"$to"
  put '"types": ["logs"], '"$to"
  put '"types": ["platform"], "destination": {"protocol": "HTTP", "URI": "http://example.com/"}'
  put '"types": ["platform"], "buffering": {"maxItems": 1000, "timeoutMs": 25}, '"$to"
  put '"types": ["platform"], '"$to" not-an-extension
} > /tmp/codes
curl -s -o /dev/null -H "Lambda-Extension-Identifier: $id" "$api/2020-01-01/extension/event/next"
"""
)
# takes its time to set up, notes when it registers, then waits for events
SLOW_TO_REGISTER = (
    "#!/bin/sh\nsleep 0.4\necho registered > /tmp/slow.log\n"
    + EXTENSION_SH.split("\n", 1)[1]
    + 'while true; do curl -s -o /dev/null -H "Lambda-Extension-Identifier: $id" "$api/2020-01-01/extension/event/next"; done\n'
)
AT_INIT = """import os
SEEN_AT_INIT = os.path.exists("/tmp/slow.log")

def handler(event, context):
    return {"seen_at_init": SEEN_AT_INIT}
"""
NODE_READER = """import fs from "node:fs";
export const handler = async (event, context) => ({
  request: context.awsRequestId,
  seen: fs.existsSync("/tmp/lifecycle.log") ? fs.readFileSync("/tmp/lifecycle.log", "utf8").trim().split("\\n") : [],
});
"""
SOURCES = {"python3.12": {"app.py": READER}, "nodejs20.x": {"app.mjs": NODE_READER}}


@pytest.fixture(scope="module")
def layers(lam):  # type: ignore[no-untyped-def]
    """One layer per example extension, plus broken ones; deleted after the module."""
    published: dict[str, str] = {}
    broken = "#!/bin/sh\necho 'broken extension starting'\nexit 3\n"
    contents = {
        "lifecycle": zip_tree(EXAMPLES, executable=()),
        "broken": make_zip({"extensions/broken": broken}, {"extensions/broken": 0o755}),
        "crasher": make_zip({"extensions/crasher": CRASHER}, {"extensions/crasher": 0o755}),
        "validator": make_zip({"extensions/validator": VALIDATOR}, {"extensions/validator": 0o755}),
    }
    contents["slow"] = make_zip({"extensions/slow": SLOW_TO_REGISTER}, {"extensions/slow": 0o755})
    for name, content in contents.items():
        reply = lam.publish_layer_version(LayerName=f"ext-{name}-{next(_names)}", Content={"ZipFile": content})
        published[name] = reply["LayerVersionArn"]
    yield published
    for arn in published.values():
        layer, _, version = arn.rpartition(":")
        lam.delete_layer_version(LayerName=layer, VersionNumber=int(version))


@pytest.fixture
def functions(lam):  # type: ignore[no-untyped-def]
    created: list[str] = []

    def _create(runtime: str, files: dict[str, str], layer: str, **settings: object) -> str:
        name = f"ext-fn-{next(_names)}"
        code = make_zip(files, {"bootstrap": 0o755})
        created.append(create(lam, name, runtime, code, Layers=[layer], **settings))
        return name

    yield _create
    for name in created:
        lam.delete_function(FunctionName=name)


def _until_seen(lam, name: str, wanted: str, file: str = "lifecycle.log") -> list[str]:  # type: ignore[no-untyped-def]
    """Invoke until the extension's file under /tmp (read by the function) holds ``wanted``."""
    for _ in range(50):
        payload, error, _ = invoke(lam, name, {"file": file})
        assert error is None, payload
        if any(wanted in line for line in payload["seen"]):
            return payload["seen"]
        time.sleep(0.05)
    raise AssertionError(f"{wanted!r} never reached /tmp/{file}: {payload}")


@pytest.mark.parametrize("runtime", ["python3.12", "nodejs20.x", "provided.al2023"])
def test_extensions_register_and_see_every_invoke_before_the_next_event(lam, server, functions, layers, runtime):
    if runtime not in server.health()["runtimes"]:
        pytest.skip(f"{runtime} is not available on this machine")
    files = SOURCES.get(runtime, {"bootstrap": SHELL_BOOTSTRAP})
    name = functions(runtime, files, layers["lifecycle"], Environment={"Variables": {"LIFECYCLE_WORK_MS": "800"}})
    first, error, log = invoke(lam, name, {"n": 1})
    assert error is None, first
    assert "EXTENSION\tName: lifecycle\tState: Ready\tEvents: [INVOKE,SHUTDOWN]" in log
    assert "EXTENSION\tName: telemetry-shipper\tState: Ready\tEvents: [SHUTDOWN]" in log
    assert f"[lifecycle] REGISTERED {name} app.handler 000000000000" in log
    began = time.perf_counter()
    second, _, _ = invoke(lam, name, {"n": 2})
    # the second event waited until the extension was done with the first (800 ms of work, which began
    # before the first answer: a shell runtime's handful of curl processes can take 100 ms of them)
    assert time.perf_counter() - began > 0.6
    assert f"INVOKE {first['request']}" in second["seen"]


def test_timeouts_and_reclaims_send_shutdown_before_the_kill(lam, server, functions, layers):
    name = functions("python3.12", {"app.py": READER}, layers["lifecycle"], Timeout=1)
    _, error, log = invoke(lam, name, {"sleep": 3})
    assert error == "Unhandled" and "Task timed out after 1.00 seconds" in log
    # the same environment (and /tmp) after the reset: the extensions were told, then started again
    seen = _until_seen(lam, name, "SHUTDOWN timeout")
    assert seen[-2:][0].startswith("REGISTERED") or seen[-1].startswith("REGISTERED")
    lam.update_function_configuration(FunctionName=name, Description="reclaims the environment")
    logs = server.client("logs")
    for _ in range(50):  # the old environment is shut down in the background, as on Lambda
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern='"SHUTDOWN spindown"')
        if events["events"]:
            break
        time.sleep(0.1)
    assert [e["message"] for e in events["events"]] == ["[lifecycle] SHUTDOWN spindown"]


def test_an_extension_that_dies_during_init_fails_the_init(lam, functions, layers):
    name = functions("python3.12", {"app.py": READER}, layers["broken"])
    payload, error, log = invoke(lam, name)
    assert error == "Unhandled"
    assert payload["errorType"] == "Extension.InitError"
    assert "broken extension starting" in log and "extension broken exited with status 3" in log


def test_telemetry_delivers_platform_and_function_records_to_the_extension(lam, functions, layers):
    name = functions("python3.12", {"app.py": READER}, layers["lifecycle"])
    first, _, _ = invoke(lam, name, {"n": 1})
    lines = _until_seen(
        lam, name, f'"requestId": "{first["request"]}", "status": "success", "metrics"', "telemetry.jsonl"
    )
    records = [json.loads(line) for line in lines]
    kinds = [r["type"] for r in records]
    for kind in ("platform.initStart", "platform.initRuntimeDone", "platform.initReport", "platform.start"):
        assert kind in kinds
    assert {"type": "function", "record": "hello 1"} in [{"type": r["type"], "record": r["record"]} for r in records]
    report = next(r for r in records if r["type"] == "platform.report" and r["record"]["requestId"] == first["request"])
    assert report["record"]["metrics"]["memorySizeMB"] == 128
    assert "initDurationMs" in report["record"]["metrics"]


def test_an_extension_that_crashes_resets_the_environment(lam, server, functions, layers):
    name = functions("python3.12", {"app.py": READER}, layers["crasher"])
    for _ in range(2):
        assert invoke(lam, name)[1] is None
    payload, error, log = invoke(lam, name)
    assert error is None and "Init Duration" in log, payload  # a fresh init, extensions included
    events = server.client("logs").filter_log_events(
        logGroupName=f"/aws/lambda/{name}", filterPattern="Extension.Crash"
    )
    assert [e["message"].split(" ", 1)[1] for e in events["events"]] == [
        "Extension.Crash: extension crasher exited with status 1"
    ]


def test_the_telemetry_api_checks_subscriptions(lam, functions, layers):
    name = functions("python3.12", {"app.py": READER}, layers["validator"])
    payload, error, _ = invoke(lam, name, {"file": "codes"})
    assert error is None
    assert payload["seen"] == ["400 400 400 400 400 200 403 "]


def test_the_runtime_starts_only_once_its_extensions_have_registered(lam, functions, layers):
    """Lambda's init order: extensions start and register, then the runtime and the function's init."""
    name = functions("python3.12", {"app.py": AT_INIT}, layers["slow"])
    payload, error, _ = invoke(lam, name, {})
    assert error is None and payload == {"seen_at_init": True}
