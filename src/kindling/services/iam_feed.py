"""The emulated IAM and STS, read into the snapshot authentication and authorization use (``auth/directory``).

Runs in the services' thread, after a call that changed IAM or issued STS credentials (and after a
restore): users' active keys with their inline, attached and group policies; roles with their trust and
permission policies; ``AssumeRole``'s sessions, with their tokens and ends.
"""

from __future__ import annotations

import json
from typing import Any

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from ..auth.directory import IamSnapshot, Role, assumed_identity
from ..auth.identities import Identity
from .moto_patches import managed_policies

FEEDS = frozenset(["iam", "sts"])  # the services whose writes change the snapshot


def _document(text: Any) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    try:
        parsed = json.loads(text or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _managed(policies: dict[str, Any]) -> list[dict[str, Any]]:
    """The default version's document of each attached managed policy."""
    documents = []
    for policy in policies.values():
        default = next((v for v in policy.versions if v.is_default), None)
        if default is not None:
            documents.append(_document(default.document))
    return documents


def _own(holder: Any) -> list[dict[str, Any]]:
    return [_document(text) for text in holder.policies.values()] + _managed(holder.managed_policies)


def snapshot(account: str) -> IamSnapshot:
    managed_policies()
    iam = iam_backends[account]["aws"]
    keys: dict[str, tuple[str, Identity]] = {}
    policies: dict[str, list[dict[str, Any]]] = {}
    for user in list(iam.users.values()):
        arn = f"arn:aws:iam::{account}:user/{user.name}"
        documents = _own(user)
        for group in list(iam.groups.values()):
            if user in group.users:
                documents += _own(group)
        policies[arn] = documents
        for key in user.access_keys:
            if key.status == "Active":
                identity = Identity(arn, account, "IAMUser", user.name, user.id, key.access_key_id)
                keys[key.access_key_id] = (key.secret_access_key, identity)
    roles: dict[str, Role] = {}
    for role in list(iam.roles.values()):
        roles[role.arn] = Role(role.name, role.arn, role.id, _document(role.assume_role_policy_document))
        policies[role.arn] = _own(role)
    for session in list(sts_backends[account]["aws"].assumed_roles):
        role = roles.get(session.role_arn)
        identity = assumed_identity(
            account,
            session.role_arn,
            role.role_id if role else "AROA",
            session.session_name,
            session.access_key_id,
            session.session_token,
            session.expiration.timestamp(),
        )
        keys[session.access_key_id] = (session.secret_access_key, identity)
    return IamSnapshot(keys, policies, roles)
