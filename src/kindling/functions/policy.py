"""Resource-based policies, tags and recursion settings: the rules of AddPermission and friends.

Policies and recursion modes are held in memory per function (the store is the durable copy),
each remembering the ``FunctionEntry`` it was made for: a function deleted and created again
under the same name starts with none, as on AWS.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..arn import parse_function
from ..errors import InvalidParameterValue, PreconditionFailed, ResourceConflict, ResourceNotFound, UserError
from ..invoke.trace import lineage_hops
from ..store.resources import ResourceStore
from .service import FunctionEntry, FunctionService

MAX_TAGS = 50
MAX_HOPS = 16  # invocations of one chain before Lambda stops the next
MAX_POLICY_BYTES = 20_480
_ACCOUNT = re.compile(r"^\d{12}$")
_ROOT = re.compile(r"^arn:aws:iam::(\d{12}):(root|role/.+|user/.+)$")
_SERVICE = re.compile(r"^[a-z0-9.-]+\.amazonaws\.com(\.cn)?$")


class RecursiveInvocation(UserError):
    code = "RecursiveInvocationException"
    message_key = "Message"


class PolicyLengthExceeded(UserError):
    code = "PolicyLengthExceededException"


@dataclass
class Policy:
    entry: FunctionEntry
    qualifier: str
    statements: list[dict[str, Any]] = field(default_factory=list)
    revision_id: str = ""


def _principal(value: str) -> Any:
    if value == "*":
        return "*"
    if _SERVICE.match(value):
        return {"Service": value}
    if _ACCOUNT.match(value):
        return {"AWS": f"arn:aws:iam::{value}:root"}
    if _ROOT.match(value):
        return {"AWS": value}
    raise InvalidParameterValue("The provided principal was invalid. Please check the principal and try again.")


def statement(params: dict[str, Any], resource: str) -> dict[str, Any]:
    """One policy statement in the JSON form AWS stores and returns."""
    conditions: dict[str, dict[str, str]] = {}
    for member, operator, key in (
        ("SourceAccount", "StringEquals", "AWS:SourceAccount"),
        ("PrincipalOrgID", "StringEquals", "aws:PrincipalOrgID"),
        ("EventSourceToken", "StringEquals", "lambda:EventSourceToken"),
        ("FunctionUrlAuthType", "StringEquals", "lambda:FunctionUrlAuthType"),
        ("SourceArn", "ArnLike", "AWS:SourceArn"),
    ):
        if params.get(member):
            conditions.setdefault(operator, {})[key] = params[member]
    if params.get("InvokedViaFunctionUrl"):
        conditions["Bool"] = {"lambda:InvokedViaFunctionUrl": "true"}
    body: dict[str, Any] = {
        "Sid": params["StatementId"],
        "Effect": "Allow",
        "Principal": _principal(params["Principal"]),
        "Action": params["Action"],
        "Resource": resource,
    }
    if conditions:
        body["Condition"] = conditions
    return body


def allows_public_url(statements: list[dict[str, Any]]) -> bool:
    """Whether anyone may call an AuthType NONE URL: AWS's own rule for ``FunctionUrlAuthType``."""
    for item in statements:
        if item.get("Principal") != "*" or item.get("Action") not in ("lambda:InvokeFunctionUrl", "lambda:*", "*"):
            continue
        if item.get("Condition", {}).get("StringEquals", {}).get("lambda:FunctionUrlAuthType") == "NONE":
            return True
    return False


