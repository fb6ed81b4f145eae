"""The web console in a real chromium against a real server: the seeds' walkthrough and the main pages."""

from __future__ import annotations

import io
import json
import re
import urllib.error
import urllib.request
import zipfile

from console_support import shot, unique
from playwright.sync_api import Page, expect

from support import make_zip


def _create_from_scratch(page: Page, endpoint: str, name: str) -> None:
    page.goto(f"{endpoint}/console/#/create")
    page.get_by_label("Function name").fill(name)
    page.get_by_label("Runtime").select_option("python3.12")
    page.get_by_role("button", name="Create function").click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()


def test_served_at_console_with_gzip_and_nothing_outside(server) -> None:
    request = urllib.request.Request(f"{server.endpoint}/console/", headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request) as answer:
        assert answer.headers["Content-Encoding"] == "gzip"
        assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
    for path in ("/console/../server.py", "/console/assets.py", "/console/nothing.js"):
        try:
            urllib.request.urlopen(f"{server.endpoint}{path}")
            raise AssertionError(f"{path} was served")
        except urllib.error.HTTPError as error:
            assert error.code == 404
    assert server.health()["auth"] == "open"
    # no route table can take the console's path
    document = {"Name": "shadow", "BasePath": "/console", "Routes": [{"RouteKey": "$default", "Function": "any"}]}
    shadow = urllib.request.Request(
        f"{server.endpoint}/kindling/apis", data=json.dumps(document).encode(), method="POST"
    )
    try:
        urllib.request.urlopen(shadow)
        raise AssertionError("a route table took /console")
    except urllib.error.HTTPError as error:
        assert error.code == 400
        assert "/console" in error.read().decode()


def test_seed_walkthrough_create_edit_deploy_test(server, lam, page: Page) -> None:
    name = unique("hello")
    _create_from_scratch(page, server.endpoint, name)
    assert lam.get_function(FunctionName=name)["Configuration"]["Runtime"] == "python3.12"
    editor = page.locator(".cm-content")
    expect(editor).to_contain_text("Hello from Lambda!")
    shot(page, "code")
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\nprint('edited in the console')\n")
    expect(page.get_by_text("Changes not deployed")).to_be_visible()
    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_text("Changes not deployed")).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="Successfully updated")).to_be_visible()
    page.get_by_role("tab", name="Test").click()
    page.get_by_label("Event name").fill("MyEvent")
    page.get_by_label("Event JSON").fill('{"key": "value"}')
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_role("button", name="Test", exact=True).click()
    result = page.get_by_role("region", name="Execution result")
    expect(result).to_contain_text("Status: Succeeded")
    expect(result.locator(".response")).to_contain_text("Hello from Lambda!")
    logs = result.locator(".logs")
    expect(logs).to_contain_text("START RequestId")
    expect(logs).to_contain_text("edited in the console")
    expect(logs).to_contain_text("REPORT RequestId")
    for label in ("Request ID", "Duration", "Billed duration", "Max memory used", "Init duration"):
        expect(result.locator("dt", has_text=re.compile(f"^{label}$"))).to_be_visible()
    shot(page, "test")
    page.reload()  # the saved event is still there
    expect(page.get_by_label("Event name")).to_have_value("MyEvent")
    page.get_by_role("tab", name="Monitor").click()
    expect(page.locator("[data-metric=invocations]")).to_have_text("1")
    expect(page.get_by_label("Log events", exact=True)).to_contain_text("edited in the console")
    page.get_by_label("Live tail").check()
    lam.invoke(FunctionName=name, Payload=b'{"from": "boto3"}')
    two_starts = re.compile(r"START RequestId[\s\S]*START RequestId")
    expect(page.get_by_label("Log events", exact=True)).to_have_text(two_starts, timeout=10_000)


def test_create_from_zip(server, lam, page: Page, tmp_path) -> None:
    name = unique("zipped")
    package = tmp_path / "app.zip"
    binary = bytes(range(256))
    package.write_bytes(
        make_zip({"app.py": "def handler(event, context):\n    return {'zipped': True}\n", "data.bin": binary})
    )
    page.goto(f"{server.endpoint}/console/#/create")
    page.get_by_label("Upload a .zip file").check()
    page.get_by_label("Function name").fill(name)
    page.get_by_label("Upload .zip file").set_input_files(str(package))
    page.get_by_label("Handler").fill("app.handler")
    shot(page, "create")
    page.get_by_role("button", name="Create function").click()
    expect(page.locator(".cm-content")).to_contain_text("zipped")
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'{"zipped": true}'
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\ndef other(event, context):\n    raise ValueError('broken on purpose')\n")
    expect(page.get_by_text("Changes not deployed")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept("helper.py"))
    page.get_by_role("button", name="New file").click()
    expect(page.get_by_role("button", name="helper.py")).to_have_attribute("aria-current", "true")
    page.locator(".cm-content").click()
    page.keyboard.type("HELPER = 1\n")
    page.keyboard.press("Control+s")
    expect(page.get_by_text("Changes not deployed")).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text="Successfully updated")).to_be_visible()
    location = lam.get_function(FunctionName=name)["Code"]["Location"]
    with urllib.request.urlopen(location) as answer, zipfile.ZipFile(io.BytesIO(answer.read())) as deployed:
        assert deployed.read("data.bin") == binary  # a binary file survives the round trip
        assert deployed.read("helper.py").decode().startswith("HELPER = 1")
        assert "broken on purpose" in deployed.read("app.py").decode()
    lam.update_function_configuration(FunctionName=name, Handler="app.other")
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    page.get_by_role("tab", name="Test").click()
    page.get_by_role("button", name="Test", exact=True).click()
    result = page.get_by_role("region", name="Execution result")
    expect(result).to_contain_text("Status: Failed")
    expect(result.locator(".response")).to_contain_text("broken on purpose")


