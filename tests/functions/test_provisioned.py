"""Provisioned concurrency: environments initialised ahead of demand, used before on-demand ones."""

from __future__ import annotations

import base64
import json
import time

import pytest
from botocore.exceptions import ClientError

from support import invoke_many

FUNCTION = {
    "app.py": (
        "import os, time\n"
        "kind = os.environ['AWS_LAMBDA_INITIALIZATION_TYPE']\n"
        "def handler(event, context):\n"
        "    time.sleep(event.get('sleep', 0))\n"
        "    return kind\n"
    )
}


def wait_for_status(lam, name: str, qualifier: str, want: str) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 20
    while True:
        config = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
        if config["Status"] == want or time.monotonic() > deadline:
            return config
        time.sleep(0.05)


def test_provisioned_environments_serve_first(lam, deploy, server):
    name = deploy(FUNCTION, Publish=True)
    put = lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=2)
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert put["RequestedProvisionedConcurrentExecutions"] == 2
    ready = wait_for_status(lam, name, "1", "READY")
    assert ready["Status"] == "READY"
    assert ready["AllocatedProvisionedConcurrentExecutions"] == 2
    assert ready["AvailableProvisionedConcurrentExecutions"] == 2

    reply = lam.invoke(FunctionName=name, Qualifier="1", LogType="Tail")
    assert json.loads(reply["Payload"].read()) == "provisioned-concurrency"
    assert "Init Duration" not in base64.b64decode(reply["LogResult"]).decode()  # init ran ahead of time

    kinds = sorted(json.loads(body) for _, _, body in invoke_many(server.endpoint, f"{name}:1", 3, b'{"sleep": 1}'))
    assert kinds == ["on-demand", "provisioned-concurrency", "provisioned-concurrency"]  # the third spills over

    listed = lam.list_provisioned_concurrency_configs(FunctionName=name)["ProvisionedConcurrencyConfigs"]
    assert [c["FunctionArn"].rsplit(":", 1)[1] for c in listed] == ["1"]
    lam.delete_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    with pytest.raises(ClientError) as caught:
        lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
    assert caught.value.response["Error"]["Code"] == "ProvisionedConcurrencyConfigNotFoundException"


def test_provisioned_concurrency_on_an_alias(lam, deploy):
    name = deploy(FUNCTION, Publish=True)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=1)
    assert wait_for_status(lam, name, "live", "READY")["Status"] == "READY"
    assert json.loads(lam.invoke(FunctionName=name, Qualifier="live")["Payload"].read()) == "provisioned-concurrency"


def test_provisioned_concurrency_rules(lam, deploy):
    name = deploy(FUNCTION, Publish=True)
    with pytest.raises(ClientError) as caught:
        lam.put_provisioned_concurrency_config(
            FunctionName=name, Qualifier="$LATEST", ProvisionedConcurrentExecutions=1
        )
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    with pytest.raises(ClientError) as caught:
        lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=2)
    assert "reservedConcurrentExecution" in caught.value.response["Error"]["Message"]


def test_failed_init_reports_failed(lam, deploy):
    name = deploy({"app.py": "raise RuntimeError('no')\n"}, Publish=True)
    lam.put_provisioned_concurrency_config(FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1)
    failed = wait_for_status(lam, name, "1", "FAILED")
    assert failed["Status"] == "FAILED"
    assert failed["StatusReason"].startswith("FUNCTION_ERROR_INIT_FAILURE")
