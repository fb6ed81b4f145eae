"""Blueprints in the console: each creates its function and its trigger through the public APIs, and the
trigger then runs the function (an S3 upload, an SQS message, an HTTP request, a schedule)."""

from __future__ import annotations

import http.client
import json
import urllib.request
from urllib.parse import urlsplit

import pytest
from console_support import logged, shot, unique
from playwright.sync_api import Page, expect

from support import create_function

SERVER_ARGS = ("--runtime", "ruby3.2=/usr/bin/ruby")  # Debian's Ruby (3.1) serves ruby3.2, as in tests/runtimes


def _create(page: Page, endpoint: str, blueprint: str, name: str, runtime: str, shoot: str = "", **fields: str) -> None:
    page.goto(f"{endpoint}/console/#/create")
    page.get_by_label("Use a blueprint").check()
    page.get_by_label(blueprint).check()
    page.get_by_label("Function name").fill(name)
    page.get_by_label("Runtime").select_option(runtime)
    for label, value in fields.items():
        page.get_by_label(label.replace("_", " ").capitalize(), exact=True).fill(value)
    if shoot:
        shot(page, shoot)
    page.get_by_role("button", name="Create function").click()
    created = f"Successfully created the function {name}"
    expect(page.get_by_role("status").filter(has_text=created)).to_be_visible()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()


@pytest.mark.parametrize("runtime", ["python3.12", "nodejs20.x"])
def test_s3_object_processor_runs_for_each_upload(server, lam, page: Page, runtime: str) -> None:
    name, bucket = unique("s3proc"), unique("uploads")
    s3 = server.client("s3")
    s3.create_bucket(Bucket=bucket)
    other = create_function(lam, unique("other"), {"app.py": "def handler(e, c):\n    return 1\n"})
    lam.add_permission(
        FunctionName=other, StatementId="s3", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com"
    )
    other_arn = lam.get_function(FunctionName=other)["Configuration"]["FunctionArn"]
    s3.put_bucket_notification_configuration(  # a notification the bucket had is kept
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [{"LambdaFunctionArn": other_arn, "Events": ["s3:ObjectRemoved:*"]}]
        },
    )
    _create(page, server.endpoint, "Get S3 object", name, runtime, "blueprints", bucket_name=bucket)
    arns = [
        c["LambdaFunctionArn"]
        for c in s3.get_bucket_notification_configuration(Bucket=bucket)["LambdaFunctionConfigurations"]
    ]
    assert len(arns) == 2 and arns[1].endswith(f":function:{name}")
    statement = json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    page.get_by_role("tab", name="Configuration").click()
    page.get_by_role("tab", name="Triggers").click()
    source = page.get_by_role("row").filter(has=page.get_by_role("cell", name=f"arn:aws:s3:::{bucket}", exact=True))
    expect(source.get_by_role("cell", name="s3.amazonaws.com")).to_be_visible()
    s3.put_object(Bucket=bucket, Key="reports/june 1.txt", Body=b"hello", ContentType="text/plain")
    assert f"New object s3://{bucket}/reports/june 1.txt of type text/plain" in logged(server, name, "New object")


def test_sqs_consumer_gets_the_queue_messages(server, lam, page: Page) -> None:
    name, queue = unique("consumer"), unique("orders")
    _create(page, server.endpoint, "Process SQS messages", name, "nodejs20.x", queue_name=queue, batch_size="5")
    [mapping] = lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
    assert mapping["EventSourceArn"].endswith(f":{queue}") and mapping["BatchSize"] == 5
    sqs = server.client("sqs")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=queue)["QueueUrl"], MessageBody="order 42")
    assert "order 42" in logged(server, name, "order 42")
    page.get_by_role("tab", name="Configuration").click()
    page.get_by_role("tab", name="Triggers").click()
    expect(page.get_by_role("cell", name=mapping["EventSourceArn"], exact=True)).to_be_visible()
    shot(page, "triggers")
    page.get_by_role("button", name=f"Disable {mapping['EventSourceArn']}").click()
    expect(page.get_by_role("button", name=f"Enable {mapping['EventSourceArn']}")).to_be_visible()
    assert lam.get_event_source_mapping(UUID=mapping["UUID"])["State"] in ("Disabled", "Disabling")


