"""The services' events for Lambda functions, handed to Kindling's durable event queue: an S3 notification,
an SNS message or an EventBridge event is an asynchronous invoke (retries, maximum event age, DLQ and
destinations apply), as on AWS. Also answers whether a function's resource policy lets a service invoke
it, which S3 asks when a bucket names a function as a destination.
"""

from __future__ import annotations

import fnmatch
import logging
import time
from typing import Any

from ..arn import parse_function
from ..errors import AwsError
from ..events.queue import EventQueue
from ..functions.policy import PolicyService
from ..functions.service import FunctionService
from ..ids import request_id
from ..models import InvokeRequest

log = logging.getLogger("kindling.services")
_INVOKE_ACTIONS = ("lambda:InvokeFunction", "lambda:*", "*")


class LambdaDeliveries:
    def __init__(self, functions: FunctionService, events: EventQueue, policies: PolicyService) -> None:
        self.functions = functions
        self.events = events
        self.policies = policies

    async def invoke(self, function_arn: str, payload: bytes) -> None:
        """Queue one event for the function; on disk when this returns (a missing function: logged, as AWS
        drops the event too)."""
        try:
            record, code_dir, invoked = self.functions.invoke_target(function_arn, None)
            await self.events.enqueue(record, code_dir, InvokeRequest(payload, invoked, request_id=request_id()))
        except AwsError as error:
            log.warning("an event for %s was dropped: %s", function_arn, error)

    def refused(self, namespace: str, metric: str, dimension: tuple[str, str]) -> None:
        """A delivery the function's resource policy refused, as the service counts it (EventBridge's
        ``FailedInvocations`` by rule, SNS's ``NumberOfNotificationsFailed`` by topic)."""
        self.events.metrics.put(namespace, metric, (dimension,), "Count", time.time(), 1.0)

    def may_invoke(self, function_arn: str, principal: str, source_arn: str, source_account: str) -> bool:
        """Whether the function's resource policy allows ``principal`` (a service) to invoke it on behalf of
        ``source_arn``: an Allow for the service (or ``*``) with ``lambda:InvokeFunction``, whose
        ``AWS:SourceArn`` and ``AWS:SourceAccount`` conditions, when present, match."""
        try:
            entry, qualifier = self.functions.lookup(function_arn)
        except AwsError:
            return False
        ref = parse_function(function_arn, self.functions.config.region, None)
        statements = self.policies.statements(entry.latest.name, ref.qualifier or qualifier)
        return any(_allows(item, principal, source_arn, source_account) for item in statements)


def _allows(statement: dict[str, Any], principal: str, source_arn: str, source_account: str) -> bool:
    if statement.get("Effect") != "Allow" or statement.get("Action") not in _INVOKE_ACTIONS:
        return False
    who = statement.get("Principal")
    if who != "*" and not (isinstance(who, dict) and who.get("Service") == principal):
        return False
    condition = statement.get("Condition", {})
    arn_pattern = condition.get("ArnLike", {}).get("AWS:SourceArn") or condition.get("ArnEquals", {}).get(
        "AWS:SourceArn"
    )
    if arn_pattern and not fnmatch.fnmatchcase(source_arn, arn_pattern):
        return False
    account = condition.get("StringEquals", {}).get("AWS:SourceAccount")
    return not (account and account != source_account)
