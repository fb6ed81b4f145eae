"""Environment variables are encrypted at rest: their values are in no file under the data dir, the function
still reads them, and they come back after a restart (the master key outside the database opens them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support import Server, create_function

SECRET = "tr0ub4dor-and-3-horses"
READER = "import os\ndef handler(event, context):\n    return {'value': os.environ['API_KEY']}\n"


def files_containing(root: Path, needle: bytes) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and not p.is_symlink() and needle in p.read_bytes()]


def test_no_plaintext_value_under_the_data_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = tmp_path_factory.mktemp("sealed") / "data"
    server = Server(data).start()
    try:
        lam = server.client()
        create_function(lam, "reader", {"app.py": READER}, Environment={"Variables": {"API_KEY": SECRET}})
        lam.publish_version(FunctionName="reader")
        lam.update_function_configuration(
            FunctionName="reader", Environment={"Variables": {"API_KEY": SECRET, "XY": "1"}}
        )
        lam.get_waiter("function_updated_v2").wait(FunctionName="reader")
        assert json.loads(lam.invoke(FunctionName="reader")["Payload"].read()) == {"value": SECRET}
        assert lam.get_function_configuration(FunctionName="reader")["Environment"]["Variables"]["API_KEY"] == SECRET
    finally:
        server.stop()
    assert (data / "master.key").stat().st_mode & 0o777 == 0o600
    assert files_containing(data, SECRET.encode()) == []
    again = Server(data).start()
    try:
        lam = again.client()
        assert json.loads(lam.invoke(FunctionName="reader", Qualifier="1")["Payload"].read()) == {"value": SECRET}
    finally:
        again.stop()
    assert files_containing(data, SECRET.encode()) == []
