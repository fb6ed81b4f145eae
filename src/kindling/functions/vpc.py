"""``VpcConfig``: recorded and validated as Lambda does, without changing a function's network.

Lambda checks the subnets and security groups with EC2 before it accepts them (both lists or neither, each
one existing, all in one VPC) and answers their ``VpcId``; Kindling asks the EC2 on the port the same. A
function runs exactly as before: its egress is the operator's ``--egress`` / ``--no-network`` choice.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..errors import InvalidParameterValue


class Network(Protocol):
    """The account's subnets and security groups, as ``services/ec2_network.py`` reads them from EC2."""

    async def vpcs_of(self, subnet_ids: list[str], group_ids: list[str]) -> tuple[dict[str, str], dict[str, str]]:
        """The VpcId of each subnet and of each security group that exists (missing ones are left out)."""


class VpcSettings:
    def __init__(self, network: Network | None) -> None:
        self.network = network

    async def prepare(self, params: dict[str, Any]) -> None:
        """Before Create or UpdateFunctionConfiguration: the request's VpcConfig checked, its VpcId added."""
        given = params.get("VpcConfig")
        if given is None:
            return
        subnets, groups = list(given.get("SubnetIds") or []), list(given.get("SecurityGroupIds") or [])
        if not subnets and not groups:
            params["VpcConfig"] = {}  # cleared, as AWS clears it for two empty lists
            return
        if not subnets or not groups:
            raise InvalidParameterValue("SubnetIds and SecurityIds must coexist or be both empty list.")
        found_subnets, found_groups = await self.network.vpcs_of(subnets, groups) if self.network else ({}, {})
        for subnet in subnets:
            if subnet not in found_subnets:
                raise InvalidParameterValue(
                    "Error occurred while DescribeSubnets. EC2 Error Code: InvalidSubnetID.NotFound. "
                    f"EC2 Error Message: The subnet ID '{subnet}' does not exist"
                )
        for group in groups:
            if group not in found_groups:
                raise InvalidParameterValue(
                    "Error occurred while DescribeSecurityGroups. EC2 Error Code: InvalidGroup.NotFound. "
                    f"EC2 Error Message: The security group '{group}' does not exist"
                )
        vpcs = set(found_subnets.values()) | set(found_groups.values())
        if len(vpcs) > 1:
            raise InvalidParameterValue("The subnets and security groups must all belong to the same VPC.")
        params["VpcConfig"] = {
            "SubnetIds": list(dict.fromkeys(subnets)),
            "SecurityGroupIds": list(dict.fromkeys(groups)),
            "VpcId": vpcs.pop(),
            "Ipv6AllowedForDualStack": bool(given.get("Ipv6AllowedForDualStack")),
        }


def chosen(params: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """A version's VpcConfig after a request ``prepare`` has seen: the one it names, else the one before."""
    return dict(params["VpcConfig"]) if "VpcConfig" in params else current
