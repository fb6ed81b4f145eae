"""The Configuration sections that write: asynchronous invocation destinations, layers (add a version, remove
it) and triggers (add an event source mapping by ARN, delete it), each checked with boto3."""

from __future__ import annotations

import pytest
from console_support import eventually, unique
from playwright.sync_api import Page, expect

from support import create_function, make_zip


@pytest.fixture(scope="module")
def function(lam) -> str:  # type: ignore[no-untyped-def]
    return create_function(lam, unique("configured"), {"app.py": "def handler(e, c):\n    return 1\n"})


@pytest.fixture(scope="module")
def queue_arn(server) -> str:  # type: ignore[no-untyped-def]
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName=unique("outcomes"))["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _section(page: Page, endpoint: str, function: str, section: str) -> None:
    page.goto(f"{endpoint}/console/#/functions/{function}/configuration")
    page.get_by_role("tab", name=section).click()


def test_asynchronous_invocation_destinations(server, lam, page: Page, function: str, queue_arn: str) -> None:
    _section(page, server.endpoint, function, "Asynchronous invocation")
    page.get_by_label("Retry attempts").fill("1")
    page.get_by_label("On failure destination").fill(queue_arn)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Asynchronous invocation saved")).to_be_visible()
    config = lam.get_function_event_invoke_config(FunctionName=function)
    assert config["MaximumRetryAttempts"] == 1
    assert config["DestinationConfig"]["OnFailure"] == {"Destination": queue_arn}
    expect(page.get_by_label("On failure destination")).to_have_value(queue_arn)
    page.get_by_label("On failure destination").fill("")
    with page.expect_response(lambda r: "event-invoke-config" in r.url and r.request.method == "PUT"):
        page.get_by_role("button", name="Save").click()
    assert not lam.get_function_event_invoke_config(FunctionName=function)["DestinationConfig"].get("OnFailure")


def test_add_and_remove_a_layer_version(server, lam, page: Page, function: str) -> None:
    layer = unique("shared")
    for text in ("one", "two"):
        version = lam.publish_layer_version(
            LayerName=layer, Content={"ZipFile": make_zip({"python/shared.py": f"WHICH = {text!r}\n"})}
        )
    _section(page, server.endpoint, function, "Layers")
    expect(page.get_by_text("This function has no layers.")).to_be_visible()
    page.get_by_label("Layer", exact=True).select_option(layer)
    page.get_by_label("Version", exact=True).select_option("2")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("cell", name=version["LayerVersionArn"], exact=True)).to_be_visible()
    assert [x["Arn"] for x in lam.get_function_configuration(FunctionName=function)["Layers"]] == [
        version["LayerVersionArn"]
    ]
    page.get_by_role("button", name=f"Remove {version['LayerVersionArn']}").click()
    expect(page.get_by_text("This function has no layers.")).to_be_visible()
    assert not lam.get_function_configuration(FunctionName=function).get("Layers")
    page.get_by_label("Layer version ARN").fill(f"{version['LayerArn']}:99")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("99")  # AWS's error for a missing version, shown as it is
    assert not lam.get_function_configuration(FunctionName=function).get("Layers")


def test_triggers_add_and_delete_an_event_source_mapping(server, lam, page: Page, function: str) -> None:
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName=unique("work"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    _section(page, server.endpoint, function, "Triggers")
    expect(page.get_by_text("No event source mappings.")).to_be_visible()
    page.get_by_label("Event source ARN").fill(arn)
    page.get_by_label("Batch size").fill("3")
    page.get_by_role("button", name="Add trigger").click()
    expect(page.get_by_role("cell", name=arn, exact=True)).to_be_visible()
    [mapping] = lam.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
    assert mapping["EventSourceArn"] == arn and mapping["BatchSize"] == 3
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_response(lambda r: "event-source-mappings" in r.url and r.request.method == "DELETE"):
        page.get_by_role("button", name=f"Delete {arn}").click()
    eventually(lambda: lam.list_event_source_mappings(FunctionName=function)["EventSourceMappings"] == [])
    page.get_by_role("tab", name="Triggers").click()  # drawn again
    expect(page.get_by_text("No event source mappings.")).to_be_visible()
