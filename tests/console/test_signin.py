"""Sign-in against a server that checks signatures (``--auth iam``): the console signs every call with the key
entered (SigV4 in the browser), refuses a wrong key with a clear error, and a restricted user's key can do in
the console no more than its policy allows."""

from __future__ import annotations

from console_support import shot, unique
from playwright.sync_api import Page, expect

from auth.auth_support import put_user
from support import create_function

SERVER_ARGS = ("--auth", "iam")


def _sign_in(page: Page, endpoint: str, key: str, secret: str) -> None:
    page.goto(f"{endpoint}/console/")
    page.get_by_label("Access key ID").fill(key)
    page.get_by_label("Secret access key").fill(secret)
    page.get_by_role("button", name="Sign in").click()


def test_a_wrong_key_is_refused_with_a_clear_error(server, page: Page) -> None:
    assert server.health()["auth"] == "iam"
    _sign_in(page, server.endpoint, "AKIANOTAREALKEY00000", "wrong")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Sign-in failed: The security token included in the request is invalid.")
    shot(page, "signin")
    root_key, _ = server.root_keys
    page.get_by_label("Access key ID").fill(root_key)
    page.get_by_label("Secret access key").fill("not-the-secret")
    page.get_by_role("button", name="Sign in").click()
    expect(alert).to_contain_text("Sign-in failed: The request signature we calculated does not match")
    expect(page.get_by_role("link", name="Create function")).to_have_count(0)


def test_the_root_key_signs_every_call(server, lam, page: Page) -> None:
    requests: list[tuple[str, str]] = []
    page.on(
        "request",
        lambda r: requests.append((r.url, r.headers.get("authorization", ""))) if "/console" not in r.url else None,
    )
    root_key, secret = server.root_keys
    _sign_in(page, server.endpoint, root_key, secret)
    expect(page.get_by_text(f"Key {root_key}")).to_be_visible()
    name, queue = unique("signed"), unique("jobs")
    page.get_by_role("link", name="Create function").click()
    page.get_by_label("Use a blueprint").check()
    page.get_by_label("Process SQS messages").check()
    page.get_by_label("Function name").fill(name)
    page.get_by_label("Queue name", exact=True).fill(queue)
    page.get_by_role("button", name="Create function").click()
    created = f"Successfully created the function {name} with its trigger"
    expect(page.get_by_role("status").filter(has_text=created)).to_be_visible()
    [mapping] = lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
    assert mapping["EventSourceArn"].endswith(f":{queue}")
    lam.invoke(FunctionName=name, Payload=b'{"Records": []}')
    page.get_by_role("tab", name="Monitor").click()
    expect(page.locator("[data-metric=invocations]")).to_have_text("1")
    api_calls = [(url, auth) for url, auth in requests if "/health" not in url]
    scopes = {auth.split("/")[3] for _, auth in api_calls}
    assert {"lambda", "iam", "sqs", "monitoring", "logs"} <= scopes, scopes
    assert all(auth.startswith(f"AWS4-HMAC-SHA256 Credential={root_key}/") for _, auth in api_calls)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Access key ID")).to_be_visible()


def test_a_restricted_key_can_do_no_more_than_its_policy(server, lam, page: Page) -> None:
    existing = create_function(lam, unique("existing"), {"app.py": "def handler(e, c):\n    return 1\n"})
    reader = put_user(
        server.endpoint,
        server.root_keys,
        unique("reader"),
        managed=["arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess"],
    )
    _sign_in(page, server.endpoint, *reader)
    expect(page.get_by_role("link", name=existing)).to_be_visible()  # reading is allowed
    page.get_by_role("link", name=existing).click()
    page.get_by_role("tab", name="Configuration").click()
    page.get_by_label("Memory (MB)").fill("512")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="not authorized")).to_be_visible()
    assert lam.get_function_configuration(FunctionName=existing)["MemorySize"] == 128
    name = unique("forbidden")
    page.goto(f"{server.endpoint}/console/#/create")
    page.get_by_label("Function name").fill(name)
    page.get_by_role("button", name="Create function").click()
    # the console makes the new execution role first: IAM refuses it, as the policy allows no IAM writes
    expect(page.get_by_role("status").filter(has_text="not authorized")).to_contain_text("iam:CreateRole")
    assert name not in {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    expect(page.get_by_label("Function name")).to_be_visible()  # still signed in: a refusal is not a bad key
