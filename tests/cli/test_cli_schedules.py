"""``kindling schedule add|ls|rm``: a function run on a schedule, managed from the command line."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


def test_schedule_add_fires_and_ls_rm_manage_it(cli, function_dir):
    (function_dir / "app.py").write_text("def handler(event, context):\n    print('fired by', event['resources'][0])\n")
    name = function_dir.name
    cli("deploy", str(function_dir))
    when = (datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%S")
    added = cli("schedule", "add", f"{name}-once", f"at({when})", "--function", name)
    assert added.stdout.strip() == f"schedule {name}-once: at({when}) → {name}, next {when}Z"
    row = next(line for line in cli("schedule", "ls").stdout.splitlines() if line.startswith(f"{name}-once "))
    assert f"at({when})" in row and "ENABLED" in row
    deadline = time.monotonic() + 10
    while "fired by" not in (printed := cli("logs", name).stdout) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert f"fired by arn:aws:events:us-east-1:000000000000:rule/{name}-once" in printed
    assert cli("schedule", "rm", f"{name}-once").stdout.strip() == f"removed schedule {name}-once"
    again = cli("schedule", "rm", f"{name}-once", check=False)
    assert again.returncode == 1
    assert again.stderr.splitlines() == [
        f"error: Schedule {name}-once does not exist.",
        "hint: `kindling schedule ls` lists the schedules",
    ]


def test_a_bad_expression_is_explained(cli, function_dir):
    (function_dir / "app.py").write_text("def handler(event, context):\n    return 1\n")
    cli("deploy", str(function_dir))
    bad = cli("schedule", "add", "bad", "rate(1 minutes)", "--function", function_dir.name, check=False)
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: schedule bad: Parameter ScheduleExpression is not valid: Use the singular")
