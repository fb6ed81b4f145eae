"""IAM authorization of the AWS services on the port: each request as the action and resource ARN AWS
checks (``s3:GetObject`` on ``arn:aws:s3:::bucket/key``, ``secretsmanager:GetSecretValue`` on the secret's
ARN, ``sts:AssumeRole`` on the role against its trust policy…), evaluated like the Lambda API's calls.

Runs in the services' thread, before moto sees the request, with the caller the gate verified. Also
answers ``GetCallerIdentity`` with the caller's real ARN (user, root or assumed role).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from ..auth.audit import Event
from ..auth.directory import Directory
from ..auth.evaluate import Decision, Request, evaluate
from ..auth.gate import Caller
from ..auth.lambda_access import LambdaAccess
from ..errors import AccessDenied
from ..ids import request_id
from .resource_policies import resource_policies
from .routing import changes_state, operation

if TYPE_CHECKING:  # the engine imports moto, which the server loads only once a service is asked
    from .engine import Answer, Call

_PREFIX = {"dynamodbstreams": "dynamodb", "monitoring": "cloudwatch"}
_XML_CODES = frozenset(["s3", "sqs", "sns", "iam", "sts", "ec2"])  # answer "AccessDenied", the others "…Exception"
_BATCHES = {  # SQS authorizes a batch as its single call
    "sqs:SendMessageBatch": "sqs:SendMessage", "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}  # fmt: skip
_S3_SUB = {  # a bucket's or an object's subresource -> the action's noun
    "policy": "BucketPolicy", "tagging": "Tagging", "acl": "Acl", "versioning": "BucketVersioning",
    "notification": "BucketNotification", "cors": "BucketCORS", "lifecycle": "LifecycleConfiguration",
    "encryption": "EncryptionConfiguration", "website": "BucketWebsite", "location": "BucketLocation",
}  # fmt: skip


class ServiceAccess:
    def __init__(self, access: LambdaAccess, directory: Directory, region: str, account: str) -> None:
        self.access = access
        self.directory = directory
        self.region = region
        self.account = account

    def screen(self, call: Call, body: bytes | None, caller: Caller | None) -> Answer | None:
        """None when moto may take the request; else the answer to send instead (a denial, or the caller's
        identity)."""
        if caller is None:
            return None
        target = next((v for k, v in call.headers if k.lower() == "x-amz-target"), "")
        name = operation(call.method, target, call.query, body)
        if call.service == "sts" and name == "GetCallerIdentity":
            return self._identity(caller)
        if not self.access.enforce or not caller.verified:
            return None
        params = self._params(call, body, bool(target))
        if call.service == "s3":
            action, resource = _s3(call)
        else:
            action, resource = f"{_PREFIX.get(call.service, call.service)}:{name}", self._resource(call, name, params)
            action = _BATCHES.get(action, action)
        try:
            if action == "sts:AssumeRole":
                self._assume(caller, resource)
            elif not caller.identity.is_root:
                policies = resource_policies(self.account, resource)  # a bucket's or a queue's own policy
                self.access.check(caller, action, resource, self.access.context(caller, {}), policies)
        except AccessDenied as denied:
            noun = action.split(":", 1)[1]  # S3's operation is its action's name (the request names only a method)
            shown = params if call.service in ("iam", "sts") else {}  # a denied PutParameter's value stays out
            self._audit(call.service, noun, caller, shown, resource, "AccessDenied", denied.message)
            return _refusal(call.service, bool(target), denied.message)
        return None

    def record(self, call: Call, body: bytes | None, status: int) -> None:
        """An IAM or STS call that changed something (a user, a key, a policy, a session), to the audit trail."""
        if call.caller is None or status >= 400 or call.service not in ("iam", "sts"):
            return
        target = next((v for k, v in call.headers if k.lower() == "x-amz-target"), "")
        name = operation(call.method, target, call.query, body)
        if changes_state(call.service, call.method, name):
            params = {k: v for k, v in self._params(call, body, bool(target)).items() if k not in ("Action", "Version")}
            self._audit(call.service, name, call.caller, params, self._resource(call, name, params))

    def _audit(self, service: str, name: str, caller: Caller, params: dict[str, Any], resource: str,
               code: str = "", message: str = "") -> None:  # fmt: skip
        resources = [(_kind(resource), resource)] if resource != "*" else []
        event = Event(f"{service}.amazonaws.com", name, caller, self.region, request_id(), params, resources, code,
                      message, name.startswith(("Get", "List", "Describe", "Head")))  # fmt: skip
        self.access.trail.record(event)

    # ------------------------------------------------------------------ STS
    def _assume(self, caller: Caller, role_arn: str) -> None:
        """A role's trust policy is its resource policy: naming the caller allows on its own; naming the
        account leaves it to the caller's identity policies. Root may not assume roles."""
        identity = caller.identity
        head = f"User: {identity.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        role = self.directory.role(role_arn)
        if identity.is_root or role is None:
            raise AccessDenied(head)
        context = self.access.context(caller, {})
        named = {k: v for k, v in context.items() if k != "aws:PrincipalAccount"}
        direct = evaluate(Request("sts:AssumeRole", role_arn, identity.arn, named), [], [role.trust])
        trusted = evaluate(Request("sts:AssumeRole", role_arn, identity.arn, context), [], [role.trust])
        own = evaluate(Request("sts:AssumeRole", role_arn, identity.arn, context),
                       self.access.identities.policies_for(identity))  # fmt: skip
        if Decision.EXPLICIT_DENY in (trusted.decision, own.decision):
            raise AccessDenied(head)
        if not (direct.allowed or (trusted.allowed and own.allowed)):
            raise AccessDenied(head)

    def _identity(self, caller: Caller) -> Answer:
        from .engine import Answer

        identity = caller.identity
        user_id = identity.account if identity.is_root else identity.principal_id
        result = (
            f"<UserId>{user_id}</UserId><Account>{identity.account or self.account}</Account>"
            f"<Arn>{identity.arn or f'arn:aws:iam::{self.account}:root'}</Arn>"
        )
        body = (
            '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<GetCallerIdentityResult>{result}</GetCallerIdentityResult>"
            f"<ResponseMetadata><RequestId>{request_id()}</RequestId></ResponseMetadata>"
            "</GetCallerIdentityResponse>"
        )
        return Answer(200, [(b"content-type", b"text/xml")], body.encode())

    # ------------------------------------------------------------------ resources
    @staticmethod
    def _params(call: Call, body: bytes | None, json_protocol: bool) -> dict[str, Any]:
        if call.service == "s3" or body is None:
            return {}
        if json_protocol:
            try:
                parsed = json.loads(body or b"{}")
            except ValueError:
                return {}
            return parsed if isinstance(parsed, dict) else {}
        return dict(parse_qsl(call.query)) | dict(parse_qsl(body.decode("latin-1")))

    def _resource(self, call: Call, name: str, params: dict[str, Any]) -> str:
        region, account = self.region, self.account
        service = call.service
        if service == "sqs":
            queue = params.get("QueueUrl") or params.get("QueueName")
            return f"arn:aws:sqs:{region}:{account}:{str(queue).rstrip('/').rsplit('/', 1)[-1]}" if queue else "*"
        if service == "secretsmanager":
            return self._secret_arn(str(params.get("SecretId") or params.get("Name") or "")) or "*"
        if service == "ssm":
            named = params.get("Name") or (params.get("Names") or [None])[0] or params.get("Path")
            return f"arn:aws:ssm:{region}:{account}:parameter/{str(named).lstrip('/')}" if named else "*"
        if service in ("dynamodb", "dynamodbstreams") and params.get("TableName"):
            return f"arn:aws:dynamodb:{region}:{account}:table/{params['TableName']}"
        if service == "kinesis":
            stream = params.get("StreamARN") or params.get("StreamName")
            if stream:
                return (
                    str(stream)
                    if str(stream).startswith("arn:")
                    else f"arn:aws:kinesis:{region}:{account}:stream/{stream}"
                )
        if service == "kms" and params.get("KeyId"):
            key = str(params["KeyId"])
            return (
                key
                if key.startswith("arn:")
                else f"arn:aws:kms:{region}:{account}:{'' if key.startswith('alias/') else 'key/'}{key}"
            )
        if service == "sns":
            return str(params.get("TopicArn") or params.get("TargetArn") or "*")
        if service == "sts" and params.get("RoleArn"):
            return str(params["RoleArn"])
        if service == "iam":
            for key, kind in (("RoleName", "role"), ("UserName", "user"), ("GroupName", "group")):
                if params.get(key):
                    return f"arn:aws:iam::{account}:{kind}/{params[key]}"
            return str(params.get("PolicyArn") or "*")
        return "*"

    def _secret_arn(self, secret_id: str) -> str:
        if not secret_id or secret_id.startswith("arn:"):
            return secret_id
        from moto.secretsmanager.models import secretsmanager_backends

        found = secretsmanager_backends[self.account][self.region].secrets.get(secret_id)
        return (
            found.arn
            if found is not None
            else f"arn:aws:secretsmanager:{self.region}:{self.account}:secret:{secret_id}"
        )


