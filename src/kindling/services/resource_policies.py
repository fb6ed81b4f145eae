"""The resource-based policies of the services on the port, as IAM's evaluation reads them beside the
caller's own: an S3 bucket's policy (for the bucket and its objects) and an SQS queue's ``Policy``
attribute. Within one account an allow in either allows and an explicit deny in either denies
(``auth/evaluate.py``), so a bucket policy can open a bucket to a user with no permissions of its own,
and a queue policy's ``Deny`` shuts out a user whose identity policy allows.

Read from moto's backends in the services' thread, where the request is screened, on each call: a policy
just put applies to the next request, as on AWS.
"""

from __future__ import annotations

import json
from typing import Any


def resource_policies(account: str, resource: str) -> list[dict[str, Any]]:
    """The policy documents attached to ``resource`` (an S3 bucket or object ARN, an SQS queue ARN)."""
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return []
    service, region, name = parts[2], parts[3], parts[5]
    if service == "s3" and name:
        return _parsed(_bucket_policy(account, name.split("/", 1)[0]))
    if service == "sqs" and name:
        return _parsed(_queue_policy(account, region, name))
    return []


def _bucket_policy(account: str, bucket: str) -> Any:
    from moto.s3.models import s3_backends  # moto is imported once the services are used

    found = s3_backends[account]["aws"].buckets.get(bucket)
    return found.policy if found is not None else None


def _queue_policy(account: str, region: str, queue: str) -> Any:
    from moto.sqs.models import sqs_backends

    found = sqs_backends[account][region].queues.get(queue)
    return getattr(found, "policy", None) if found is not None else None


def _parsed(document: Any) -> list[dict[str, Any]]:
    if not document:
        return []
    if isinstance(document, bytes | str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    return [document] if isinstance(document, dict) else []
