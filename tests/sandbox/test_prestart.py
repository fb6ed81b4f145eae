"""Pre-started Node runtimes (sandbox/prestart.py): a cold start takes a Node process that was started in
its confined sandbox before the function existed; the function must not be able to tell, except by speed."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import ROLE, Server, create_function

PROBE = """
import fs from "node:fs";
const loaded = Date.now();
export const handler = async (event, context) => {
  if (event.fail) throw new TypeError("bad " + process.env.MY_VAR);
  if (event.sleep) await new Promise((resolve) => setTimeout(resolve, event.sleep));
  let data = "hidden";
  try { fs.readdirSync(event.dataDir); data = "visible"; } catch (error) { data = error.code; }
  let written = "no";
  try { fs.writeFileSync("/var/task/x", "x"); written = "yes"; } catch (error) { written = error.code; }
  return {
    startedMs: Date.now() - process.uptime() * 1000, loaded, uid: process.getuid(), gid: process.getgid(),
    pid: process.pid, cwd: process.cwd(), files: fs.readdirSync("/var/task").sort(), data, written,
    env: process.env.MY_VAR, prestartFlag: process.env.KINDLING_PRESTARTED ?? null,
    api: process.env.AWS_LAMBDA_RUNTIME_API, name: context.functionName, memory: context.memoryLimitInMB,
    requestId: context.awsRequestId, remaining: context.getRemainingTimeInMillis(),
    opt: fs.readdirSync("/opt"), tmp: fs.readdirSync("/tmp"),
  };
};
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    instance = Server(tmp_path_factory.mktemp("prestart") / "data", "--keep-alive", "30").start()
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def lam(server: Server):  # type: ignore[no-untyped-def]
    return server.client()


def invoke(lam, name: str, event: dict) -> tuple[dict, str | None, str]:  # type: ignore[no-untyped-def]
    reply = lam.invoke(FunctionName=name, Payload=json.dumps(event), LogType="Tail")
    return (
        json.loads(reply["Payload"].read()),
        reply.get("FunctionError"),
        base64.b64decode(reply["LogResult"]).decode(),
    )


def wait_prestarted(server: Server) -> None:
    """Until a pre-started sandbox waits (the first cold start of a kind seeds them)."""
    deadline = time.monotonic() + 30
    while server.health().get("prestarted", 0) < 1:
        assert time.monotonic() < deadline, "no sandbox was pre-started"
        time.sleep(0.05)


_count = iter(range(1000))


def prestarted_function(server: Server, lam, **settings: object) -> tuple[str, float]:  # type: ignore[no-untyped-def]
    """A new Node function, created once a pre-started sandbox waits for it (and when that was, in ms)."""
    name = f"pre-{next(_count)}"
    wait_prestarted(server)
    created = time.time() * 1000
    create_function(lam, name, {"index.mjs": PROBE}, handler="index.handler", runtime="nodejs20.x", **settings)
    lam.get_waiter("function_active_v2").wait(FunctionName=name)
    return name, created


@pytest.fixture(scope="module")
def seeded(server: Server, lam) -> None:  # type: ignore[no-untyped-def]
    """The first cold start of the (runtime, memory, ...) kind starts the way it always did, and seeds."""
    assert "nodejs20.x" in server.health()["runtimes"]
    name = f"pre-{next(_count)}"
    create_function(lam, name, {"index.mjs": PROBE}, handler="index.handler", runtime="nodejs20.x")
    body, error, _ = invoke(lam, name, {"dataDir": str(server.data_dir)})
    assert error is None, body


def test_a_prestarted_runtime_serves_the_function_confined(server: Server, lam, seeded) -> None:  # type: ignore[no-untyped-def]
    name, created = prestarted_function(server, lam, Environment={"Variables": {"MY_VAR": "mine"}})
    body, error, log = invoke(lam, name, {"dataDir": str(server.data_dir)})
    assert error is None, body
    assert body["startedMs"] < created - 1, "the runtime started after its function: it was not pre-started"
    assert body["uid"] != 0 and body["gid"] != 0 and body["pid"] == 1  # its own PID namespace, not root
    assert body["data"] == "ENOENT"  # the data dir is not in its file system
    assert body["written"] == "EROFS" and body["files"] == ["index.mjs"] and body["cwd"] == "/var/task"
    assert body["env"] == "mine" and body["prestartFlag"] is None and body["api"].startswith("127.0.0.1:")
    assert body["name"] == name and body["memory"] == "128" and 0 < body["remaining"] <= 3000
    assert body["opt"] == [] and body["tmp"] == []
    assert f"REPORT RequestId: {body['requestId']}" in log and "Init Duration" in log


def test_two_prestarted_functions_do_not_share_a_sandbox(server: Server, lam, seeded) -> None:  # type: ignore[no-untyped-def]
    first, _ = prestarted_function(server, lam, Environment={"Variables": {"MY_VAR": "one"}})
    one, _, _ = invoke(lam, first, {})
    second, _ = prestarted_function(server, lam, Environment={"Variables": {"MY_VAR": "two"}})
    two, _, _ = invoke(lam, second, {})
    assert (one["env"], two["env"]) == ("one", "two")
    assert one["uid"] != two["uid"] and one["api"] != two["api"]


