"""The Lambda API's authorization and audit: each operation as the IAM action and resource ARN AWS checks
(``lambda:InvokeFunction`` on the qualified ARN, ``iam:PassRole`` for the role a function is given…),
evaluated against the caller's identity policies and the function's resource policy; every mutating or
denied call recorded in the audit trail with CloudTrail's event name (``CreateFunction20150331``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from ..arn import parse_function
from ..errors import AccessDenied, AwsError, InvalidParameterValue
from .audit import AuditTrail, Event
from .evaluate import Decision, Request, evaluate
from .gate import Caller, current
from .identities import Identity, IdentitySource

ResourcePolicy = Callable[[str, str | None], list[dict[str, Any]]]  # function name, qualifier -> statements
_ACTIONS = {  # operations whose IAM action has another name
    "Invoke": "InvokeFunction",
    "InvokeWithResponseStream": "InvokeFunction",
    "GetLayerVersionByArn": "GetLayerVersion",
}
_READ_ONLY = ("Get", "List")
_GIVE_ROLE = ("CreateFunction", "UpdateFunctionConfiguration")
_STREAM = "Cannot access stream {arn}. Please ensure the role can perform the GetRecords, GetShardIterator, "
_SOURCE_READS = {  # what the poller does with the role's credentials, and Lambda's refusal when it may not
    "sqs": (("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
            "The provided execution role does not have permissions to call {action} on SQS"),
    "kinesis": (("kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:DescribeStream", "kinesis:ListShards"),
                _STREAM + "DescribeStream, ListShards, and ListStreams Actions on your stream in IAM."),
    "dynamodb": (("dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream",
                  "dynamodb:ListStreams"), _STREAM + "DescribeStream, and ListStreams Actions on your stream in IAM."),
}  # fmt: skip
_V2 = {"UpdateFunctionCode", "UpdateFunctionConfiguration", "AddPermission", "RemovePermission", "GetPolicy",
       "GetFunction", "ListFunctions"}  # fmt: skip
_VERSION = re.compile(r"(\d{4})\\?-(\d{2})\\?-(\d{2})")


def event_name(operation: str, uri_pattern: str) -> str:
    """CloudTrail's name for a Lambda call: the operation and its API version (``CreateFunction20150331``)."""
    found = _VERSION.search(uri_pattern)
    version = "".join(found.groups()) if found else ""
    return operation + version + ("v2" if operation in _V2 and version == "20150331" else "")


def denial(caller: Identity, action: str, resource: str, decision: Decision, by: str) -> AccessDenied:
    head = f"User: {caller.arn} is not authorized to perform: {action} on resource: {resource}"
    if decision is Decision.EXPLICIT_DENY:
        kind = "an identity-based" if by == "identity" else "a resource-based"
        return AccessDenied(f"{head} with an explicit deny in {kind} policy")
    return AccessDenied(f"{head} because no identity-based policy allows the {action} action")