def _refusal(service: str, json_protocol: bool, message: str) -> Answer:
    """AWS's 403 in the protocol the request came in."""
    from .engine import Answer

    code = "AccessDenied" if service in _XML_CODES else "AccessDeniedException"
    if json_protocol:
        body = json.dumps({"__type": code, "message": message}).encode()
        return Answer(403, [(b"content-type", b"application/x-amz-json-1.0")], body)
    text = message.replace("&", "&amp;").replace("<", "&lt;")
    error = f"<Code>{code}</Code><Message>{text}</Message>"
    if service == "s3":
        xml = f"<Error>{error}</Error>"
    else:
        xml = f"<ErrorResponse><Error><Type>Sender</Type>{error}</Error></ErrorResponse>"
    return Answer(403, [(b"content-type", b"text/xml")], xml.encode())


_SERVICE_NAMES = {
    "iam": "IAM",
    "sts": "STS",
    "s3": "S3",
    "sqs": "SQS",
    "sns": "SNS",
    "kms": "KMS",
    "ssm": "SSM",
    "dynamodb": "DynamoDB",
    "secretsmanager": "SecretsManager",
    "kinesis": "Kinesis",
    "events": "Events",
}


def _kind(arn: str) -> str:
    """CloudTrail's resource type of an ARN: ``AWS::IAM::User``, ``AWS::S3::Object``…"""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return "AWS::Resource"
    service, rest = parts[2], parts[5]
    if service == "s3":
        noun = "Object" if "/" in rest else "Bucket"
    elif service == "sqs":
        noun = "Queue"
    else:
        noun = rest.split("/", 1)[0].split(":", 1)[0].capitalize()
    return f"AWS::{_SERVICE_NAMES.get(service, service.capitalize())}::{noun}"


