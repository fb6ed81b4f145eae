"""Runtime versions and architectures as CreateFunction sees them: AWS's words for a retired runtime, what a
runtime this host cannot serve needs, .NET refused, and arm64 when the host can emulate it (a custom runtime's
bootstrap runs under qemu-user), else refused."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import botocore.exceptions
import pytest

from support import ROLE, make_zip

GO_BOOTSTRAP = """package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
)

func main() {
	api := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/invocation/"
	for {
		next, err := http.Get(api + "next")
		if err != nil {
			os.Exit(1)
		}
		io.Copy(io.Discard, next.Body)
		next.Body.Close()
		id := next.Header.Get("Lambda-Runtime-Aws-Request-Id")
		body := fmt.Sprintf(`{"arch": %q, "uid": %d}`, runtime.GOARCH, os.Getuid())
		reply, err := http.Post(api+id+"/response", "application/json", bytes.NewBufferString(body))
		if err == nil {
			reply.Body.Close()
		}
	}
}
"""


def refusal(lam, **settings: object) -> str:  # type: ignore[no-untyped-def]
    params = {"FunctionName": "refused", "Role": ROLE, "Handler": "index.handler", "Runtime": "python3.12"}
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        lam.create_function(**{**params, **settings}, Code={"ZipFile": make_zip({"index.py": ""})})
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
    return caught.value.response["Error"]["Message"]


def test_a_retired_runtime_gets_awss_words_and_the_newest_of_its_language(raw_lam, server) -> None:  # type: ignore[no-untyped-def]
    newest = sorted((r for r in server.health()["runtimes"] if r.startswith("python")), key=lambda r: int(r[8:]))[-1]
    for retired in ("python3.7", "python3.9"):
        assert refusal(raw_lam, Runtime=retired) == (
            f"The runtime parameter of {retired} is no longer supported for creating or updating AWS Lambda functions. "
            f"We recommend you use the new runtime ({newest}) while creating or updating functions."
        )
    node = sorted(r for r in server.health()["runtimes"] if r.startswith("nodejs"))[-1]  # nodejs22.x here
    assert f"recommend you use the new runtime ({node})" in refusal(raw_lam, Runtime="nodejs14.x", Handler="a.b")
    assert raw_lam.list_functions()["Functions"] == [] or all(
        f["FunctionName"] != "refused" for f in raw_lam.list_functions()["Functions"]
    )


def test_dotnet_is_refused_clearly(raw_lam) -> None:  # type: ignore[no-untyped-def]
    for name in ("dotnet8", "dotnet6"):
        message = refusal(raw_lam, Runtime=name)
        assert message.startswith(f"The runtime {name} is not available on this Kindling server: .NET cannot be")


@pytest.mark.parametrize(
    ("runtime", "needs"),
    [
        ("nodejs24.x", "it needs Node.js 24 (`node`), not installed"),
        ("java25", "it needs a JDK 25"),
        ("python3.14", "it needs a Python 3.14 interpreter"),
    ],
)
def test_a_runtime_the_host_lacks_names_what_is_missing(raw_lam, server, runtime, needs) -> None:  # type: ignore[no-untyped-def]
    if runtime in server.health()["runtimes"]:
        return  # this host has it: nothing to refuse (the runtime's own tests run it)
    message = refusal(raw_lam, Runtime=runtime, Handler="a.b")
    assert message.startswith(f"The runtime {runtime} is not available on this Kindling server: {needs}")
    assert "Available runtimes: " in message and "nodejs20.x" in message


def test_arm64_managed_runtimes_run_on_the_host_interpreter_or_are_refused(lam, raw_lam, server, deploy) -> None:  # type: ignore[no-untyped-def]
    if "arm64" not in server.health()["architectures"]:
        assert "needs user-mode emulation" in refusal(raw_lam, Architectures=["arm64"])
        return
    name = deploy({"app.py": "def handler(e, c):\n    return 'pure'\n"}, Architectures=["arm64"])
    assert lam.get_function(FunctionName=name)["Configuration"]["Architectures"] == ["arm64"]
    reply = lam.invoke(FunctionName=name, Payload=b"{}")
    assert reply.get("FunctionError") is None and json.loads(reply["Payload"].read()) == "pure"


def _go_arm64_bootstrap(folder: Path) -> bytes:
    (folder / "main.go").write_text(GO_BOOTSTRAP)
    env = {**os.environ, "GOOS": "linux", "GOARCH": "arm64", "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"}
    subprocess.run(
        ["go", "build", "-o", "bootstrap", "main.go"], cwd=folder, env=env, check=True, capture_output=True, timeout=600
    )
    return (folder / "bootstrap").read_bytes()


def test_arm64_custom_runtime_runs_emulated_or_is_refused(lam, raw_lam, server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "go.mod").write_text("module bootstrap\n\ngo 1.19\n")
    code = make_zip({"bootstrap": _go_arm64_bootstrap(tmp_path)}, modes={"bootstrap": 0o755})
    settings = {"Role": ROLE, "Handler": "x", "Runtime": "provided.al2023", "Architectures": ["arm64"]}
    if "arm64" not in server.health()["architectures"]:  # no binfmt_misc here: a clear refusal
        message = refusal(raw_lam, **settings)
        assert "needs user-mode emulation (Debian's qemu-user-static and binfmt-support" in message
        return
    lam.create_function(FunctionName="arm-go", Code={"ZipFile": code}, **settings)
    try:
        assert lam.get_function(FunctionName="arm-go")["Configuration"]["Architectures"] == ["arm64"]
        reply = lam.invoke(FunctionName="arm-go", Payload=b"{}")
        body = json.loads(reply["Payload"].read())
        assert reply.get("FunctionError") is None and body["arch"] == "arm64" and body["uid"] != 0
    finally:
        lam.delete_function(FunctionName="arm-go")


NODE_VERSION = """
export const handler = async (event, context) => ({ version: process.version, name: context.functionName,
  env: process.env.AWS_EXECUTION_ENV, nodePath: process.env.NODE_PATH, uid: process.getuid() });
