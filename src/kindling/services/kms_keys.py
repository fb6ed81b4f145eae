"""The KMS on the port as ``functions/keys.py:KeyService`` sees it: a key's state, and data keys made with it.

Both run in the services' own thread, one request at a time with every other call to moto; neither changes
what is persisted (a data key is only returned), so nothing is journaled.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .adapter import AwsServices


class KmsKeys:
    def __init__(self, services: AwsServices) -> None:
        self.services = services

    def _backend(self, key_arn: str) -> Any:
        from moto.kms.models import kms_backends

        region = key_arn.split(":")[3] or self.services.config.region
        return kms_backends[self.services.config.account_id][region]

    def state(self, key_arn: str) -> str | None:
        if self.services.engine is None:  # moto not imported yet: no key was ever made
            return None
        backend = self._backend(key_arn)
        try:
            return str(backend.describe_key(key_arn).key_state)
        except Exception:  # moto's NotFoundException, or an alias that names no key
            return None

    async def data_key(self, key_arn: str) -> tuple[bytes, bytes]:
        def make() -> tuple[bytes, bytes]:
            plaintext, wrapped, _ = self._backend(key_arn).generate_data_key(key_arn, {}, 0, "AES_256")
            return plaintext, wrapped

        return await asyncio.get_running_loop().run_in_executor(self.services.thread, make)
