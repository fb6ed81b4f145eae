"""``KMSKeyArn``: a function's environment variables sealed under a data key of the customer's own KMS key.

The key must exist and be enabled in the KMS on the port when it is given (else the error Lambda gives
when it cannot make its grant); one data key per KMS key is made with ``GenerateDataKey`` and kept by the
store's ``Sealer``. Before each invocation the key's state is asked again, so a key disabled, scheduled for
deletion or gone fails the invocation with the 502 Lambda answers then.
"""

from __future__ import annotations

from typing import Any, Protocol

from ..errors import InvalidParameterValue, LambdaError
from ..store.sealed import Sealer


class KeyService(Protocol):
    """The KMS keys of the account, as ``services/kms_keys.py`` reads them."""

    def state(self, key_arn: str) -> str | None:
        """The key's ``KeyState`` (``Enabled``, ``Disabled``, ``PendingDeletion``…), None if there is no such key."""

    async def data_key(self, key_arn: str) -> tuple[bytes, bytes]:
        """A new 256-bit data key: as plaintext, and as the key wrapped it."""


class KmsError(LambdaError):
    status = 502
    fault = "User"


class KmsDisabled(KmsError):
    code = "KMSDisabledException"


class KmsNotFound(KmsError):
    code = "KMSNotFoundException"


class KmsInvalidState(KmsError):
    code = "KMSInvalidStateException"


class EnvironmentKeys:
    def __init__(self, keys: KeyService | None, sealer: Sealer) -> None:
        self.keys = keys
        self.sealer = sealer

    async def prepare(self, params: dict[str, Any]) -> None:
        """Before a Create or UpdateFunctionConfiguration that names a key: the key checked, a data key made."""
        key_arn = params.get("KMSKeyArn") or ""
        if not key_arn:
            return
        if not key_arn.startswith("arn:") or ":kms:" not in key_arn:
            raise InvalidParameterValue(
                f"1 validation error detected: Value '{key_arn}' at 'kMSKeyArn' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()"
            )
        state = self.keys.state(key_arn) if self.keys is not None else None
        if state != "Enabled":
            kms_error = {None: "NotFoundException", "Disabled": "DisabledException"}.get(
                state, "KMSInvalidStateException"
            )
            raise InvalidParameterValue(
                "Lambda was unable to configure access to your environment variables because the KMS key is "
                f"invalid for CreateGrant. Please check your KMS key settings. KMS Exception: {kms_error} "
                f"KMS Message: Key '{key_arn}' {'does not exist' if state is None else 'is ' + state}"
            )
        if self.keys is not None and not self.sealer.knows(key_arn):
            self.sealer.remember(key_arn, *await self.keys.data_key(key_arn))

    def check(self, key_arn: str) -> None:
        """Before an invocation: the function's key may still decrypt its variables."""
        if not key_arn:
            return
        state = self.keys.state(key_arn) if self.keys is not None else None
        if state == "Enabled":
            return
        if state is None:
            raise KmsNotFound(
                "Lambda was unable to decrypt the environment variables because the KMS key was not found. "
                f"Please check the function's KMS key settings. KMS Exception: NotFoundException KMS Message: "
                f"Key '{key_arn}' does not exist"
            )
        if state == "Disabled":
            raise KmsDisabled(
                "Lambda was unable to decrypt the environment variables because the KMS key used is disabled. "
                f"Please check the function's KMS key settings. KMS Exception: DisabledException KMS Message: "
                f"{key_arn} is disabled."
            )
        raise KmsInvalidState(
            "Lambda was unable to decrypt the environment variables because the KMS key used is in an invalid "
            f"state for Decrypt. Please check the function's KMS key settings. KMS Exception: "
            f"KMSInvalidStateException KMS Message: {key_arn} is {state}."
        )
