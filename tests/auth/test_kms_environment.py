"""``KMSKeyArn``: a function's variables sealed under a data key of its own KMS key (the KMS on the port), the
key returned as AWS returns it, a key that does not exist refused, and a disabled key failing invocations."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from support import Server, create_function

SECRET = "correct-horse-kms-staple"
READER = "import os\ndef handler(event, context):\n    return {'value': os.environ['API_KEY']}\n"


def files_containing(root: Path, needle: bytes) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and not p.is_symlink() and needle in p.read_bytes()]


def read(lam, name: str, qualifier: str = "$LATEST") -> dict:  # type: ignore[no-untyped-def]
    return json.loads(lam.invoke(FunctionName=name, Qualifier=qualifier)["Payload"].read())


def test_kms_key_seals_the_environment_and_gates_invocations(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = tmp_path_factory.mktemp("kms") / "data"
    server = Server(data).start()
    try:
        lam, kms = server.client(), server.client("kms")
        key = kms.create_key(Description="lambda env")["KeyMetadata"]
        key_arn, key_id = key["Arn"], key["KeyId"]
        missing = key_arn.rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000"
        with pytest.raises(ClientError) as refused:
            create_function(lam, "nokey", {"app.py": READER}, KMSKeyArn=missing)
        assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
        assert "NotFoundException" in refused.value.response["Error"]["Message"]
        assert "nokey" not in [f["FunctionName"] for f in lam.list_functions()["Functions"]]

        create_function(
            lam, "sealed", {"app.py": READER}, KMSKeyArn=key_arn, Environment={"Variables": {"API_KEY": SECRET}}
        )
        assert lam.get_function_configuration(FunctionName="sealed")["KMSKeyArn"] == key_arn
        assert read(lam, "sealed") == {"value": SECRET}
        assert lam.publish_version(FunctionName="sealed")["KMSKeyArn"] == key_arn

        kms.disable_key(KeyId=key_id)
        with pytest.raises(ClientError) as disabled:
            read(lam, "sealed")
        assert disabled.value.response["Error"]["Code"] == "KMSDisabledException"
        assert disabled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 502
        with pytest.raises(ClientError) as refused:  # nor can a disabled key be given
            lam.update_function_configuration(FunctionName="sealed", KMSKeyArn=key_arn)
        assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"
        kms.enable_key(KeyId=key_id)
        assert read(lam, "sealed", "1") == {"value": SECRET}

        other = kms.create_key()["KeyMetadata"]
        create_function(
            lam, "plain", {"app.py": READER}, KMSKeyArn=other["Arn"], Environment={"Variables": {"API_KEY": "x"}}
        )
        assert "KMSKeyArn" not in lam.update_function_configuration(FunctionName="plain", KMSKeyArn="")
        kms.schedule_key_deletion(KeyId=other["KeyId"], PendingWindowInDays=7)
        assert read(lam, "plain") == {"value": "x"}  # back on the default key: the other key no longer matters
    finally:
        server.stop()
    assert files_containing(data, SECRET.encode()) == []
    with sqlite3.connect(data / "kindling.db") as db:
        rows = [json.loads(row[0]) for row in db.execute("SELECT config FROM versions WHERE function = 'sealed'")]
    assert rows and all(row["environment"].startswith("kms:") for row in rows)
    again = Server(data).start()
    try:
        lam = again.client()
        assert read(lam, "sealed", "1") == {"value": SECRET}  # the KMS key's state came back with the services
        again.client("kms").disable_key(KeyId=key_id)
        with pytest.raises(ClientError) as disabled:
            read(lam, "sealed")
        assert disabled.value.response["Error"]["Code"] == "KMSDisabledException"
    finally:
        again.stop()
