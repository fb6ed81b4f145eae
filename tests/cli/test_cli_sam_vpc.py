"""``kindling deploy`` passes a SAM function's ``VpcConfig`` through, and redeploys only when it changes."""

from __future__ import annotations

import contextlib

TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Resources:
  Private:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: {name}
      CodeUri: code/
      Handler: app.handler
      Runtime: python3.12
      VpcConfig:
        SubnetIds: [{subnet}]
        SecurityGroupIds: [{group}]
"""


def test_a_sam_vpc_config_is_deployed_and_updated(cli, server, lam, tmp_path):
    ec2 = server.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    first, second = (ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.50.{n}.0/24")["Subnet"]["SubnetId"] for n in (1, 2))
    group = ec2.create_security_group(GroupName="sam", Description="sam", VpcId=vpc)["GroupId"]
    name = "sam-vpc"
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "app.py").write_text("def handler(event, context):\n    return 'ok'\n")
    template = tmp_path / "template.yaml"
    try:
        template.write_text(TEMPLATE.format(name=name, subnet=first, group=group))
        cli("deploy", str(tmp_path))
        config = lam.get_function_configuration(FunctionName=name)["VpcConfig"]
        assert (config["SubnetIds"], config["SecurityGroupIds"], config["VpcId"]) == ([first], [group], vpc)
        assert "nothing changed" in cli("deploy", str(tmp_path)).stdout
        template.write_text(TEMPLATE.format(name=name, subnet=second, group=group))
        assert f"VpcConfig {first}, {group} → {second}, {group}" in cli("deploy", str(tmp_path)).stdout
        assert lam.get_function_configuration(FunctionName=name)["VpcConfig"]["SubnetIds"] == [second]
    finally:
        with contextlib.suppress(lam.exceptions.ResourceNotFoundException):
            lam.delete_function(FunctionName=name)