def test_configuration_memory_env_versions_aliases(server, lam, page: Page) -> None:
    name = unique("configured")
    _create_from_scratch(page, server.endpoint, name)
    page.get_by_role("tab", name="Configuration").click()
    page.get_by_label("Memory (MB)").fill("256")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Successfully updated")).to_be_visible()
    page.get_by_role("tab", name="Environment variables").click()
    page.get_by_role("button", name="Add environment variable").click()
    page.get_by_label("Key").fill("GREETING")
    page.get_by_label("Value").fill("hi")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Successfully updated")).to_be_visible()
    expect(page.get_by_label("Key")).to_have_value("GREETING")  # the page stays on its section after a save
    config = lam.get_function_configuration(FunctionName=name)
    assert config["MemorySize"] == 256
    assert config["Environment"]["Variables"] == {"GREETING": "hi"}
    shot(page, "configuration")
    page.get_by_role("tab", name="Versions and aliases").click()
    page.get_by_role("button", name="Publish new version").click()
    expect(page.get_by_role("cell", name="1", exact=True)).to_be_visible()
    page.get_by_label("Alias name").fill("live")
    page.get_by_label("Alias version").select_option("1")
    page.get_by_role("button", name="Create alias").click()
    expect(page.get_by_role("cell", name="live")).to_be_visible()
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]] == ["$LATEST", "1"]
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == "1"
    page.get_by_role("tab", name="Configuration").click()
    page.get_by_role("tab", name="Concurrency").click()
    page.get_by_label("Reserved concurrency").fill("5")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Concurrency saved")).to_be_visible()
    page.get_by_label("Qualifier").fill("live")
    page.get_by_label("Provisioned concurrency", exact=True).fill("1")
    page.get_by_role("button", name="Add provisioned concurrency").click()
    expect(page.get_by_role("cell", name="live")).to_be_visible()
    assert lam.get_function_concurrency(FunctionName=name)["ReservedConcurrentExecutions"] == 5
    provisioned = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="live")
    assert provisioned["RequestedProvisionedConcurrentExecutions"] == 1


def test_functions_list_search_and_phone_size(server, lam, page: Page) -> None:
    name = unique("listed")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role="arn:aws:iam::000000000000:role/test",
        Handler="app.handler",
        Code={"ZipFile": make_zip({"app.py": "def handler(e, c):\n    return 1\n"})},
    )
    lam.invoke(FunctionName=name)
    page.goto(f"{server.endpoint}/console/")
    expect(page.get_by_role("link", name=name)).to_be_visible()
    page.get_by_label("Filter functions").fill(name)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=name))
    expect(row).to_have_count(1)
    expect(row.locator("[data-stat=invocations]")).to_have_text("1")
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("button", name="Deploy")).to_be_visible()
    shot(page, "phone")


def test_node_blueprint_runs_the_hello_world_template(server, lam, page: Page) -> None:
    name = unique("blueprint")
    page.goto(f"{server.endpoint}/console/#/create")
    page.get_by_label("Use a blueprint").check()
    page.get_by_label("Function name").fill(name)
    page.get_by_label("Runtime").select_option("nodejs20.x")
    page.get_by_role("button", name="Create function").click()
    expect(page.locator(".cm-content")).to_contain_text("Received event")
    assert lam.get_function(FunctionName=name)["Configuration"]["Handler"] == "index.handler"
    page.get_by_role("tab", name="Test").click()
    page.get_by_role("button", name="Test", exact=True).click()
    result = page.get_by_role("region", name="Execution result")
    expect(result.locator(".response")).to_have_text('"value1"')
    expect(result.locator(".logs")).to_contain_text("value1 = value1")


def test_first_load_is_small(server) -> None:
    """AWS-console-like pages in at most 300 KB of compressed JavaScript on first load (the editor loads later)."""
    with urllib.request.urlopen(f"{server.endpoint}/console/") as answer:
        scripts = re.findall(r'src="([^"]+\.js)"', answer.read().decode())
    total = 0
    for script in scripts:
        request = urllib.request.Request(f"{server.endpoint}/console/{script}", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request) as answer:
            total += len(answer.read())
    assert scripts
    assert total <= 300 * 1024, total