@pytest.mark.parametrize("runtime", ["python3.12", "nodejs20.x"])
def test_http_api_answers_on_its_function_url(server, lam, page: Page, runtime: str) -> None:
    name = unique("api")
    _create(page, server.endpoint, "HTTP API (function URL)", name, runtime)
    url = lam.get_function_url_config(FunctionName=name)["FunctionUrl"]
    assert lam.get_function_url_config(FunctionName=name)["AuthType"] == "NONE"
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)  # *.localhost need not resolve
    try:
        connection.request("GET", "/items?color=red", headers={"Host": urlsplit(url).netloc})
        answer = connection.getresponse()
        assert answer.status == 200
        assert json.loads(answer.read()) == {"message": "Hello from GET /items", "query": {"color": "red"}}
    finally:
        connection.close()


@pytest.mark.parametrize("runtime", ["python3.12", "nodejs20.x"])
def test_scheduled_job_gets_a_schedule(server, lam, page: Page, runtime: str) -> None:
    name = unique("nightly")
    _create(page, server.endpoint, "Scheduled job", name, runtime, schedule_expression="rate(2 hours)")
    event = {"detail-type": "Scheduled Event", "source": "aws.events", "time": "2026-01-01T00:00:00Z"}
    assert lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())["Payload"].read() == b'"done"'
    assert "event time 2026-01-01T00:00:00Z" in logged(server, name, "Scheduled run at")
    with urllib.request.urlopen(f"{server.endpoint}/kindling/schedules") as answer:
        schedules = json.loads(answer.read())["Schedules"]
    mine = [s for s in schedules if name in json.dumps(s)]
    assert len(mine) == 1 and mine[0]["ScheduleExpression"] == "rate(2 hours)"
    page.get_by_role("tab", name="Configuration").click()
    page.get_by_role("tab", name="Triggers").click()
    expect(page.get_by_role("cell", name="rate(2 hours)")).to_be_visible()


def test_a_trigger_that_fails_leaves_the_function_and_says_why(server, lam, page: Page) -> None:
    name = unique("badschedule")
    page.goto(f"{server.endpoint}/console/#/create")
    page.get_by_label("Use a blueprint").check()
    page.get_by_label("Scheduled job").check()
    page.get_by_label("Function name").fill(name)
    page.get_by_label("Schedule expression", exact=True).fill("rate(soon)")
    page.get_by_role("button", name="Create function").click()
    failed = f"Created the function {name}, but its trigger failed"
    expect(page.get_by_role("status").filter(has_text=failed)).to_contain_text("ScheduleExpression is not valid")
    assert lam.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name


def test_a_custom_runtime_starts_with_a_shell_hello_world(server, lam, page: Page) -> None:
    name = unique("shell")
    page.goto(f"{server.endpoint}/console/#/create")
    page.get_by_label("Function name").fill(name)
    page.get_by_label("Runtime").select_option("provided.al2023")
    page.get_by_role("button", name="Create function").click()
    expect(page.get_by_role("button", name="bootstrap")).to_be_visible()
    expect(page.locator(".cm-content")).to_contain_text("Hello from Lambda!")  # function.sh, the handler's file
    page.get_by_role("tab", name="Test").click()
    page.get_by_role("button", name="Test", exact=True).click()
    result = page.get_by_role("region", name="Execution result")
    expect(result).to_contain_text("Status: Succeeded")
    expect(result.locator(".response")).to_contain_text('"body": "\\"Hello from Lambda!\\""')
    expect(result.locator(".logs")).to_contain_text('Received event: {"key1":"value1"')
    assert lam.get_function_configuration(FunctionName=name)["Handler"] == "function.handler"


def test_ruby_starts_with_aws_default_and_has_the_hello_world_blueprint(server, lam, page: Page) -> None:
    assert "ruby3.2" in server.health()["runtimes"]
    name = unique("ruby")
    _create(page, server.endpoint, "Hello world function", name, "ruby3.2")
    expect(page.locator(".cm-content")).to_contain_text("Received event")
    page.get_by_role("tab", name="Test").click()
    page.get_by_role("button", name="Test", exact=True).click()
    result = page.get_by_role("region", name="Execution result")
    expect(result.locator(".response")).to_have_text('"value1"')
    expect(result.locator(".logs")).to_contain_text("value1 = value1")
    plain = unique("rubyplain")
    page.goto(f"{server.endpoint}/console/#/create")
    page.get_by_label("Function name").fill(plain)
    page.get_by_label("Runtime").select_option("ruby3.2")
    page.get_by_role("button", name="Create function").click()
    expect(page.get_by_role("heading", name=plain, level=1)).to_be_visible()
    answer = json.loads(lam.invoke(FunctionName=plain)["Payload"].read())
    assert answer == {"statusCode": 200, "body": '"Hello from Lambda!"'}