def test_handler_errors_and_timeouts_in_a_prestarted_runtime(server: Server, lam, seeded) -> None:  # type: ignore[no-untyped-def]
    name, _ = prestarted_function(server, lam, Environment={"Variables": {"MY_VAR": "e"}}, Timeout=1)
    body, error, log = invoke(lam, name, {"fail": True})
    assert error == "Unhandled" and "\tERROR\tInvoke Error" in log
    assert body["errorType"] == "TypeError" and body["errorMessage"] == "bad e"
    body, error, log = invoke(lam, name, {"sleep": 3000})
    assert error == "Unhandled" and body["errorType"] == "Sandbox.Timedout" and "Task timed out after" in log
    body, error, _ = invoke(lam, name, {})  # the runtime restarts the usual way, in the same sandbox
    assert error is None and body["env"] == "e"


def test_a_layer_is_mounted_at_opt(server: Server, lam, seeded) -> None:  # type: ignore[no-untyped-def]
    from support import make_zip

    layer = lam.publish_layer_version(LayerName="pre-layer", Content={"ZipFile": make_zip({"nodejs/x.js": "1"})})
    name, _ = prestarted_function(server, lam, Layers=[layer["LayerVersionArn"]])
    body, error, _ = invoke(lam, name, {})
    assert error is None and body["opt"] == ["nodejs"]


def test_the_data_dir_holds_no_prestart_leftovers_after_stop(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with_prestart = Server(data).start()
    try:
        lam = with_prestart.client()
        create_function(lam, "seed", {"index.mjs": PROBE}, handler="index.handler", runtime="nodejs20.x")
        invoke(lam, "seed", {})
        wait_prestarted(with_prestart)
    finally:
        assert with_prestart.stop() == 0
    assert not [p for p in (data / "sandboxes").iterdir() if not p.name.startswith(".")]


JAVA_PROBE = """
package probe;

import com.amazonaws.services.lambda.runtime.Context;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

public class Probe {
    public Map<String, Object> handleRequest(Map<String, Object> event, Context context) throws Exception {
        if (event.containsKey("fail")) throw new IllegalStateException("bad " + System.getenv("MY_VAR"));
        if (event.containsKey("sleep")) Thread.sleep(((Number) event.get("sleep")).longValue());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("startedMs", ProcessHandle.current().info().startInstant().get().toEpochMilli());
        out.put("env", System.getenv("MY_VAR"));
        out.put("api", System.getenv("AWS_LAMBDA_RUNTIME_API"));
        out.put("prestartFlag", System.getenv("KINDLING_PRESTARTED"));
        out.put("name", context.getFunctionName());
        out.put("memory", context.getMemoryLimitInMB());
        out.put("data", new File((String) event.get("dataDir")).exists());
        out.put("status", Files.readString(Path.of("/proc/self/status")).lines()
            .filter(line -> line.startsWith("Uid:")).findFirst().orElse(""));
        out.put("task", new File("/var/task/probe").list().length);
        return out;
    }
}
"""


def test_a_prestarted_jvm_serves_the_function_confined(server: Server, lam, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil
    import subprocess

    from support import make_zip

    assert "java17" in server.health()["runtimes"]
    interfaces = Path(__file__).parents[2] / "src" / "kindling" / "runtimes" / "java"
    (tmp_path / "probe").mkdir()
    (tmp_path / "probe" / "Probe.java").write_text(JAVA_PROBE)
    javac = shutil.which("javac") or "javac"
    subprocess.run(
        [javac, "-implicit:none", "-sourcepath", str(interfaces), "-d", str(tmp_path / "out"), "probe/Probe.java"],
        cwd=tmp_path, check=True, timeout=300,
    )  # fmt: skip
    code = make_zip({"probe/Probe.class": (tmp_path / "out" / "probe" / "Probe.class").read_bytes()})
    params = {"Runtime": "java17", "Handler": "probe.Probe::handleRequest", "Role": ROLE, "Timeout": 10}
    lam.create_function(FunctionName="java-seed", Code={"ZipFile": code}, **params)
    body, error, _ = invoke(lam, "java-seed", {"dataDir": str(server.data_dir)})
    assert error is None, body
    wait_prestarted(server)
    created = time.time() * 1000
    environment = {"Variables": {"MY_VAR": "java"}}
    lam.create_function(FunctionName="java-pre", Code={"ZipFile": code}, Environment=environment, **params)
    lam.get_waiter("function_active_v2").wait(FunctionName="java-pre")
    body, error, _ = invoke(lam, "java-pre", {"dataDir": str(server.data_dir)})
    assert error is None, body
    assert body["startedMs"] < created - 1, "the JVM started after its function: it was not pre-started"
    assert body["env"] == "java" and body["prestartFlag"] is None and body["api"].startswith("127.0.0.1:")
    assert body["name"] == "java-pre" and body["memory"] == 128 and body["task"] == 1
    assert body["data"] is False and body["status"].split()[1] != "0"  # the data dir unseen, not root
    body, error, _ = invoke(lam, "java-pre", {"fail": True})
    assert error == "Unhandled" and body["errorType"] == "java.lang.IllegalStateException"
    assert body["errorMessage"] == "bad java"
    lam.update_function_configuration(FunctionName="java-pre", Timeout=1)  # a new environment, pre-started too
    lam.get_waiter("function_updated_v2").wait(FunctionName="java-pre")
    body, error, log = invoke(lam, "java-pre", {"sleep": 3000})
    assert error == "Unhandled" and body["errorType"] == "Sandbox.Timedout" and "Task timed out after" in log
    body, error, _ = invoke(lam, "java-pre", {"dataDir": str(server.data_dir)})  # restarted the usual way
    assert error is None and body["env"] == "java" and body["data"] is False
