"""Helpers for the SnapStart tests: publish a version and wait for its snapshot, read REPORT lines."""

from __future__ import annotations

import base64
import json
import re

SNAPSTART = {"ApplyOn": "PublishedVersions"}
RESTORE = re.compile(r"Restore Duration: ([0-9.]+) ms\tBilled Restore Duration: (\d+) ms")

# a handler that shows what init and the hooks did, and what this environment draws at random
HOOKS = """
import os, random, time
from snapshot_restore_py import register_after_restore, register_before_snapshot

calls = []
INIT_VALUE = random.random()
INIT_TYPE = os.environ['AWS_LAMBDA_INITIALIZATION_TYPE']
time.sleep(float(os.environ.get('INIT_SLEEP', '0')))

@register_before_snapshot
def first_before():
    calls.append('before-1')

register_before_snapshot(calls.append, 'before-2')

@register_after_restore
def first_after():
    calls.append('after-1:' + os.environ['AWS_LAMBDA_INITIALIZATION_TYPE'])

register_after_restore(calls.append, 'after-2')

def handler(event, context):
    if event.get('sleep'):
        time.sleep(event['sleep'])
    if event.get('exit'):
        os._exit(event['exit'])
    return {'calls': calls, 'init_value': INIT_VALUE, 'init_type': INIT_TYPE, 'random': random.random(),
            'env_type': os.environ['AWS_LAMBDA_INITIALIZATION_TYPE'], 'stream': context.log_stream_name}
"""


def publish_ready(lam, name: str) -> dict:  # type: ignore[no-untyped-def]
    """PublishVersion, then wait (with the boto3 waiter) until the version's snapshot is Active."""
    version = lam.publish_version(FunctionName=name)
    lam.get_waiter("published_version_active").wait(
        FunctionName=name, Qualifier=version["Version"], WaiterConfig={"Delay": 0.2, "MaxAttempts": 150}
    )
    return version


def invoke(lam, name: str, qualifier: str, event: dict | None = None) -> tuple[dict, str, str | None]:  # type: ignore[no-untyped-def]
    """(decoded result, log tail, function error) of one synchronous invoke."""
    reply = lam.invoke(FunctionName=name, Qualifier=qualifier, Payload=json.dumps(event or {}), LogType="Tail")
    return (
        json.loads(reply["Payload"].read()),
        base64.b64decode(reply["LogResult"]).decode(),
        reply.get("FunctionError"),
    )


def report(tail: str) -> str:
    return next(line for line in tail.splitlines() if line.startswith("REPORT"))
