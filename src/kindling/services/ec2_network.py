"""The EC2 on the port as ``functions/vpc.py:Network`` sees it: which subnets and security groups exist, in which VPC.

Read in the services' own thread, one request at a time with every other call to moto; nothing is changed."""

from __future__ import annotations

import asyncio
from typing import Any

from .adapter import AwsServices


class Ec2Network:
    def __init__(self, services: AwsServices) -> None:
        self.services = services

    async def vpcs_of(self, subnet_ids: list[str], group_ids: list[str]) -> tuple[dict[str, str], dict[str, str]]:
        def read() -> tuple[dict[str, str], dict[str, str]]:
            if self.services.engine is None:  # moto not imported yet: nothing was ever made in EC2
                return {}, {}
            from moto.ec2.models import ec2_backends

            backend: Any = ec2_backends[self.services.config.account_id][self.services.config.region]
            subnets = {}
            for subnet_id in subnet_ids:
                try:
                    subnets[subnet_id] = str(backend.get_subnet(subnet_id).vpc_id)
                except Exception:  # moto's InvalidSubnetIdError
                    continue
            groups = {}
            for group_id in group_ids:
                group = backend.get_security_group_from_id(group_id)
                if group is not None:
                    groups[group_id] = str(group.vpc_id)
            return subnets, groups

        return await asyncio.get_running_loop().run_in_executor(self.services.thread, read)
