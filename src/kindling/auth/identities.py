"""Who may sign requests: the root identity and a small store of IAM users with their access keys and
policies (inline, and managed ones attached by ARN).

Everything the rest of the auth part asks goes through ``Identities``' three questions (a key's secret, the
identity behind a key, that identity's policy documents), so the IAM API served by the AWS services can
later answer them instead of this store (see ``IdentitySource``).
"""

from __future__ import annotations

import json
import os
import secrets
import string
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..store.sqlite import Tables

ROOT_KEY_ENV, ROOT_SECRET_ENV = "KINDLING_ROOT_ACCESS_KEY_ID", "KINDLING_ROOT_SECRET_ACCESS_KEY"
PROFILE = "kindling"
_KEY_CHARS = string.ascii_uppercase + string.digits

# AWS managed policies users attach most, by their real ARNs (their documents trimmed to what Kindling serves)
MANAGED: dict[str, dict[str, Any]] = {
    "arn:aws:iam::aws:policy/AdministratorAccess": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    },
    "arn:aws:iam::aws:policy/AWSLambda_FullAccess": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["lambda:*", "logs:*", "iam:PassRole"], "Resource": "*"}],
    },
    "arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["lambda:Get*", "lambda:List*", "logs:Describe*", "logs:Get*", "logs:FilterLogEvents"],
                "Resource": "*",
            }
        ],
    },
}


@dataclass(frozen=True)
class Identity:
    arn: str
    account: str
    kind: str  # "Root", "IAMUser" or "AssumedRole", as CloudTrail's userIdentity.type says
    name: str  # the user name, or the role session's ("" for root)
    principal_id: str
    access_key: str
    token: str = ""  # a temporary key's session token, which each request must show
    expires: float = 0.0  # a temporary key's end (epoch seconds); 0: none
    role_arn: str = ""  # an assumed role's: whose policies apply

    @property
    def is_root(self) -> bool:
        return self.kind == "Root"

    @property
    def owner(self) -> str:
        """The user or role whose policies decide what this identity may do."""
        return self.role_arn or self.arn


class KeySource(Protocol):
    """Who signs with a key, and what that identity's policies are."""

    def secret_for(self, access_key: str) -> str | None: ...

    def identity_for(self, access_key: str) -> Identity | None: ...

    def policies_for(self, identity: Identity) -> list[dict[str, Any]]: ...


class IdentitySource(KeySource, Protocol):
    """What the auth part needs to know about callers: the keys, and the root identity."""

    root: Identity


def new_access_key() -> tuple[str, str]:
    return "AKIA" + "".join(secrets.choice(_KEY_CHARS) for _ in range(16)), secrets.token_urlsafe(30)[:40]


def root_keys(data_dir: Path, environ: dict[str, str] | None = None) -> tuple[str, str, Path | None]:
    """The root identity's key pair: from the environment, else from ``<data-dir>/credentials`` (written, mode
    0600, on first start). The path is returned when the keys live in that file."""
    environ = dict(os.environ) if environ is None else environ
    if environ.get(ROOT_KEY_ENV) and environ.get(ROOT_SECRET_ENV):
        return environ[ROOT_KEY_ENV], environ[ROOT_SECRET_ENV], None
    path = data_dir / "credentials"
    if not path.exists():
        key, secret = new_access_key()
        text = f"[{PROFILE}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(text)
    import configparser

    parser = configparser.ConfigParser()
    parser.read(path)
    return parser[PROFILE]["aws_access_key_id"], parser[PROFILE]["aws_secret_access_key"], path


SCHEMA = """
CREATE TABLE IF NOT EXISTS iam_users (
    name TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS iam_access_keys (
    key_id TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    user TEXT NOT NULL REFERENCES iam_users(name) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS iam_user_policies (
    user TEXT NOT NULL REFERENCES iam_users(name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (user, name)
);
CREATE TABLE IF NOT EXISTS iam_attached_policies (
    user TEXT NOT NULL REFERENCES iam_users(name) ON DELETE CASCADE,
    policy_arn TEXT NOT NULL,
    PRIMARY KEY (user, policy_arn)
);
"""


