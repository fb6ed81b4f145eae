"""``kindling logs`` and ``kindling dev``: reading what a function printed, and the edit-save-invoke loop."""

from __future__ import annotations

import json
import time

from cli_support import Lines

PRINTER = "def handler(event, context):\n    print(event.get('say', 'nothing'))\n    return 'ok'\n"


def test_logs_prints_filters_and_limits_by_time(cli, function_dir):
    (function_dir / "app.py").write_text(PRINTER)
    name = function_dir.name
    cli("deploy", str(function_dir))
    assert cli("logs", name).stdout.strip() == f"no logs for {name} yet: `kindling invoke {name}` runs it"
    cli("invoke", name, "--payload", '{"say": "first words"}')
    cli("invoke", name, "--payload", json.dumps({"say": json.dumps({"level": "ERROR", "code": 7})}))
    lines = cli("logs", name).stdout.splitlines()
    said = next(line for line in lines if line.endswith("first words"))
    stamp = said.split(" ", 1)[0]
    assert len(stamp) == 12 and stamp[2] == ":" and stamp[8] == "."  # HH:MM:SS.mmm
    assert any(" START RequestId: " in line for line in lines) and any(" REPORT RequestId: " in line for line in lines)
    assert cli("logs", name, "--filter", '"first words"').stdout.splitlines() == [said]
    assert cli("logs", name, "--filter", "{ $.code > 5 }").stdout.strip().endswith('{"level": "ERROR", "code": 7}')
    time.sleep(1.2)
    assert cli("logs", name, "--since", "1s").stdout == ""
    bad = cli("logs", name, "--since", "yesterday", check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("error: --since 'yesterday' is not a duration")
    broken = cli("logs", name, "--filter", "{ $.x > }", check=False)
    assert broken.returncode == 1 and broken.stderr.startswith("error: Invalid filter pattern")


def test_logs_reads_a_custom_log_group_and_outlives_the_function(cli, function_dir, lam):
    (function_dir / "app.py").write_text(PRINTER)
    name = function_dir.name
    cli("deploy", str(function_dir))
    lam.update_function_configuration(
        FunctionName=name, LoggingConfig={"LogFormat": "Text", "LogGroup": f"/custom/{name}"}
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    cli("invoke", name, "--payload", '{"say": "to the custom group"}')
    assert cli("logs", name, "--filter", "custom").stdout.strip().endswith("to the custom group")
    lam.update_function_configuration(
        FunctionName=name, LoggingConfig={"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"}
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    cli("invoke", name, "--payload", '{"say": "last words"}')
    cli("rm", name)
    assert cli("logs", name, "--filter", '"last words"').stdout.strip().endswith("last words")


def test_logs_of_a_missing_function_is_an_error(cli):
    missing = cli("logs", "no-such-function", check=False)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: no function named 'no-such-function'")


def test_logs_follow_prints_new_events_as_they_come(cli, function_dir):
    (function_dir / "app.py").write_text(PRINTER)
    name = function_dir.name
    cli("deploy", str(function_dir))
    follower = Lines(cli.start("logs", name, "--follow"))
    try:
        cli("invoke", name, "--payload", '{"say": "marker one"}')
        follower.wait_for(lambda line: line.endswith("marker one"))
        cli("invoke", name, "--payload", '{"say": "marker two"}')
        follower.wait_for(lambda line: line.endswith("marker two"))
        follower.wait_for(lambda line: " REPORT RequestId: " in line)
    finally:
        follower.stop()
    assert sum(line.endswith("marker one") for line in follower.seen) == 1


def test_dev_applies_each_saved_change(cli, function_dir, lam):
    source = function_dir / "app.py"
    source.write_text("def handler(event, context):\n    return 'v1'\n")
    name = function_dir.name
    dev = Lines(cli.start("dev", str(function_dir)))
    try:
        dev.wait_for(lambda line: line.startswith(f"created {name}"))
        dev.wait_for(lambda line: line.startswith("watching "))
        for version in ("v2", "v3"):
            source.write_text(f"def handler(event, context):\n    return {version!r}\n")
            dev.wait_for(lambda line: line.startswith(f"updated {name} in ") and line.endswith("(app.py)"))
            assert json.load(lam.invoke(FunctionName=name)["Payload"]) == version
        (function_dir / "notes.txt~").write_text("an editor backup")
        source.write_text("def handler(event, context):\n    return (\n")
        dev.wait_for(lambda line: line.startswith("warning: app.py:2: "))
    finally:
        assert dev.stop() in (0, 1, 130)
    assert sum(line.startswith(f"updated {name} in ") for line in dev.seen) == 3
    assert not any("notes.txt~" in line for line in dev.seen)