"""


def test_nodejs22_runs_on_node_22_from_the_npm_registry(lam, server, deploy) -> None:  # type: ignore[no-untyped-def]
    assert "nodejs22.x" in server.health()["runtimes"]  # make install brings it (Debian 12 has no Node 22)
    for _ in range(2):  # the second cold start may be served by a pre-started Node 22
        name = deploy({"index.mjs": NODE_VERSION}, handler="index.handler", runtime="nodejs22.x")
        reply = lam.invoke(FunctionName=name, Payload=b"{}")
        body = json.loads(reply["Payload"].read())
        assert reply.get("FunctionError") is None, body
        assert body["version"].startswith("v22.") and body["name"] == name and body["uid"] != 0
        assert body["env"] == "AWS_Lambda_nodejs22.x" and body["nodePath"].startswith("/opt/nodejs/node22/")


JAVA_VERSION = """
package v;

import com.amazonaws.services.lambda.runtime.Context;
import java.util.Map;

public class Version {
    public Map<String, Object> handleRequest(Map<String, Object> event, Context context) {
        if (event.containsKey("fail")) throw new IllegalArgumentException("asked to fail");
        return Map.of("feature", Runtime.version().feature(), "name", context.getFunctionName(),
            "env", System.getenv("AWS_EXECUTION_ENV"), "mine", String.valueOf(System.getenv("MINE")));
    }
}
"""


def test_java21_runs_on_temurin_21_from_pypi(lam, server, deploy, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert "java21" in server.health()["runtimes"]  # make install brings it (Debian 12 has no JDK 21)
    interfaces = Path(__file__).parents[2] / "src" / "kindling" / "runtimes" / "java"
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "Version.java").write_text(JAVA_VERSION)
    javac = shutil.which("javac") or "javac"
    subprocess.run(
        [javac, "-implicit:none", "-sourcepath", str(interfaces), "-d", str(tmp_path / "out"), "v/Version.java"],
        cwd=tmp_path, check=True, timeout=300,
    )  # fmt: skip
    files = {"v/Version.class": (tmp_path / "out" / "v" / "Version.class").read_bytes()}
    for _ in range(2):  # the second cold start may be served by a pre-started JVM
        name = deploy(
            files, handler="v.Version::handleRequest", runtime="java21", Environment={"Variables": {"MINE": "x"}}
        )
        reply = lam.invoke(FunctionName=name, Payload=b"{}")
        body = json.loads(reply["Payload"].read())
        assert reply.get("FunctionError") is None, body
        assert body == {"feature": 21, "name": name, "env": "AWS_Lambda_java21", "mine": "x"}
    reply = lam.invoke(FunctionName=name, Payload=b'{"fail": true}')
    body = json.loads(reply["Payload"].read())
    assert reply["FunctionError"] == "Unhandled" and body["errorType"] == "java.lang.IllegalArgumentException"