class LambdaAccess:
    """Plugged into ``LambdaApi`` (its ``guard``): ``authorize`` before the handler, ``record`` after."""

    def __init__(
        self,
        region: str,
        account: str,
        identities: IdentitySource,
        resource_policy: ResourcePolicy,
        trail: AuditTrail,
        enforce: bool,
        assumable: Callable[[str], bool] | None = None,
        role_of: Callable[[str], str | None] | None = None,
    ) -> None:
        self.region = region
        self.account = account
        self.identities = identities
        self.resource_policy = resource_policy
        self.trail = trail
        self.enforce = enforce
        self.assumable = assumable  # whether Lambda may assume a role (it exists and trusts lambda.amazonaws.com)
        self.role_of = role_of  # a function's execution role, by name or ARN (None: no such function)

    # ---------------------------------------------------------------- resources
    def function_arn(self, name: str, qualifier: str | None) -> tuple[str, str, str | None]:
        """The ARN AWS authorizes against, with the name and qualifier it names."""
        try:
            ref = parse_function(name, self.region, qualifier)
        except AwsError:
            return f"arn:aws:lambda:{self.region}:{self.account}:function:{name}", name, qualifier
        base = f"arn:aws:lambda:{self.region}:{self.account}:function:{ref.name}"
        return (f"{base}:{ref.qualifier}" if ref.qualifier else base), ref.name, ref.qualifier

    def resource(self, params: dict[str, Any]) -> str:
        if "FunctionName" in params and isinstance(params["FunctionName"], str):
            return self.function_arn(params["FunctionName"], params.get("Qualifier"))[0]
        if "LayerName" in params:
            layer = str(params["LayerName"])
            base = layer if layer.startswith("arn:") else f"arn:aws:lambda:{self.region}:{self.account}:layer:{layer}"
            return f"{base}:{params['VersionNumber']}" if "VersionNumber" in params else base
        if "Arn" in params:
            return str(params["Arn"])
        if "UUID" in params:
            return f"arn:aws:lambda:{self.region}:{self.account}:event-source-mapping:{params['UUID']}"
        if "Resource" in params:
            return str(params["Resource"])
        return "*"

    def context(self, caller: Caller, params: dict[str, Any]) -> dict[str, Any]:
        identity = caller.identity
        now = time.time()
        context: dict[str, Any] = {
            "aws:PrincipalArn": identity.owner,  # a role session's is its role's, as on AWS
            "aws:PrincipalAccount": identity.account,
            "aws:PrincipalType": "Account" if identity.is_root else identity.kind.replace("IAMUser", "User"),
            "aws:userid": identity.principal_id,
            "aws:SourceIp": caller.source_ip,
            "aws:UserAgent": caller.user_agent,
            "aws:CurrentTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "aws:EpochTime": str(int(now)),
            "aws:SecureTransport": "true" if caller.secure else "false",
            "aws:RequestedRegion": self.region,
        }
        if identity.kind == "IAMUser":
            context["aws:username"] = identity.name
        if isinstance(params.get("Layers"), list):
            context["lambda:Layer"] = [str(layer) for layer in params["Layers"]]
        if params.get("AuthType"):
            context["lambda:FunctionUrlAuthType"] = params["AuthType"]
        if params.get("Principal") and isinstance(params["Principal"], str):
            context["lambda:Principal"] = params["Principal"]
        if "FunctionName" in params and "UUID" not in params and params.get("EventSourceArn"):
            context["lambda:FunctionArn"] = self.function_arn(str(params["FunctionName"]), None)[0]
        return context

    # ------------------------------------------------------------------- checks
    def check(
        self, caller: Caller, action: str, resource: str, context: dict[str, Any], resource_policies: list
    ) -> None:
        identity = caller.identity
        if identity.is_root:
            return
        request = Request(action, resource, identity.arn, context)
        outcome = evaluate(request, self.identities.policies_for(identity), resource_policies)
        if not outcome.allowed:
            raise denial(identity, action, resource, outcome.decision, outcome.by)

    def require(self, action: str, resource: str) -> None:
        """A non-Lambda action (``cloudtrail:LookupEvents``, ``iam:CreateUser``) for the current caller."""
        caller = current()
        if self.enforce and caller is not None and caller.verified:
            self.check(caller, action, resource, self.context(caller, {}), [])

    def url_allowed(self, function: str, qualifier: str) -> bool:
        """Whether the caller of an ``AuthType: AWS_IAM`` function URL may invoke it: ``lambda:InvokeFunctionUrl``
        on the function (the alias's ARN for an alias URL), from its identity or the function's resource policy."""
        caller = current()
        if not self.enforce:
            return True
        if caller is None or not caller.verified:
            return False
        named = None if qualifier == "$LATEST" else qualifier
        resource = self.function_arn(function, named)[0]
        context = {**self.context(caller, {}), "lambda:FunctionUrlAuthType": "AWS_IAM"}
        statements = self.resource_policy(function, named)
        try:
            self.check(
                caller, "lambda:InvokeFunctionUrl", resource, context, [{"Statement": statements}] if statements else []
            )
        except AccessDenied:
            return False
        return True

    def authorize(self, operation: str, params: dict[str, Any]) -> None:
        caller = current()
        if not self.enforce or caller is None or not caller.verified:
            return
        if not caller.identity.is_root:
            self._permitted(caller, operation, params)
        role = params.get("Role")
        if operation in _GIVE_ROLE and isinstance(role, str) and self.assumable and not self.assumable(role):
            raise InvalidParameterValue("The role defined for the function cannot be assumed by Lambda.")
        source = params.get("EventSourceArn")
        if operation == "CreateEventSourceMapping" and isinstance(source, str) and self.role_of is not None:
            self._source_readable(str(params.get("FunctionName", "")), source)

    def _source_readable(self, function: str, source: str) -> None:
        """As Lambda checks at CreateEventSourceMapping: the function's role may read the queue or stream."""
        role = self.role_of(function) if self.role_of else None
        service = source.split(":")[2] if source.count(":") >= 5 else ""
        if role is None or service not in _SOURCE_READS:
            return
        actions, message = _SOURCE_READS[service]
        session = Identity(role, self.account, "AssumedRole", "", "", "", role_arn=role)
        for action in actions:
            request = Request(action, source, role, {"aws:PrincipalArn": role, "aws:PrincipalAccount": self.account})
            if not evaluate(request, self.identities.policies_for(session)).allowed:
                raise InvalidParameterValue(message.format(action=action.split(":", 1)[1], arn=source))

    def _permitted(self, caller: Caller, operation: str, params: dict[str, Any]) -> None:
        action = "lambda:" + _ACTIONS.get(operation, operation)
        resource = self.resource(params)
        context = self.context(caller, params)
        policies: list[dict[str, Any]] = []
        if resource.startswith(f"arn:aws:lambda:{self.region}:{self.account}:function:"):
            _, name, qualifier = self.function_arn(str(params["FunctionName"]), params.get("Qualifier"))
            statements = self.resource_policy(name, qualifier)
            if statements:
                policies = [{"Statement": statements}]
        self.check(caller, action, resource, context, policies)
        role = params.get("Role")
        if operation in _GIVE_ROLE and isinstance(role, str) and role:
            passed = {**context, "iam:PassedToService": "lambda.amazonaws.com"}
            self.check(caller, "iam:PassRole", role, passed, [])

    def record(
        self, operation: str, uri_pattern: str, params: dict[str, Any], request_id: str, error: AwsError | None
    ) -> None:
        """Mutating calls and denied ones go to the trail; successful reads and invokes do not."""
        if operation.startswith((*_READ_ONLY, "Invoke")) and not isinstance(error, AccessDenied):
            return
        caller = current()
        if caller is None:
            return
        resource = self.resource(params)
        kind = "AWS::Lambda::Function" if ":function:" in resource else "AWS::Lambda::Resource"
        self.trail.record(
            Event(
                "lambda.amazonaws.com",
                event_name(operation, uri_pattern),
                caller,
                self.region,
                request_id,
                params,
                [(kind, resource)] if resource != "*" else [],
                error.code if error else "",
                error.message if error else "",
                operation.startswith(_READ_ONLY),
            )
        )
