"""Create function's execution role, through IAM on the port: a new role with basic Lambda permissions, or an
existing one chosen from ListRoles."""

from __future__ import annotations

import json

from console_support import unique
from playwright.sync_api import Page, expect

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _start(page: Page, endpoint: str, name: str) -> None:
    page.goto(f"{endpoint}/console/#/create")
    page.get_by_label("Function name").fill(name)


def test_a_new_role_with_basic_lambda_permissions(server, lam, page: Page) -> None:
    name = unique("newrole")
    _start(page, server.endpoint, name)
    expect(page.get_by_label("Create a new role with basic Lambda permissions")).to_be_checked()
    page.get_by_role("button", name="Create function").click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    arn = lam.get_function_configuration(FunctionName=name)["Role"]
    role_name = arn.split("/")[-1]
    assert arn.startswith("arn:aws:iam::") and f":role/service-role/{name}-role-" in arn
    iam = server.client("iam")
    role = iam.get_role(RoleName=role_name)["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == TRUST["Statement"]
    policy = iam.get_role_policy(RoleName=role_name, PolicyName="AWSLambdaBasicExecutionRole")["PolicyDocument"]
    assert any(f"/aws/lambda/{name}:*" in json.dumps(s["Resource"]) for s in policy["Statement"])


def test_an_existing_role_from_list_roles(server, lam, page: Page) -> None:
    iam = server.client("iam")
    role_name = unique("shared-role")
    arn = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    name = unique("oldrole")
    _start(page, server.endpoint, name)
    page.get_by_label("Use an existing role").check()
    page.get_by_label("Existing role", exact=True).select_option(label=role_name)
    page.get_by_role("button", name="Create function").click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    assert lam.get_function_configuration(FunctionName=name)["Role"] == arn
    roles = {r["RoleName"] for r in iam.list_roles()["Roles"]}
    assert not any(r.startswith(f"{name}-role-") for r in roles)  # no new role was made
