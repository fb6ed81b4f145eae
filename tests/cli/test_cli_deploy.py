"""``kindling deploy``, ``invoke``, ``ls`` and ``rm`` as a developer uses them."""

from __future__ import annotations

import json
import subprocess
import zipfile
from pathlib import Path

from support import KINDLING, ROOT

VERSIONED = (
    "def handler(event, context):\n    print('serving version {v}')\n    return {{'version': {v}, 'event': event}}\n"
)


def app(directory: Path, version: int) -> None:
    (directory / "app.py").write_text(VERSIONED.format(v=version))


def test_deploy_creates_then_reports_only_what_changed(cli, function_dir, lam):
    app(function_dir, 1)
    name = function_dir.name
    created = cli("deploy", str(function_dir))
    assert created.stdout.startswith(f"created {name} (python3.12, app.handler, 128 MB, 3 s")
    first_sha = lam.get_function_configuration(FunctionName=name)["CodeSha256"]

    (function_dir / "__pycache__").mkdir()
    (function_dir / "__pycache__" / "app.cpython-312.pyc").write_bytes(b"junk")
    again = cli("deploy", str(function_dir))
    assert again.stdout.strip() == f"{name} is up to date: nothing changed"
    assert lam.get_function_configuration(FunctionName=name)["CodeSha256"] == first_sha

    app(function_dir, 2)
    changed = cli("deploy", str(function_dir), "--memory", "256", "--timeout", "10", "--env", "GREETING=hi")
    assert changed.stdout.startswith(f"updated {name}: ")
    assert "memory 128 MB → 256 MB" in changed.stdout
    assert "timeout 3 s → 10 s" in changed.stdout
    assert "environment none → GREETING=hi" in changed.stdout
    assert "code (1 file" in changed.stdout
    config = lam.get_function_configuration(FunctionName=name)
    assert (config["MemorySize"], config["Timeout"], config["Environment"]["Variables"]) == (
        256,
        10,
        {"GREETING": "hi"},
    )
    result = json.loads(cli("invoke", name).stdout)
    assert result["version"] == 2


def test_invoke_prints_the_result_and_the_log_tail(cli, function_dir, tmp_path):
    app(function_dir, 7)
    cli("deploy", str(function_dir), "--name", function_dir.name)
    ran = cli("invoke", function_dir.name, "--payload", '{"x": 1}')
    assert json.loads(ran.stdout) == {"version": 7, "event": {"x": 1}}
    assert "START RequestId:" in ran.stderr and "serving version 7" in ran.stderr and "REPORT RequestId:" in ran.stderr
    event = tmp_path / "event.json"
    event.write_text('{"from": "file"}')
    assert json.loads(cli("invoke", function_dir.name, "--payload", f"@{event}").stdout)["event"] == {"from": "file"}
    piped = subprocess.run(
        [KINDLING, "invoke", function_dir.name, "--payload", "@-"],
        input='{"from": "stdin"}', capture_output=True, text=True, env=cli.env, check=True,
    )  # fmt: skip
    assert json.loads(piped.stdout)["event"] == {"from": "stdin"}
    queued = cli("invoke", function_dir.name, "--async")
    assert "queued" in queued.stderr and queued.stdout == ""


def test_a_function_error_is_shown_and_fails_the_command(cli, function_dir):
    (function_dir / "app.py").write_text("def handler(event, context):\n    raise ValueError('boom')\n")
    cli("deploy", str(function_dir))
    failed = cli("invoke", function_dir.name, check=False)
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["errorType"] == "ValueError"
    assert f"error: {function_dir.name} failed (Unhandled)" in failed.stderr


def test_handler_detection(cli, function_dir, lam):
    (function_dir / "lambda_function.py").write_text("def lambda_handler(event, context):\n    return 'lf'\n")
    (function_dir / "util.py").write_text("def helper():\n    return 1\n")
    cli("deploy", str(function_dir))
    assert lam.get_function_configuration(FunctionName=function_dir.name)["Handler"] == "lambda_function.lambda_handler"
    assert json.loads(cli("invoke", function_dir.name).stdout) == "lf"


