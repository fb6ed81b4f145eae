"""``kindling deploy template.yaml``: a SAM template's functions and schedules, as a SAM user writes them."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from pathlib import Path

from cli_support import Lines

TEMPLATE = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting:
    Type: String
    Default: bonjour
Globals:
  Function:
    Runtime: python3.12
    Timeout: 5
    MemorySize: 256
    Environment:
      Variables:
        STAGE: dev
Resources:
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-hello"
      CodeUri: hello/
      Handler: app.handler
      Environment:
        Variables:
          GREETING: !Ref Greeting
      Policies: AWSLambdaBasicExecutionRole
      Events:
        Api:
          Type: HttpApi
        Greet:
          Type: Api
          Properties:
            Path: /greet/{who}
            Method: post
        Queue:
          Type: MQ
  TickFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: tick/
      Handler: tick.run
      MemorySize: 128
      Events:
        Every5:
          Type: Schedule
          Properties:
            Schedule: rate(5 minutes)
        Nightly:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(0 3 * * ? *)
            State: DISABLED
  Bucket:
    Type: AWS::S3::Bucket
"""


def project(root: Path) -> Path:
    (root / "hello").mkdir(parents=True)
    (root / "hello" / "app.py").write_text(
        "import os\n"
        "def handler(event, context):\n"
        "    if event.get('httpMethod'):\n"
        "        who = {'who': event['pathParameters']['who'], 'stage': event['requestContext']['stage']}\n"
        "        return {'statusCode': 200, 'body': __import__('json').dumps(who)}\n"
        "    return [os.environ['GREETING'], os.environ['STAGE']]\n"
    )
    (root / "tick").mkdir()
    (root / "tick" / "tick.py").write_text("def run(event, context):\n    return 'tick'\n")
    (root / "template.yaml").write_text(TEMPLATE)
    return root


def schedules(server) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    with urllib.request.urlopen(f"{server.endpoint}/kindling/schedules", timeout=10) as reply:
        return {rule["Name"]: rule for rule in json.loads(reply.read())["Schedules"]}


def remove(lam, server, hello: str) -> None:  # type: ignore[no-untyped-def]
    """What a test's template deployed: its two functions, the tick function's schedules, its APIs."""
    for name in (hello, "TickFunction"):
        with contextlib.suppress(lam.exceptions.ResourceNotFoundException):
            lam.delete_function(FunctionName=name)
    for rule in ("TickFunction-Every5", "TickFunction-Nightly"):
        with contextlib.suppress(OSError):
            request = urllib.request.Request(f"{server.endpoint}/kindling/schedules/{rule}", method="DELETE")
            urllib.request.urlopen(request, timeout=10)
    with urllib.request.urlopen(f"{server.endpoint}/kindling/apis", timeout=10) as reply:
        apis = json.loads(reply.read())["Items"]
    for api in apis:
        if api["Name"].startswith(hello.removesuffix("-hello") + "-"):
            request = urllib.request.Request(f"{server.endpoint}/kindling/apis/{api['ApiId']}", method="DELETE")
            urllib.request.urlopen(request, timeout=10)


def test_a_sam_template_deploys_its_functions_and_schedules(cli, server, lam, tmp_path):
    root = project(tmp_path / "samapp")
    try:
        first = cli("deploy", str(root))
        lines = first.stdout.splitlines()
        assert lines.pop(0) == "bucket samapp-bucket"
        assert lines[0] == "created samapp-hello (python3.12, app.handler, 256 MB, 5 s, 1 file, 0.3 KB)"
        assert lines[1].startswith("created TickFunction (python3.12, tick.run, 128 MB, 5 s")
        assert lines[2:] == [
            "schedule TickFunction-Every5: rate(5 minutes) → TickFunction",
            "schedule TickFunction-Nightly: cron(0 3 * * ? *) → TickFunction (disabled)",
            f"api ServerlessHttpApi {server.endpoint}/samapp: $default",
            f"api ServerlessRestApi {server.endpoint}/samapp-rest: POST /greet/{{who}}",
            "template.yaml: 7 resources changed",
        ]
        assert "warning: HelloFunction: Policies not supported by kindling, ignored" in first.stderr
        assert "warning: event Queue of HelloFunction (MQ) skipped" in first.stderr
        assert json.loads(cli("invoke", "samapp-hello").stdout) == ["bonjour", "dev"]
        routes = json.loads(cli("triggers", "samapp-hello", "--json").stdout)
        assert sorted((t["kind"], t["detail"]) for t in routes) == [
            ("api", "samapp-ServerlessHttpApi $default (payload 2.0)"),
            ("api", "samapp-ServerlessRestApi POST /greet/{who} (payload 1.0)"),
        ]
        ticks = json.loads(cli("triggers", "TickFunction", "--json").stdout)
        assert sorted((t["kind"], t["source"], t["state"]) for t in ticks) == [
            ("schedule", "TickFunction-Every5", "ENABLED"),
            ("schedule", "TickFunction-Nightly", "DISABLED"),
        ]
        rules = schedules(server)
        assert rules["TickFunction-Every5"]["State"] == "ENABLED"
        assert rules["TickFunction-Nightly"]["State"] == "DISABLED"
        # the HttpApi event without a path is the $default route (payload 2.0); the Api event is REST (1.0)
        with urllib.request.urlopen(f"{server.endpoint}/samapp/any/path", timeout=10) as reply:
            assert json.loads(reply.read()) == ["bonjour", "dev"]
        greet = urllib.request.Request(f"{server.endpoint}/samapp-rest/greet/ada", data=b"{}", method="POST")
        with urllib.request.urlopen(greet, timeout=10) as reply:
            assert json.loads(reply.read()) == {"who": "ada", "stage": "Prod"}

        again = cli("deploy", str(root / "template.yaml")).stdout.splitlines()
        assert again.pop(0) == "up to date: bucket samapp-bucket"
        assert again[:2] == [
            "samapp-hello is up to date: nothing changed",
            "TickFunction is up to date: nothing changed",
        ]
        assert again[-1] == "template.yaml: nothing changed"
        refused = cli("deploy", str(root), "--memory", "512", check=False)
        assert refused.returncode == 1 and "do not apply to a template" in refused.stderr
    finally:
        remove(lam, server, "samapp-hello")


