"""The IAM API's users, keys, groups and policies, and STS, decide who may do what under ``--auth iam``:
a key made with ``CreateAccessKey`` signs requests at once, its user's (and groups') policies decide every
call to Lambda and to the AWS services, ``AssumeRole`` honours the role's trust policy and hands out
``ASIA…`` credentials that only work with their session token."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from support import ROLE, Server, aws_cli, make_zip

ACCOUNT = "000000000000"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:"
CODE = {"app.py": "def handler(event, context):\n    return {'ok': True}\n"}
TRUST_LAMBDA = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}  # fmt: skip


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str] = "*") -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    instance = Server(tmp_path_factory.mktemp("iamapi") / "data", "--auth", "iam").start()
    lam = instance.client()
    lam.create_function(FunctionName="shared", Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": make_zip(CODE)})  # fmt: skip
    s3 = instance.client("s3")
    for bucket in ("bucket-a", "bucket-b"):
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="k", Body=b"in " + bucket.encode())
    yield instance
    instance.stop()


def user(server: Server, name: str, *, inline: str | None = None, managed: str | None = None,
         group: str | None = None) -> tuple[str, str]:  # fmt: skip
    """A user made through the IAM API, as root; its new key pair."""
    iam = server.client("iam")
    iam.create_user(UserName=name)
    if inline:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=inline)
    if managed:
        iam.attach_user_policy(UserName=name, PolicyArn=managed)
    if group:
        iam.add_user_to_group(GroupName=group, UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def error(call) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def create(lam, name: str) -> None:  # type: ignore[no-untyped-def]
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": make_zip(CODE)})  # fmt: skip


def test_read_only_user_lists_but_cannot_create(server: Server) -> None:
    keys = user(server, "reader", managed="arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess")
    reader = server.client(keys=keys)
    assert "shared" in [f["FunctionName"] for f in reader.list_functions()["Functions"]]
    assert error(lambda: create(reader, "r1")) == (
        403,
        "AccessDeniedException",
        f"User: arn:aws:iam::{ACCOUNT}:user/reader is not authorized to perform: lambda:CreateFunction on "
        f"resource: {FN}r1 because no identity-based policy allows the lambda:CreateFunction action",
    )


def test_explicit_deny_beats_a_group_allow(server: Server) -> None:
    iam = server.client("iam")
    iam.create_group(GroupName="deployers")
    iam.put_group_policy(
        GroupName="deployers", PolicyName="all", PolicyDocument=policy(allow(["lambda:*", "iam:PassRole"]))
    )
    keys = user(server, "carol", group="deployers",
                inline=policy({"Effect": "Deny", "Action": "lambda:DeleteFunction", "Resource": f"{FN}*"}))  # fmt: skip
    carol = server.client(keys=keys)
    create(carol, "carols")
    assert error(lambda: carol.delete_function(FunctionName="carols")) == (
        403,
        "AccessDeniedException",
        f"User: arn:aws:iam::{ACCOUNT}:user/carol is not authorized to perform: lambda:DeleteFunction on "
        f"resource: {FN}carols with an explicit deny in an identity-based policy",
    )


def test_policy_and_key_changes_apply_at_once(server: Server) -> None:
    iam = server.client("iam")
    keys = user(server, "dave")
    dave = server.client(keys=keys)
    assert error(dave.list_functions)[1] == "AccessDeniedException"
    iam.put_user_policy(UserName="dave", PolicyName="list", PolicyDocument=policy(allow("lambda:ListFunctions")))
    assert dave.list_functions()["Functions"]
    iam.update_access_key(UserName="dave", AccessKeyId=keys[0], Status="Inactive")
    assert error(dave.list_functions)[:2] == (403, "UnrecognizedClientException")
    iam.update_access_key(UserName="dave", AccessKeyId=keys[0], Status="Active")
    assert dave.list_functions()["Functions"]
    iam.delete_access_key(UserName="dave", AccessKeyId=keys[0])
    assert error(dave.list_functions)[:2] == (403, "UnrecognizedClientException")


def test_services_are_authorized_by_the_users_policies(server: Server) -> None:
    keys = user(server, "erin", inline=policy(allow("s3:GetObject", "arn:aws:s3:::bucket-a/*")))
    s3 = server.client("s3", keys=keys)
    assert s3.get_object(Bucket="bucket-a", Key="k")["Body"].read() == b"in bucket-a"
    status, code, message = error(lambda: s3.get_object(Bucket="bucket-b", Key="k"))
    assert (status, code) == (403, "AccessDenied")
    assert message == (f"User: arn:aws:iam::{ACCOUNT}:user/erin is not authorized to perform: s3:GetObject on "
                       "resource: arn:aws:s3:::bucket-b/k because no identity-based policy allows the s3:GetObject "
                       "action")  # fmt: skip
    assert error(lambda: s3.put_object(Bucket="bucket-a", Key="new", Body=b"x"))[:2] == (403, "AccessDenied")
    assert error(lambda: server.client("iam", keys=keys).create_user(UserName="mallory"))[:2] == (403, "AccessDenied")
    secrets = server.client("secretsmanager", keys=keys)
    assert error(lambda: secrets.create_secret(Name="x", SecretString="y"))[:2] == (403, "AccessDeniedException")


def test_the_aws_cli_manages_users_whose_keys_then_sign(server: Server) -> None:
    root = server.root_keys
    aws_cli(server.endpoint, "iam", "create-user", "--user-name", "frank", keys=root)
    aws_cli(server.endpoint, "iam", "attach-user-policy", "--user-name", "frank", "--policy-arn",
            "arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess", keys=root)  # fmt: skip
    made = json.loads(aws_cli(server.endpoint, "iam", "create-access-key", "--user-name", "frank", keys=root).stdout)
    keys = made["AccessKey"]["AccessKeyId"], made["AccessKey"]["SecretAccessKey"]
    listed = json.loads(aws_cli(server.endpoint, "lambda", "list-functions", keys=keys).stdout)
    assert "shared" in [f["FunctionName"] for f in listed["Functions"]]
    refused = aws_cli(server.endpoint, "lambda", "delete-function", "--function-name", "shared", keys=keys, check=False)
    assert refused.returncode != 0 and "AccessDeniedException" in refused.stderr
    who = json.loads(aws_cli(server.endpoint, "sts", "get-caller-identity", keys=keys).stdout)
    assert who["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/frank" and who["Account"] == ACCOUNT


def test_get_caller_identity_names_root_and_users(server: Server) -> None:
    root = server.client("sts").get_caller_identity()
    assert (root["Arn"], root["Account"], root["UserId"]) == (f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT, ACCOUNT)
    keys = user(server, "grace")  # no policy needed: GetCallerIdentity is always allowed
    grace = server.client("sts", keys=keys).get_caller_identity()
    assert grace["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/grace"
    assert grace["UserId"] == server.client("iam").get_user(UserName="grace")["User"]["UserId"]


def _assumer(server: Server, name: str, trust: dict, permissions: str) -> None:
    server.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    server.client("iam").put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=permissions)


def test_assume_role_honours_the_trust_policy(server: Server) -> None:
    keys = user(server, "heidi")
    heidi_arn = f"arn:aws:iam::{ACCOUNT}:user/heidi"
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": heidi_arn}, "Action": "sts:AssumeRole"}]}  # fmt: skip
    _assumer(server, "reader-a", trust, policy(allow("s3:GetObject", "arn:aws:s3:::bucket-a/*")))
    sts = server.client("sts", keys=keys)
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/reader-a", RoleSessionName="s1")["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    session = (credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])
    boto = boto3.Session(*session, region_name="us-east-1")
    who = boto.client("sts", endpoint_url=server.endpoint).get_caller_identity()
    assert who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reader-a/s1"
    s3 = boto.client("s3", endpoint_url=server.endpoint)
    assert s3.get_object(Bucket="bucket-a", Key="k")["Body"].read() == b"in bucket-a"
    status, code, message = error(lambda: s3.get_object(Bucket="bucket-b", Key="k"))
    assert (status, code) == (403, "AccessDenied")
    assert message.startswith(f"User: arn:aws:sts::{ACCOUNT}:assumed-role/reader-a/s1 is not authorized")
    # the key without its session token, or with another one, is refused
    for token in (None, credentials["SessionToken"][:-4] + "AAAA"):
        bare = boto3.Session(session[0], session[1], token, region_name="us-east-1")
        assert error(lambda b=bare: b.client("s3", endpoint_url=server.endpoint).list_buckets())[0] == 403
    # the AWS CLI, signing with heidi's key, gets a session too
    made = aws_cli(server.endpoint, "sts", "assume-role", "--role-arn", f"arn:aws:iam::{ACCOUNT}:role/reader-a",
                   "--role-session-name", "cli", keys=keys)  # fmt: skip
    assert json.loads(made.stdout)["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reader-a/cli"
    # a role that does not trust heidi
    _assumer(server, "not-heidis", TRUST_LAMBDA, policy(allow("s3:*")))
    status, code, message = error(
        lambda: sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/not-heidis", RoleSessionName="s2")
    )
    assert (status, code) == (403, "AccessDenied")
    assert message == (f"User: {heidi_arn} is not authorized to perform: sts:AssumeRole on resource: "
                       f"arn:aws:iam::{ACCOUNT}:role/not-heidis")  # fmt: skip


def test_a_role_that_trusts_the_account_needs_the_callers_permission(server: Server) -> None:
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}]}  # fmt: skip
    _assumer(server, "account-role", trust, policy(allow("s3:ListAllMyBuckets")))
    arn = f"arn:aws:iam::{ACCOUNT}:role/account-role"
    without = server.client("sts", keys=user(server, "ivan"))
    assert error(lambda: without.assume_role(RoleArn=arn, RoleSessionName="sess"))[:2] == (403, "AccessDenied")
    with_permission = server.client("sts", keys=user(server, "judy", inline=policy(allow("sts:AssumeRole", arn))))
    assert with_permission.assume_role(RoleArn=arn, RoleSessionName="sess")["Credentials"]["AccessKeyId"].startswith(
        "ASIA"
    )


def test_iam_changes_and_denied_service_calls_are_in_the_audit_trail(server: Server) -> None:
    keys = user(server, "kim")
    with pytest.raises(ClientError):
        server.client("s3", keys=keys).get_object(Bucket="bucket-a", Key="k")
    trail = server.client("cloudtrail")
    made = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateAccessKey"}])
    records = [json.loads(e["CloudTrailEvent"]) for e in made["Events"]]
    kims = [r for r in records if r["requestParameters"] == {"UserName": "kim"}]
    assert kims and kims[0]["eventSource"] == "iam.amazonaws.com"
    assert kims[0]["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    denied = trail.lookup_events(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "kim"}])["Events"]
    event = next(e for e in denied if e["EventName"] == "GetObject")
    record = json.loads(event["CloudTrailEvent"])
    assert record["errorCode"] == "AccessDenied" and record["eventSource"] == "s3.amazonaws.com"
    assert event["Resources"] == [{"ResourceType": "AWS::S3::Object", "ResourceName": "arn:aws:s3:::bucket-a/k"}]


def test_users_and_keys_outlive_a_restart(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = tmp_path_factory.mktemp("restart") / "data"
    first = Server(data, "--auth", "iam").start()
    try:
        keys = user(first, "liam", managed="arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess")
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                 "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/liam"}}]}  # fmt: skip
        _assumer(first, "liams", trust, policy(allow("lambda:ListFunctions")))
        session = first.client("sts", keys=keys).assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/liams",
                                                             RoleSessionName="before", DurationSeconds=900)  # fmt: skip
    finally:
        first.stop()
    again = Server(data, "--auth", "iam").start()
    try:
        assert again.client(keys=keys).list_functions()["Functions"] == []
        assert error(lambda: create(again.client(keys=keys), "no"))[1] == "AccessDeniedException"
        credentials = session["Credentials"]
        lam = boto3.client("lambda", endpoint_url=again.endpoint, region_name="us-east-1",
                           aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
                           aws_session_token=credentials["SessionToken"])  # fmt: skip
        assert lam.list_functions()["Functions"] == []  # the session was kept, with its end
    finally:
        again.stop()
