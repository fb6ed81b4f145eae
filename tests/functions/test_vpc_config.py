"""VpcConfig: checked against the EC2 on the port, answered with its VpcId, kept per version, and cleared."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from support import ROLE, Server, aws_cli, create_function, make_zip

HELLO = {"app.py": "def handler(event, context):\n    return {'ok': True}\n"}


@pytest.fixture(scope="module")
def network(server):  # type: ignore[no-untyped-def]
    """A VPC with two subnets and a security group, and a second VPC's group, made in the embedded EC2."""
    ec2 = server.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{n}.0/24")["Subnet"]["SubnetId"] for n in (1, 2)]
    group = ec2.create_security_group(GroupName="fn", Description="fn", VpcId=vpc)["GroupId"]
    other_vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    other = ec2.create_security_group(GroupName="other", Description="other", VpcId=other_vpc)["GroupId"]
    return {"vpc": vpc, "subnets": subnets, "group": group, "other_group": other}


def _error(call) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_create_answers_the_subnets_groups_and_vpc(lam, deploy, network) -> None:  # type: ignore[no-untyped-def]
    given = {"SubnetIds": network["subnets"], "SecurityGroupIds": [network["group"]]}
    name = deploy(HELLO, VpcConfig=given)
    config = lam.get_function_configuration(FunctionName=name)["VpcConfig"]
    assert config == {**given, "VpcId": network["vpc"], "Ipv6AllowedForDualStack": False}
    assert json.loads(lam.invoke(FunctionName=name)["Payload"].read()) == {"ok": True}  # runs as before


def test_unknown_or_unpaired_ids_are_refused_and_nothing_is_made(lam, network) -> None:  # type: ignore[no-untyped-def]
    group, subnet = network["group"], network["subnets"][0]
    refused = {
        "subnet-0000000000deadbeef": "Error occurred while DescribeSubnets. EC2 Error Code: InvalidSubnetID.NotFound.",
        "sg": "Error occurred while DescribeSecurityGroups. EC2 Error Code: InvalidGroup.NotFound.",
        "alone": "SubnetIds and SecurityIds must coexist or be both empty list.",
        "two-vpcs": "must all belong to the same VPC",
    }
    configs = {
        "subnet-0000000000deadbeef": {"SubnetIds": ["subnet-0000000000deadbeef"], "SecurityGroupIds": [group]},
        "sg": {"SubnetIds": [subnet], "SecurityGroupIds": ["sg-0000000000deadbeef"]},
        "alone": {"SubnetIds": [subnet]},
        "two-vpcs": {"SubnetIds": [subnet], "SecurityGroupIds": [network["other_group"]]},
    }
    for case, vpc_config in configs.items():
        code, message = _error(
            lambda vpc_config=vpc_config: lam.create_function(
                FunctionName="vpc-refused",
                Runtime="python3.12",
                Role=ROLE,
                Handler="app.handler",
                Code={"ZipFile": make_zip(HELLO)},
                VpcConfig=vpc_config,
            )
        )
        assert (code, refused[case] in message) == ("InvalidParameterValueException", True), (case, message)
    assert _error(lambda: lam.get_function(FunctionName="vpc-refused"))[0] == "ResourceNotFoundException"


def test_malformed_ids_fail_the_model_constraints(raw_lam, deploy) -> None:  # type: ignore[no-untyped-def]
    name = deploy(HELLO)
    code, message = _error(
        lambda: raw_lam.update_function_configuration(
            FunctionName=name, VpcConfig={"SubnetIds": ["net-1"], "SecurityGroupIds": ["sg-1"]}
        )
    )
    assert code == "ValidationException" and "at 'vpcConfig.subnetIds'" in message and "subnet-[0-9a-z]*" in message
    many = [f"subnet-{n:x}" for n in range(17)]
    code, message = _error(
        lambda: raw_lam.update_function_configuration(
            FunctionName=name, VpcConfig={"SubnetIds": many, "SecurityGroupIds": ["sg-1"]}
        )
    )
    assert "less than or equal to 16" in message
    assert "VpcConfig" not in raw_lam.get_function_configuration(FunctionName=name)


def test_published_version_keeps_it_and_an_update_clears_latest(lam, deploy, network) -> None:  # type: ignore[no-untyped-def]
    name = deploy(HELLO)
    given = {"SubnetIds": network["subnets"][:1], "SecurityGroupIds": [network["group"]]}
    lam.update_function_configuration(FunctionName=name, VpcConfig={**given, "Ipv6AllowedForDualStack": True})
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    version = lam.publish_version(FunctionName=name)["Version"]
    lam.update_function_configuration(FunctionName=name, VpcConfig={"SubnetIds": [], "SecurityGroupIds": []})
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert "VpcConfig" not in lam.get_function_configuration(FunctionName=name)
    kept = lam.get_function_configuration(FunctionName=name, Qualifier=version)["VpcConfig"]
    assert kept == {**given, "VpcId": network["vpc"], "Ipv6AllowedForDualStack": True}
    lam.update_function_configuration(FunctionName=name, Description="other settings leave no VPC behind")
    assert "VpcConfig" not in lam.get_function_configuration(FunctionName=name)


def test_the_aws_cli_sets_and_reads_it(server, deploy, network) -> None:  # type: ignore[no-untyped-def]
    name = deploy(HELLO)
    subnets = ",".join(network["subnets"])
    aws_cli(
        server.endpoint, "lambda", "update-function-configuration", "--function-name", name,
        "--vpc-config", f"SubnetIds={subnets},SecurityGroupIds={network['group']}",
    )  # fmt: skip
    shown = json.loads(aws_cli(server.endpoint, "lambda", "get-function", "--function-name", name).stdout)
    assert shown["Configuration"]["VpcConfig"]["VpcId"] == network["vpc"]
    assert shown["Configuration"]["VpcConfig"]["SubnetIds"] == network["subnets"]


def test_it_survives_a_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    own = Server(tmp_path / "data").start()
    try:
        ec2 = own.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.1.0/24")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="fn", Description="fn", VpcId=vpc)["GroupId"]
        given = {"SubnetIds": [subnet], "SecurityGroupIds": [group]}
        create_function(own.client(), "vpc-kept", HELLO, VpcConfig=given)
        own.stop()
        own.start()
        lam = own.client()
        assert lam.get_function_configuration(FunctionName="vpc-kept")["VpcConfig"]["VpcId"] == vpc
        lam.update_function_configuration(FunctionName="vpc-kept", VpcConfig=given)  # EC2's subnets are kept too
    finally:
        own.stop()