def _s3(call: Call) -> tuple[str, str]:
    """S3's REST request as its action and resource (path-style or virtual-hosted)."""
    host = next((v for k, v in call.headers if k.lower() == "host"), "")
    path = unquote(call.path)
    if ".s3." in host and not host.startswith("s3."):
        bucket, key = host.split(".s3.", 1)[0], path.lstrip("/")
    else:
        bucket, _, key = path.lstrip("/").partition("/")
    query = {k for k, _ in parse_qsl(call.query, keep_blank_values=True)}
    sub = next((_S3_SUB[q] for q in query if q in _S3_SUB), "")
    method = call.method
    if not bucket:
        return "s3:ListAllMyBuckets", "*"
    if key:
        resource = f"arn:aws:s3:::{bucket}/{key}"
        if method in ("GET", "HEAD"):
            action = f"GetObject{sub}" if sub in ("Tagging", "Acl") else "GetObject"
        elif method == "DELETE":
            action = "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
        else:
            action = f"PutObject{sub}" if sub in ("Tagging", "Acl") else "PutObject"
        return f"s3:{action}", resource
    resource = f"arn:aws:s3:::{bucket}"
    if method in ("GET", "HEAD"):
        if "versions" in query:
            return "s3:ListBucketVersions", resource
        if "uploads" in query:
            return "s3:ListBucketMultipartUploads", resource
        return (f"s3:Get{sub.replace('Tagging', 'BucketTagging').replace('Acl', 'BucketAcl')}" if sub
                else "s3:ListBucket"), resource  # fmt: skip
    if method == "POST" and "delete" in query:
        return "s3:DeleteObject", f"{resource}/*"
    if method == "DELETE":
        return (f"s3:Delete{sub.replace('Tagging', 'BucketTagging')}" if sub else "s3:DeleteBucket"), resource
    if sub:
        return f"s3:Put{sub.replace('Tagging', 'BucketTagging').replace('Acl', 'BucketAcl')}", resource
    return "s3:CreateBucket", resource