class PolicyService:
    def __init__(self, functions: FunctionService, store: ResourceStore) -> None:
        self.functions = functions
        self.store = store
        self._policies: dict[tuple[str, str], Policy] = {}
        self._recursion: dict[str, tuple[FunctionEntry, str]] = {}
        self.recursion_dropped: Callable[[str], None] = lambda function: None  # RecursiveInvocationsDropped
        for name, qualifier, statements, revision in store.all_policies():
            entry = self._entry_or_none(name)
            if entry is not None:
                self._policies[(name, qualifier)] = Policy(entry, qualifier, statements, revision)
        for name, mode in store.all_recursion().items():
            entry = self._entry_or_none(name)
            if entry is not None:
                self._recursion[name] = (entry, mode)

    def _entry_or_none(self, name: str) -> FunctionEntry | None:
        try:
            return self.functions.resolve(name)
        except ResourceNotFound:
            return None

    # ---------------------------------------------------------------- policies
    def _target(self, name_or_arn: str, qualifier: str | None) -> tuple[FunctionEntry, str]:
        entry, resolved = self.functions.lookup_qualified(name_or_arn, qualifier)
        if parse_function(name_or_arn, self.functions.config.region, qualifier).qualifier == "$LATEST":
            raise InvalidParameterValue("We currently do not support adding policies for $LATEST.")
        return entry, resolved

    def _policy(self, entry: FunctionEntry, qualifier: str) -> Policy:
        key = (entry.latest.name, qualifier)
        policy = self._policies.get(key)
        if policy is None or policy.entry is not entry:
            policy = self._policies[key] = Policy(entry, qualifier)
        return policy

    def statements(self, function_name: str, qualifier: str) -> list[dict[str, Any]]:
        policy = self._policies.get((function_name, qualifier))
        entry = self._entry_or_none(function_name)
        return policy.statements if policy is not None and policy.entry is entry else []

    def add_permission(self, params: dict[str, Any]) -> dict[str, Any]:
        entry, resolved = self._target(params["FunctionName"], params.get("Qualifier"))
        policy = self._policy(entry, resolved)
        _check_policy_revision(policy, params.get("RevisionId"))
        sid = params["StatementId"]
        if any(s.get("Sid") == sid for s in policy.statements):
            raise ResourceConflict(
                f"The statement id ({sid}) provided already exists. Please specify a new statement id, "
                "or remove the existing statement."
            )
        qualifier = None if resolved == "$LATEST" else resolved
        added = statement(params, self.functions.arn(entry.latest.name, qualifier))
        statements = [*policy.statements, added]
        if len(json.dumps(self.document(statements))) > MAX_POLICY_BYTES:
            raise ResourceConflict(
                f"The final policy size ({len(json.dumps(self.document(statements)))}) is bigger than the limit "
                f"({MAX_POLICY_BYTES})."
            )
        self._save(policy, statements)
        return added

    def remove_permission(self, name_or_arn: str, sid: str, qualifier: str | None, revision_id: str | None) -> None:
        ref = parse_function(name_or_arn, self.functions.config.region, qualifier)
        if self._entry_or_none(ref.name) is None:
            raise ResourceNotFound(f"No policy found for: {self.functions.arn(ref.name, ref.qualifier)}")
        entry, resolved = self._target(name_or_arn, qualifier)
        policy = self._policy(entry, resolved)
        if not policy.statements:
            raise ResourceNotFound("No policy is associated with the given resource.")
        _check_policy_revision(policy, revision_id)
        remaining = [s for s in policy.statements if s.get("Sid") != sid]
        if len(remaining) == len(policy.statements):
            raise ResourceNotFound(f"Statement {sid} is not found in resource policy.")
        self._save(policy, remaining)

    def _save(self, policy: Policy, statements: list[dict[str, Any]]) -> None:
        revision = str(uuid.uuid4())
        self.store.save_policy(policy.entry.latest.name, policy.qualifier, statements, revision)
        policy.statements, policy.revision_id = statements, revision

    @staticmethod
    def document(statements: list[dict[str, Any]]) -> dict[str, Any]:
        return {"Version": "2012-10-17", "Id": "default", "Statement": statements}

    def get_policy(self, name_or_arn: str, qualifier: str | None) -> tuple[dict[str, Any], str]:
        entry, resolved = self.functions.lookup(name_or_arn, qualifier)
        policy = self._policies.get((entry.latest.name, resolved))
        if policy is None or policy.entry is not entry or not policy.statements:
            raise ResourceNotFound("The resource you requested does not exist.")
        return self.document(policy.statements), policy.revision_id

    # ------------------------------------------ whole policies (Put/Get/DeleteResourcePolicy)
    def _resource(self, arn: str) -> Policy:
        if ":runtime/" in arn:
            raise ResourceNotFound("The resource you requested does not exist.")
        return self._policy(*self._target(arn, None))

    def put_resource_policy(self, arn: str, document: str, revision_id: str | None) -> tuple[str, str]:
        """Replace the whole policy of a function, version or alias with ``document`` (what AddPermission builds
        one statement at a time)."""
        policy = self._resource(arn)
        _check_policy_revision(policy, revision_id)
        try:
            parsed = json.loads(document)
        except ValueError:
            raise InvalidParameterValue("The policy is not valid JSON.") from None
        statements = parsed.get("Statement") if isinstance(parsed, dict) else None
        if isinstance(statements, dict):
            statements = [statements]
        if not statements or not all(isinstance(s, dict) for s in statements):
            raise InvalidParameterValue("The policy must hold a Statement: a statement object or a list of them.")
        if len(json.dumps(self.document(statements))) > MAX_POLICY_BYTES:
            raise PolicyLengthExceeded(
                f"The final policy size ({len(json.dumps(self.document(statements)))}) is bigger than the limit "
                f"({MAX_POLICY_BYTES})."
            )
        self._save(policy, statements)
        return json.dumps(self.document(statements)), policy.revision_id

    def get_resource_policy(self, arn: str) -> tuple[str, str]:
        policy = self._resource(arn)
        if not policy.statements:
            raise ResourceNotFound("The resource you requested does not exist.")
        return json.dumps(self.document(policy.statements)), policy.revision_id

    def delete_resource_policy(self, arn: str, revision_id: str | None) -> None:
        policy = self._resource(arn)
        if not policy.statements:
            raise ResourceNotFound("No policy is associated with the given resource.")
        _check_policy_revision(policy, revision_id)
        self._save(policy, [])

    # -------------------------------------------------------------------- tags
    def _tag_target(self, resource: str) -> FunctionEntry:
        ref = parse_function(resource, self.functions.config.region)
        if ref.qualifier:
            raise InvalidParameterValue(
                "Tags on function aliases and versions are not supported. Please specify a function ARN."
            )
        return self.functions.resolve(resource)

    def list_tags(self, resource: str) -> dict[str, str]:
        return self.functions.tags(self._tag_target(resource).latest.name)

    def tag(self, resource: str, tags: dict[str, str]) -> None:
        name = self._tag_target(resource).latest.name
        merged = {**self.functions.tags(name), **tags}
        if len(merged) > MAX_TAGS:
            raise InvalidParameterValue("Number of tags exceeds resource tag limit.")
        self.store.set_tags(name, merged)

    def untag(self, resource: str, keys: list[str]) -> None:
        name = self._tag_target(resource).latest.name
        self.store.set_tags(name, {k: v for k, v in self.functions.tags(name).items() if k not in keys})

    # --------------------------------------------------------------- recursion
    def recursion(self, name_or_arn: str) -> str:
        entry = self.functions.resolve(name_or_arn)
        return self.recursion_of(entry)

    def recursion_of(self, entry: FunctionEntry) -> str:
        found = self._recursion.get(entry.latest.name)
        return found[1] if found is not None and found[0] is entry else "Terminate"

    def check_loop(self, name_or_arn: str, trace_header: str) -> None:
        """Stop the 17th invocation of a chain when the function's RecursiveLoop is ``Terminate``."""
        if lineage_hops(trace_header) < MAX_HOPS:
            return
        try:
            entry, _ = self.functions.lookup(name_or_arn)
        except (ResourceNotFound, InvalidParameterValue):
            return  # the invoke itself reports it
        if self.recursion_of(entry) == "Terminate":
            self.recursion_dropped(entry.latest.name)
            raise RecursiveInvocation(
                "Recursive invocation detected: Lambda stopped this invocation of "
                f"{entry.latest.name} because the chain reached {MAX_HOPS} invocations."
            )

    def put_recursion(self, name_or_arn: str, mode: str) -> str:
        entry = self.functions.resolve(name_or_arn)
        self.store.set_recursion(entry.latest.name, mode)
        self._recursion[entry.latest.name] = (entry, mode)
        return mode


def _check_policy_revision(policy: Policy, revision_id: str | None) -> None:
    if revision_id and revision_id != policy.revision_id:
        raise PreconditionFailed(
            "The Revision Id provided does not match the latest Revision Id. "
            "Call the GetPolicy API to retrieve the latest Revision Id"
        )