class Identities(Tables):
    """The root identity and the users in ``kindling.db``; keys and policies are cached in memory. A key
    not found here is asked of ``more`` (the IAM API's identities and the role sessions)."""

    SCHEMA = SCHEMA

    def __init__(
        self, database: Any, account: str, root_key: str, root_secret: str, more: KeySource | None = None
    ) -> None:
        super().__init__(database)
        self.more = more
        self.account = account
        self.root = Identity(f"arn:aws:iam::{account}:root", account, "Root", "", account, root_key)
        self._root_secret = root_secret
        self._keys: dict[str, tuple[str, Identity]] = {}
        self._policies: dict[str, list[dict[str, Any]]] = {}
        self._load()

    def _load(self) -> None:
        users = {name: user_id for name, user_id in self.rows("SELECT name, user_id FROM iam_users")}
        self._keys = {
            key: (secret, self._user(user, users[user], key))
            for key, secret, user in self.rows("SELECT key_id, secret, user FROM iam_access_keys")
        }
        self._policies = {name: [] for name in users}
        for user, document in self.rows("SELECT user, document FROM iam_user_policies ORDER BY user, name"):
            self._policies[user].append(json.loads(document))
        for user, arn in self.rows("SELECT user, policy_arn FROM iam_attached_policies ORDER BY user, policy_arn"):
            if arn in MANAGED:
                self._policies[user].append(MANAGED[arn])

    def _user(self, name: str, user_id: str, key: str) -> Identity:
        return Identity(f"arn:aws:iam::{self.account}:user/{name}", self.account, "IAMUser", name, user_id, key)

    # --------------------------------------------------------------- IdentitySource
    def secret_for(self, access_key: str) -> str | None:
        if access_key == self.root.access_key:
            return self._root_secret
        found = self._keys.get(access_key)
        if found is None:
            return self.more.secret_for(access_key) if self.more else None
        return found[0]

    def identity_for(self, access_key: str) -> Identity | None:
        if access_key == self.root.access_key:
            return self.root
        found = self._keys.get(access_key)
        if found is None:
            return self.more.identity_for(access_key) if self.more else None
        return found[1]

    def policies_for(self, identity: Identity) -> list[dict[str, Any]]:
        if identity.access_key in self._keys or self.more is None:
            return self._policies.get(identity.name, [])
        return self.more.policies_for(identity)

    # ------------------------------------------------------------------- management
    def put_user(self, name: str, inline: dict[str, Any], managed: list[str]) -> dict[str, Any]:
        """Create the user (with a first access key) or replace its policies. Returns the user and, when
        it was created, its key pair: the only time the secret is shown."""
        unknown = [arn for arn in managed if arn not in MANAGED]
        if unknown:
            raise ValueError(f"Policy {unknown[0]} does not exist or is not attachable.")
        created: tuple[str, str] | None = None
        with self.transaction() as db:
            if not db.execute("SELECT 1 FROM iam_users WHERE name = ?", (name,)).fetchone():
                user_id = "AIDA" + "".join(secrets.choice(_KEY_CHARS) for _ in range(17))
                db.execute("INSERT INTO iam_users VALUES (?, ?, ?)", (name, user_id, time.time()))
                created = new_access_key()
                db.execute("INSERT INTO iam_access_keys VALUES (?, ?, ?)", (*created, name))
            db.execute("DELETE FROM iam_user_policies WHERE user = ?", (name,))
            db.execute("DELETE FROM iam_attached_policies WHERE user = ?", (name,))
            for policy_name, document in inline.items():
                db.execute("INSERT INTO iam_user_policies VALUES (?, ?, ?)", (name, policy_name, json.dumps(document)))
            for arn in managed:
                db.execute("INSERT INTO iam_attached_policies VALUES (?, ?)", (name, arn))
        self._load()
        answer: dict[str, Any] = {"User": self.describe(name)}
        if created:
            answer["AccessKey"] = {"UserName": name, "AccessKeyId": created[0], "SecretAccessKey": created[1]}
        return answer

    def delete_user(self, name: str) -> bool:
        with self.transaction() as db:
            gone = db.execute("DELETE FROM iam_users WHERE name = ?", (name,)).rowcount > 0
        self._load()
        return gone

    def describe(self, name: str) -> dict[str, Any]:
        row = self.rows("SELECT user_id FROM iam_users WHERE name = ?", (name,))
        return {"UserName": name, "UserId": row[0][0] if row else "", "Arn": f"arn:aws:iam::{self.account}:user/{name}"}

    def users(self) -> list[dict[str, Any]]:
        return [self.describe(name) for (name,) in self.rows("SELECT name FROM iam_users ORDER BY name")]
