"""The credentials Lambda itself acts with on a function's behalf: event source mappings read their queue or
stream, and async invocations send their destination and dead-letter records, with the function's execution
role, as on AWS (a role that may not ``sqs:ReceiveMessage`` gets no messages).

Under ``--auth iam`` each role gets one session, minted through the ``Directory`` like an environment's and
shared by every mapping and sender of that role, and renewed by botocore before it expires (its refreshable
credentials ask again a quarter of an hour ahead, or at half the session's life when that is shorter). In
``open`` mode, or without a directory, the platform's own root keys sign, as before.
"""

from __future__ import annotations

import datetime
import threading
from typing import Any

import botocore.session
from botocore.credentials import Credentials, RefreshableCredentials

from ..auth.directory import Directory
from .credentials import FunctionCredentials

SESSION_NAME = "awslambda"  # what AWS names the session its pollers assume a function's role with


class RoleKeys:
    """Per-role refreshable credentials for botocore clients (through ``session``), cached by role ARN."""

    def __init__(self, platform_keys: tuple[str, str], directory: Directory | None = None,
                 credentials: FunctionCredentials | None = None) -> None:  # fmt: skip
        self.platform = Credentials(*platform_keys)
        self.directory = directory
        self.session_s = credentials.session_s if credentials is not None else 3600.0
        self._lock = threading.Lock()
        self._roles: dict[str, RefreshableCredentials] = {}

    def credentials(self, role: str | None) -> Credentials:
        """The role's credentials (the platform's without a directory or a role)."""
        if self.directory is None or not role:
            return self.platform
        with self._lock:
            found = self._roles.get(role)
            if found is None:
                found = self._roles[role] = RefreshableCredentials.create_from_metadata(
                    self._mint(role), lambda: self._mint(role), "kindling-role"
                )
                # renew well before the end, however short the session (tests shorten it)
                ahead = min(15 * 60, int(self.session_s / 2))
                found._advisory_refresh_timeout = ahead  # botocore's knobs for renewing early
                found._mandatory_refresh_timeout = max(1, ahead // 2)
            return found

    def _mint(self, role: str) -> dict[str, Any]:
        assert self.directory is not None
        session = self.directory.mint(role, SESSION_NAME, self.session_s)
        expires = datetime.datetime.fromtimestamp(session.expires, datetime.UTC)
        return {"access_key": session.access_key, "secret_key": session.secret, "token": session.token,
                "expiry_time": expires.isoformat()}  # fmt: skip

    def session(self, role: str | None) -> botocore.session.Session:
        """A botocore session that signs with the role's credentials and renews them (make clients from it)."""
        session = botocore.session.get_session()
        session._credentials = self.credentials(role)  # how botocore takes credentials it is given
        return session