def test_an_ambiguous_handler_is_one_line_and_a_hint(cli, tmp_path):
    directory = tmp_path / "ambiguous"
    directory.mkdir()
    for module in ("one", "two"):
        (directory / f"{module}.py").write_text("def handler(event, context):\n    return 1\n")
    failed = cli("deploy", str(directory), check=False)
    assert failed.returncode == 1
    assert failed.stderr.splitlines() == [
        f"error: cannot tell which function in {directory} is the handler",
        "hint: pass --handler module.function, e.g. --handler app.handler",
    ]
    assert cli("deploy", str(directory), "--handler", "two.handler", "--name", "cli-ambiguous").returncode == 0
    cli("rm", "cli-ambiguous")


def wheel(path: Path) -> Path:
    """A tiny pure-Python wheel, so installing requirements needs no network."""
    target = path / "tinydep-1.0-py3-none-any.whl"
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("tinydep/__init__.py", "VALUE = 42\n")
        archive.writestr("tinydep-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: tinydep\nVersion: 1.0\n")
        archive.writestr(
            "tinydep-1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr("tinydep-1.0.dist-info/RECORD", "")
    return target


def test_requirements_are_installed_once_and_bundled(cli, function_dir, tmp_path, lam):
    package = wheel(tmp_path)
    (function_dir / "requirements.txt").write_text(f"{package}\n")
    (function_dir / "app.py").write_text("import tinydep\ndef handler(event, context):\n    return tinydep.VALUE\n")
    cli("deploy", str(function_dir))
    assert json.loads(cli("invoke", function_dir.name).stdout) == 42
    code = lam.get_function(FunctionName=function_dir.name)
    assert code["Configuration"]["CodeSize"] > 0

    package.unlink()  # a second pip run would now fail: the cached build must be used
    (function_dir / "app.py").write_text("import tinydep\ndef handler(event, context):\n    return tinydep.VALUE + 1\n")
    assert "code (" in cli("deploy", str(function_dir)).stdout
    assert json.loads(cli("invoke", function_dir.name).stdout) == 43


def test_ls_and_rm(cli, function_dir):
    app(function_dir, 1)
    cli("deploy", str(function_dir))
    listing = cli("ls").stdout
    header = listing.splitlines()[0].split()
    assert header == ["NAME", "RUNTIME", "HANDLER", "MEMORY", "TIMEOUT", "CODE", "MODIFIED", "TRIGGERS"]
    row = next(line for line in listing.splitlines() if line.startswith(function_dir.name + " "))
    assert "python3.12" in row and "app.handler" in row and "128 MB" in row
    assert cli("rm", function_dir.name).stdout.strip() == f"removed {function_dir.name}"
    assert function_dir.name not in cli("ls").stdout
    missing = cli("rm", function_dir.name, check=False)
    assert missing.returncode == 1
    assert missing.stderr.startswith(f"error: no function named '{function_dir.name}'\nhint: ")


def test_errors_are_one_line_and_a_hint_unless_debug(cli):
    down = cli("ls", "--endpoint", "http://127.0.0.1:9", check=False)
    assert down.returncode == 1
    assert down.stderr.splitlines() == [
        "error: cannot reach Kindling at http://127.0.0.1:9",
        "hint: start it with `make run` (or `kindling server`), or point --endpoint / KINDLING_ENDPOINT at it",
    ]
    debug = cli("ls", "--endpoint", "http://127.0.0.1:9", "--debug", check=False)
    assert debug.returncode == 1 and "Traceback" in debug.stderr
    bad = cli("invoke", "whatever", "--payload", "{nope", check=False)
    assert (
        bad.returncode == 1
        and bad.stderr.startswith("error: the payload is not JSON")
        and "Traceback" not in bad.stderr
    )


def test_the_example_deploys_and_greets(cli, lam):
    cli("deploy", str(ROOT / "examples" / "hello"), "--name", "cli-example-hello")
    try:
        assert json.loads(cli("invoke", "cli-example-hello", "--payload", '{"name": "Ada"}').stdout) == {
            "message": "Hello, Ada!"
        }
    finally:
        lam.delete_function(FunctionName="cli-example-hello")


def test_server_keeps_its_options(cli):
    usage = cli("server", "--help").stdout
    for option in (
        "--host", "--port", "--data-dir", "--sandbox", "--no-network", "--keep-alive", "--concurrency",
        "--no-cpu-quota", "--runtime", "--log-level",
    ):  # fmt: skip
        assert option in usage
    refused = cli("server", "--runtime", "python3.12", check=False)
    assert refused.returncode == 2 and "expected RUNTIME=INTERPRETER" in refused.stderr
