"""Every example under examples/ (one per runtime this project adds) deploys and answers."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from runtime_helpers import create, invoke, pip_target, zip_tree
from support import ROOT, deleting

EXAMPLES = ROOT / "examples"


@pytest.fixture
def example(lam, server):  # type: ignore[no-untyped-def]
    with deleting(lam) as created:

        def _deploy(folder: Path, runtime: str, handler: str, executable: tuple[str, ...] = ()) -> str:
            if runtime not in server.health()["runtimes"]:
                pytest.skip(f"{runtime} is not available on this machine")
            name = create(lam, f"example-{folder.name}", runtime, zip_tree(folder, executable=executable), handler)
            created.append(name)
            return name

        yield _deploy


def test_nodejs_example(lam, example):
    name = example(EXAMPLES / "nodejs", "nodejs20.x", "index.handler")
    body, error, log = invoke(lam, name, {"name": "Kindling"})
    assert error is None and body["greeting"] == "hello Kindling from Node 20"
    assert f"\t{body['requestId']}\tINFO\tgreeting Kindling" in log and 0 < body["remainingMs"] <= 3000


def test_shell_example(lam, example):
    name = example(EXAMPLES / "provided-shell", "provided.al2023", "function.handler", ("bootstrap",))
    body, error, log = invoke(lam, name, {"x": 1})
    assert error is None and body == {"greeting": "hello from sh", "event": {"x": 1}}
    assert "got an event of 8 bytes" in log  # {"x": 1}


@pytest.fixture(scope="module")
def go_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go example built offline with the standard library only (skipped where Go is missing)."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("go is not installed (make install adds Debian's golang-go)")
    out = tmp_path_factory.mktemp("go")
    cache = out / ".cache"
    env = {**os.environ, "GOCACHE": str(cache), "GOPATH": str(cache / "path"), "GOPROXY": "off", "CGO_ENABLED": "0"}
    built = out / "package"
    built.mkdir()
    subprocess.run(
        [go, "build", "-o", str(built / "bootstrap"), "main.go"], cwd=EXAMPLES / "go", env=env, check=True, timeout=300
    )
    return built


def test_go_example(lam, example, go_build):
    name = example(go_build, "provided.al2023", "bootstrap")
    body, error, log = invoke(lam, name, {"name": "gopher"})
    assert error is None, body
    assert body["greeting"] == "hello gopher from Go" and body["function"] == name
    assert body["request_id"] in log and "greeting gopher" in log and 0 < body["remaining_ms"] <= 3000
    body, error, _ = invoke(lam, name, {"name": "x", "fail": True})
    assert error == "Unhandled" and body == {"errorMessage": 'asked to fail for "x"', "errorType": "errorString"}


def test_java_example(lam, example, tmp_path):
    javac = shutil.which("javac")
    if javac is None:
        pytest.skip("no JDK on this machine")
    interfaces = ROOT / "src" / "kindling" / "runtimes" / "java"  # aws-lambda-java-core's, as Kindling provides them
    subprocess.run(
        [javac, "-implicit:none", "-sourcepath", str(interfaces), "-d", str(tmp_path), "example/Hello.java"],
        cwd=EXAMPLES / "java", check=True, timeout=120,
    )  # fmt: skip
    name = example(tmp_path, "java17", "example.Hello::handleRequest")
    body, error, log = invoke(lam, name, {"name": "duke"})
    assert error is None, body
    assert body == {
        "greeting": "hello duke from Java 17",
        "requestId": body["requestId"],
        "function": name,
        "memory": 128,
        "remainingOk": True,
    }
    assert "greeting duke" in log and f"START RequestId: {body['requestId']}" in log
    body, error, _ = invoke(lam, name, {"fail": True})
    assert error == "Unhandled" and body["errorType"] == "java.lang.IllegalArgumentException"
    assert body["errorMessage"] == "asked to fail" and body["stackTrace"][0].startswith(
        "example.Hello.handleRequest(Hello.java:"
    )
    body, error, _ = invoke(lam, name, {"name": "again"})  # the same environment, after an error
    assert error is None and body["greeting"] == "hello again from Java 17"

    lam.update_function_configuration(FunctionName=name, Handler="example.Missing::handleRequest")
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    body, error, _ = invoke(lam, name)
    assert error == "Unhandled" and body["errorType"] == "java.lang.ClassNotFoundException"


def test_nodejs_commonjs_example(lam, example):
    name = example(EXAMPLES / "nodejs-commonjs", "nodejs20.x", "index.handler")
    body, error, log = invoke(lam, name, {"name": "Kindling"})
    assert error is None and body == {"counted": 8, "functionName": name}
    assert "\tINFO\tcounting Kindling" in log
    body, error, _ = invoke(lam, name, {"name": "x", "fail": True})
    assert error == "Unhandled" and body["errorType"] == "TypeError" and body["errorMessage"] == "asked to fail for x"


def test_awslambdaric_example(lam, example, tmp_path):
    package = tmp_path / "package"
    shutil.copytree(EXAMPLES / "python-awslambdaric", package)
    pip_target(package, "awslambdaric")
    name = example(package, "provided.al2023", "app.handler", ("bootstrap",))
    body, error, _ = invoke(lam, name, {"name": "ric"})
    assert error is None and body["hello"] == "ric" and len(body["request_id"]) == 36
