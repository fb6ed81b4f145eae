"""Authorization on a server run with ``--auth iam``: each Lambda call is evaluated against the caller's
identity policies and the function's resource policy, and every mutating or denied call is in the audit
trail (CloudTrail's LookupEvents, ``kindling audit``)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest
from auth_support import put_user, send, send_signed, signed
from botocore.exceptions import ClientError

from support import KINDLING, ROLE, Server, create_function, make_zip

ACCOUNT = "000000000000"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"
CODE = {"app.py": "def handler(event, context):\n    return {'ok': True}\n"}


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    instance = Server(tmp_path_factory.mktemp("iam") / "data", "--auth", "iam").start()
    create_function(instance.client(), "shared", CODE, Environment={"Variables": {"API_TOKEN": "s3cr3t-value"}})
    instance.client().publish_version(FunctionName="shared")
    instance.client().create_alias(FunctionName="shared", Name="live", FunctionVersion="1")
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def root(server: Server) -> tuple[str, str]:
    return server.root_keys


@pytest.fixture(scope="module")
def bob(server: Server, root: tuple[str, str]):  # type: ignore[no-untyped-def]
    return server.client(keys=put_user(server.endpoint, root, "bob"))


def denied(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert response["Error"]["Code"] == "AccessDeniedException"
    return response["Error"]["Message"]


def create(lam, name: str, role: str = ROLE) -> None:  # type: ignore[no-untyped-def]
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler",
                        Code={"ZipFile": make_zip(CODE)}, Environment={"Variables": {"DB_PASSWORD": "hunter2"}})  # fmt: skip


def test_bob_without_policies_cannot_create(bob) -> None:  # type: ignore[no-untyped-def]
    message = denied(lambda: create(bob, "x"))
    assert message == (
        f"User: arn:aws:iam::{ACCOUNT}:user/bob is not authorized to perform: lambda:CreateFunction on resource: "
        f"{FN}x because no identity-based policy allows the lambda:CreateFunction action"
    )
    denied(bob.list_functions)


def test_read_only_user_lists_but_cannot_create(server: Server, root: tuple[str, str]) -> None:
    keys = put_user(server.endpoint, root, "reader", managed=["arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess"])
    reader = server.client(keys=keys)
    assert "shared" in [f["FunctionName"] for f in reader.list_functions()["Functions"]]
    assert reader.get_function(FunctionName="shared")["Configuration"]["FunctionName"] == "shared"
    assert "lambda:CreateFunction" in denied(lambda: create(reader, "r1"))
    assert "lambda:DeleteFunction" in denied(lambda: reader.delete_function(FunctionName="shared"))
    assert "lambda:InvokeFunction" in denied(lambda: reader.invoke(FunctionName="shared"))


def test_explicit_deny_beats_allow(server: Server, root: tuple[str, str]) -> None:
    document = policy(
        {"Effect": "Allow", "Action": ["lambda:*", "iam:PassRole"], "Resource": "*"},
        {"Effect": "Deny", "Action": "lambda:DeleteFunction", "Resource": f"{FN}*"},
    )
    carol = server.client(keys=put_user(server.endpoint, root, "carol", {"deploy": document}))
    create(carol, "carols")
    message = denied(lambda: carol.delete_function(FunctionName="carols"))
    assert message == (
        f"User: arn:aws:iam::{ACCOUNT}:user/carol is not authorized to perform: lambda:DeleteFunction on resource: "
        f"{FN}carols with an explicit deny in an identity-based policy"
    )
    assert carol.get_function(FunctionName="carols")["Configuration"]["FunctionName"] == "carols"


def test_create_needs_pass_role(server: Server, root: tuple[str, str]) -> None:
    document = policy({"Effect": "Allow", "Action": "lambda:*", "Resource": "*"})
    dave = server.client(keys=put_user(server.endpoint, root, "dave", {"lambda": document}))
    message = denied(lambda: create(dave, "daves"))
    assert message.endswith(f"perform: iam:PassRole on resource: {ROLE} because no identity-based policy allows "
                            "the iam:PassRole action")  # fmt: skip


def test_invoke_is_authorized_on_the_qualified_arn(server: Server, root: tuple[str, str]) -> None:
    document = policy({"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": f"{FN}shared:live"})
    erin = server.client(keys=put_user(server.endpoint, root, "erin", {"invoke-live": document}))
    assert json.loads(erin.invoke(FunctionName="shared", Qualifier="live")["Payload"].read()) == {"ok": True}
    assert json.loads(erin.invoke(FunctionName=f"{FN}shared:live")["Payload"].read()) == {"ok": True}
    assert denied(lambda: erin.invoke(FunctionName="shared")).endswith(
        f"lambda:InvokeFunction on resource: {FN}shared because no identity-based policy allows the "
        "lambda:InvokeFunction action"
    )


def test_resource_policy_alone_allows(server: Server, root: tuple[str, str]) -> None:
    frank = server.client(keys=put_user(server.endpoint, root, "frank"))
    denied(lambda: frank.invoke(FunctionName="shared", Qualifier="live"))
    server.client().add_permission(FunctionName="shared", Qualifier="live", StatementId="frank",
                                   Action="lambda:InvokeFunction", Principal=f"arn:aws:iam::{ACCOUNT}:user/frank")  # fmt: skip
    assert json.loads(frank.invoke(FunctionName="shared", Qualifier="live")["Payload"].read()) == {"ok": True}
    denied(lambda: frank.invoke(FunctionName="shared"))  # the statement is on the alias only


def test_audit_trail_shows_bobs_denied_create(server: Server, bob) -> None:  # type: ignore[no-untyped-def]
    denied(lambda: create(bob, "x"))
    trail = server.client("cloudtrail")
    events = trail.lookup_events(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "bob"}])["Events"]
    records = [json.loads(e["CloudTrailEvent"]) for e in events if e["EventName"] == "CreateFunction20150331"]
    assert records, events
    record = records[0]
    assert record["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT}:user/bob"
    assert record["errorCode"] == "AccessDeniedException"
    assert record["eventSource"] == "lambda.amazonaws.com"
    assert record["sourceIPAddress"] == "127.0.0.1"
    assert "Boto3" in record["userAgent"] or "Botocore" in record["userAgent"]
    assert record["requestParameters"]["FunctionName"] == "x"
    assert record["requestParameters"]["Environment"]["Variables"] == {"DB_PASSWORD": "HIDDEN_DUE_TO_SECURITY_REASONS"}
    assert "ZipFile" not in json.dumps(record["requestParameters"])
    assert events[0]["Resources"] == [{"ResourceType": "AWS::Lambda::Function", "ResourceName": f"{FN}x"}]


def test_audit_trail_keeps_mutations_after_the_function_is_gone(server: Server, root: tuple[str, str]) -> None:
    lam = server.client()
    create_function(lam, "short-lived", CODE)
    lam.delete_function(FunctionName="short-lived")
    trail = server.client("cloudtrail")
    by_resource = trail.lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": f"{FN}short-lived"}]
    )["Events"]
    assert [e["EventName"] for e in by_resource] == ["DeleteFunction20150331", "CreateFunction20150331"]
    assert all(json.loads(e["CloudTrailEvent"])["userIdentity"]["type"] == "Root" for e in by_resource)
    secret_values = [p.read_bytes() for p in (server.data_dir / "audit").iterdir() if p.is_file()]
    assert not any(b"s3cr3t-value" in data or b"hunter2" in data for data in secret_values)


def test_audit_needs_permission(server: Server, root: tuple[str, str]) -> None:
    reader = server.client("cloudtrail", keys=put_user(server.endpoint, root, "reader2"))
    with pytest.raises(ClientError) as caught:
        reader.lookup_events()
    assert caught.value.response["Error"]["Code"] == "AccessDeniedException"


def test_kindling_audit_command(server: Server, root: tuple[str, str], bob) -> None:  # type: ignore[no-untyped-def]
    denied(lambda: create(bob, "x"))
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": root[0],
        "AWS_SECRET_ACCESS_KEY": root[1],
        "KINDLING_ENDPOINT": server.endpoint,
    }
    table = subprocess.run([KINDLING, "audit", "--user", "bob"], env=env, capture_output=True, text=True, timeout=60)
    assert table.returncode == 0, table.stderr
    assert "CreateFunction20150331" in table.stdout and "AccessDeniedException" in table.stdout
    lines = subprocess.run([KINDLING, "audit", "--json", "--event-name", "CreateFunction20150331"], env=env,
                           capture_output=True, text=True, timeout=60, check=True).stdout.splitlines()  # fmt: skip
    assert any(json.loads(line)["userIdentity"].get("userName") == "bob" for line in lines)
    wrong = {**env, "AWS_SECRET_ACCESS_KEY": "wrong"}
    refused = subprocess.run([KINDLING, "audit"], env=wrong, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "InvalidSignatureException" in refused.stderr


def test_function_url_with_aws_iam_auth(server: Server, root: tuple[str, str], bob) -> None:  # type: ignore[no-untyped-def]
    url = server.client().create_function_url_config(FunctionName="shared", AuthType="AWS_IAM")["FunctionUrl"]
    path = "/lambda-url/" + url.split("//")[1].split(".")[0] + "/hello"
    assert send(server.endpoint + path, "GET")[0] == 403  # unsigned
    assert send_signed(signed(server.endpoint, "GET", path, keys=root))[:3:2] == (200, {"ok": True})
    assert send_signed(signed(server.endpoint, "GET", path, keys=(root[0], "wrong")))[0] == 403
    bob_keys = (bob._request_signer._credentials.access_key, bob._request_signer._credentials.secret_key)
    assert send_signed(signed(server.endpoint, "GET", path, keys=bob_keys))[0] == 403  # no policy allows it
    document = policy({"Effect": "Allow", "Action": "lambda:InvokeFunctionUrl", "Resource": f"{FN}shared",
                       "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}})  # fmt: skip
    gina = put_user(server.endpoint, root, "gina", {"urls": document})
    assert send_signed(signed(server.endpoint, "GET", path, keys=gina))[0] == 200


def test_refused_signatures_are_audited(server: Server, root: tuple[str, str]) -> None:
    forger = server.client(keys=(root[0], "not-the-secret"))
    with pytest.raises(ClientError):
        forger.list_functions()
    events = server.client("cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "RequestRefused"}]
    )["Events"]
    record = json.loads(events[0]["CloudTrailEvent"])
    assert record["errorCode"] == "InvalidSignatureException"
    assert record["userIdentity"]["accessKeyId"] == root[0]
    assert record["requestParameters"]["path"].startswith("/2015-03-31/functions")
