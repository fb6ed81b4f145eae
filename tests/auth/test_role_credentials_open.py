"""``--auth open`` (the loopback default) keeps taking any role ARN, and functions still get their role's
temporary credentials, which act as the assumed role (nothing is refused)."""

from __future__ import annotations

import json

from support import Server, make_zip

WHO = """
import boto3, os
def handler(event, context):
    return {"key": os.environ["AWS_ACCESS_KEY_ID"], "arn": boto3.client("sts").get_caller_identity()["Arn"],
            "buckets": boto3.client("s3").list_buckets()["ResponseMetadata"]["HTTPStatusCode"]}
"""


def test_open_mode_takes_any_role_and_still_hands_out_role_credentials(server: Server) -> None:
    lam = server.client()
    lam.create_function(FunctionName="open-who", Runtime="python3.12", Role="arn:aws:iam::000000000000:role/nowhere",
                        Handler="app.handler", Code={"ZipFile": make_zip({"app.py": WHO})})  # fmt: skip
    try:
        out = json.loads(lam.invoke(FunctionName="open-who")["Payload"].read())
        assert out["key"].startswith("ASIA") and out["buckets"] == 200
        assert out["arn"] == "arn:aws:sts::000000000000:assumed-role/nowhere/open-who"
        who = server.client("sts", keys=("anything", "at-all")).get_caller_identity()
        assert who["Arn"] == "arn:aws:iam::000000000000:root"
    finally:
        lam.delete_function(FunctionName="open-who")
