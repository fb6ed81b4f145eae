"""The IAM API's users, groups, roles and keys as authentication and authorization see them, and the
temporary credentials of roles (``AssumeRole``'s and the ones each function environment is given).

The IAM and STS backends behind the port (``services/iam_feed.py``) publish an immutable ``IamSnapshot``
after every call that changed them; lookups on the request path are then one dict access, never a walk
of the emulator's state. Execution-role sessions are minted here, when an environment is made, and live
until they expire.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .evaluate import Request, evaluate
from .identities import Identity

LAMBDA_PRINCIPAL = "lambda.amazonaws.com"
DEFAULT_ROLE = "kindling"  # the role ``kindling deploy`` names when told none
_KEY_CHARS = string.ascii_uppercase + string.digits
_SWEEP_EVERY = 256  # mints between sweeps of expired sessions


@dataclass(frozen=True)
class Role:
    name: str
    arn: str
    role_id: str
    trust: dict[str, Any]  # the assume-role policy document


@dataclass(frozen=True)
class IamSnapshot:
    """Everything the IAM backend says about callers, at one moment."""

    keys: dict[str, tuple[str, Identity]] = field(default_factory=dict)  # access key -> secret, identity
    policies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # user or role ARN -> documents
    roles: dict[str, Role] = field(default_factory=dict)  # by ARN


@dataclass(frozen=True)
class Session:
    """A role session's key pair, as Lambda puts it in a function's environment."""

    access_key: str
    secret: str
    token: str
    expires: float  # epoch seconds

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_SESSION_TOKEN": self.token,
        }


def role_name(arn: str) -> str:
    """``arn:aws:iam::0:role/path/name`` -> ``name``."""
    return arn.rsplit("/", 1)[-1]


def assumed_identity(account: str, role_arn: str, role_id: str, session: str, key: str, token: str,
                     expires: float) -> Identity:  # fmt: skip
    arn = f"arn:aws:sts::{account}:assumed-role/{role_name(role_arn)}/{session}"
    return Identity(arn, account, "AssumedRole", session, f"{role_id}:{session}", key, token, expires, role_arn)


class Directory:
    """Answers ``IdentitySource``'s questions for the IAM API's identities and the role sessions."""

    def __init__(self, account: str) -> None:
        self.account = account
        self.snapshot = IamSnapshot()
        self._sessions: dict[str, tuple[str, Identity]] = {}
        self._by_token: dict[str, Identity] = {}
        self._settings: dict[str, dict[str, str]] = {}
        self._minted = 0

    def publish(self, snapshot: IamSnapshot) -> None:
        self.snapshot = snapshot

    # ----------------------------------------------------------------- lookups
    def secret_for(self, access_key: str) -> str | None:
        found = self.snapshot.keys.get(access_key) or self._sessions.get(access_key)
        return found[0] if found else None

    def identity_for(self, access_key: str) -> Identity | None:
        found = self.snapshot.keys.get(access_key) or self._sessions.get(access_key)
        return found[1] if found else None

    def policies_for(self, identity: Identity) -> list[dict[str, Any]]:
        return self.snapshot.policies.get(identity.owner, [])

    def by_token(self, token: str) -> Identity | None:
        """The role session a session token belongs to (the Parameters and Secrets extension's header)."""
        found = self._by_token.get(token)
        return found if found is not None and found.expires > time.time() else None

    def role(self, arn: str) -> Role | None:
        return self.snapshot.roles.get(arn)

    def lambda_may_assume(self, arn: str) -> bool:
        """Whether the role exists and its trust policy lets Lambda assume it. The ``kindling`` CLI's default
        role (``role/kindling``) may be used before it is made: it then has no permissions at all."""
        role = self.role(arn)
        if role is None:
            return arn == f"arn:aws:iam::{self.account}:role/{DEFAULT_ROLE}"
        request = Request("sts:AssumeRole", arn, LAMBDA_PRINCIPAL, {"aws:SourceAccount": self.account})
        return evaluate(request, [], [role.trust]).allowed

    # ----------------------------------------------------------------- sessions
    def mint(
        self, role_arn: str, session_name: str, duration_s: float, settings: Mapping[str, str] | None = None
    ) -> Session:
        """Temporary credentials of ``role_arn`` (``ASIA…``); its policies are looked up on each call, so a
        change to the role applies to the sessions already handed out. ``settings``: the function's
        variables, kept for what serves the session later (the extension's cache TTLs)."""
        role = self.role(role_arn)
        role_id = role.role_id if role else "AROA" + _random(17)
        session = Session("ASIA" + _random(16), secrets.token_urlsafe(30)[:40], secrets.token_urlsafe(96),
                          time.time() + duration_s)  # fmt: skip
        identity = assumed_identity(self.account, role_arn, role_id, session_name, session.access_key,
                                    session.token, session.expires)  # fmt: skip
        self._minted += 1
        if self._minted % _SWEEP_EVERY == 0:
            self._sweep()
        self._sessions[session.access_key] = (session.secret, identity)
        self._by_token[session.token] = identity
        self._settings[session.token] = dict(settings or {})
        return session

    def settings(self, token: str) -> dict[str, str]:
        return self._settings.get(token, {})

    def _sweep(self) -> None:
        now = time.time()
        for key, (_, identity) in list(self._sessions.items()):
            if identity.expires < now:
                del self._sessions[key]
                self._by_token.pop(identity.token, None)
                self._settings.pop(identity.token, None)


def _random(count: int) -> str:
    return "".join(secrets.choice(_KEY_CHARS) for _ in range(count))
