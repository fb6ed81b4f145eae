"""The credentials Lambda acts with for a function's role: one session per role, shared, and renewed before it
expires, so a long-lived poller or sender never signs with expired keys."""

from __future__ import annotations

import time

from kindling.auth.directory import Directory
from kindling.invoke.credentials import FunctionCredentials
from kindling.invoke.role_keys import RoleKeys

ROLE = "arn:aws:iam::000000000000:role/poller"


def test_one_session_per_role_renewed_before_it_expires() -> None:
    directory = Directory("000000000000")
    keys = RoleKeys(("ROOTKEY", "root-secret"), directory, FunctionCredentials(directory, session_s=4))
    first = keys.credentials(ROLE).get_frozen_credentials()
    assert first.access_key.startswith("ASIA") and first.token
    assert keys.credentials(ROLE) is keys.credentials(ROLE)  # cached per role
    assert keys.credentials(ROLE + "-other").get_frozen_credentials().access_key != first.access_key
    identity = directory.identity_for(first.access_key)
    assert identity is not None and identity.arn == "arn:aws:sts::000000000000:assumed-role/poller/awslambda"
    time.sleep(2.2)  # within the last half of the session: renewed on the next use
    renewed = keys.credentials(ROLE).get_frozen_credentials()
    assert renewed.access_key != first.access_key
    found = directory.identity_for(renewed.access_key)
    assert found is not None and found.expires > time.time() + 3


def test_without_a_directory_the_platform_keys_sign() -> None:
    keys = RoleKeys(("ROOTKEY", "root-secret"))
    assert keys.credentials(ROLE).get_frozen_credentials().access_key == "ROOTKEY"