def test_an_unsupported_intrinsic_is_one_line_and_a_hint(cli, tmp_path):
    root = project(tmp_path / "broken")
    (root / "template.yaml").write_text(TEMPLATE.replace("!Ref Greeting", "!GetAtt Bucket.WebsiteURL"))
    failed = cli("deploy", str(root), check=False)
    assert failed.returncode == 1
    assert failed.stderr.splitlines()[-2:] == [
        "error: HelloFunction: !GetAtt Bucket.WebsiteURL is not supported by kindling",
        "hint: kindling knows !GetAtt X.Arn of the functions, buckets, queues, topics, tables and streams",
    ]


def test_dev_on_a_template_reloads_the_function_whose_code_changed(cli, server, lam, tmp_path):
    root = project(tmp_path / "samdev")
    dev = Lines(cli.start("dev", str(root)))
    try:
        dev.wait_for(lambda line: line.startswith("watching "))
        (root / "tick" / "tick.py").write_text("def run(event, context):\n    return 'tock'\n")
        dev.wait_for(lambda line: line.startswith("updated TickFunction in ") and line.endswith("(tick.py)"))
        assert json.load(lam.invoke(FunctionName="TickFunction")["Payload"]) == "tock"
        assert json.load(lam.invoke(FunctionName="samdev-hello")["Payload"]) == ["bonjour", "dev"]
    finally:
        dev.stop()
        remove(lam, server, "samdev-hello")
    assert not any(line.startswith("updated samdev-hello") for line in dev.seen)


SNAPSTART_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Heavy:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: {name}
      CodeUri: heavy/
      Handler: app.handler
      Runtime: python3.12
      AutoPublishAlias: live
      SnapStart:
        ApplyOn: PublishedVersions
"""


def test_snapstart_with_an_auto_published_alias(cli, lam, tmp_path):
    """SAM's usual SnapStart set-up: the deploy waits for the snapshot, then points the alias at it."""
    name = "sam-snap"
    root = tmp_path / "snapapp"
    (root / "heavy").mkdir(parents=True)
    (root / "heavy" / "app.py").write_text(
        "import os\nINIT = os.environ['AWS_LAMBDA_INITIALIZATION_TYPE']\n"
        "def handler(event, context):\n    return INIT\n"
    )
    (root / "template.yaml").write_text(SNAPSTART_TEMPLATE.format(name=name))
    try:
        lines = cli("deploy", str(root)).stdout.splitlines()
        assert lines[0].startswith(f"created {name} (python3.12, app.handler") and "SnapStart" in lines[0]
        assert "alias live → version 1" in "\n".join(lines)
        version = lam.get_function_configuration(FunctionName=name, Qualifier="live")
        assert version["State"] == "Active" and version["SnapStart"]["OptimizationStatus"] == "On"
        assert json.loads(cli("invoke", f"{name}:live").stdout) == "snap-start"
        (root / "heavy" / "app.py").write_text("def handler(event, context):\n    raise_at_init()\nraise_at_init()\n")
        failed = cli("deploy", str(root), check=False)
        assert failed.returncode == 1
        assert failed.stderr.splitlines()[-2].startswith(f"error: {name} version 2: ")
        assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "1"  # still the good one
    finally:
        with contextlib.suppress(lam.exceptions.ResourceNotFoundException):
            lam.delete_function(FunctionName=name)
