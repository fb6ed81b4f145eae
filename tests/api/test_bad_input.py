"""Bad input gets a clear AWS-shaped error, changes nothing, and the server keeps serving."""

from __future__ import annotations

import io
import json
import urllib.request
import zipfile

import pytest
from botocore.exceptions import ClientError

from support import ROLE, make_zip


def _symlink_zip(target: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(e, c):\n    return 1\n")
        link = zipfile.ZipInfo("escape")
        link.external_attr = (0o120777) << 16
        archive.writestr(link, target)
    return buffer.getvalue()


def _bomb() -> bytes:
    """300 MB of zeros that compress to well under 1 MB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", "def handler(e, c):\n    return 1\n")
        with archive.open("zeros.bin", "w", force_zip64=True) as member:
            block = bytes(1 << 20)
            for _ in range(300):
                member.write(block)
    return buffer.getvalue()


BAD_PACKAGES = {
    "not a zip": (b"this is not a zip file", "Could not unzip uploaded file"),
    "parent entry": (make_zip({"../escape.py": "x = 1\n", "app.py": "x = 1\n"}), "outside"),
    "absolute entry": (make_zip({"/etc/evil.py": "x = 1\n", "app.py": "x = 1\n"}), "outside"),
    "symlink out": (_symlink_zip("/etc/shadow"), "outside"),
    "symlink up": (_symlink_zip("../../../../etc"), "outside"),
}


def blobs(server) -> set[str]:  # type: ignore[no-untyped-def]
    return {p.name for p in (server.data_dir / "code" / "blobs").rglob("*") if p.is_file()}


@pytest.mark.parametrize("label", list(BAD_PACKAGES))
def test_bad_packages_are_refused_and_leave_nothing(lam, server, label):
    data, fragment = BAD_PACKAGES[label]
    before = blobs(server)
    with pytest.raises(ClientError) as caught:
        lam.create_function(
            FunctionName="bad-package",
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": data},
        )
    error = caught.value.response
    assert error["Error"]["Code"] == "InvalidParameterValueException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert fragment in error["Error"]["Message"]
    assert blobs(server) == before
    assert "bad-package" not in {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    assert server.health()["status"] == "ok"


def test_zip_bomb_is_refused(lam, server):
    before = blobs(server)
    with pytest.raises(ClientError) as caught:
        lam.create_function(
            FunctionName="bomb",
            Runtime="python3.12",
            Role=ROLE,
            Handler="app.handler",
            Code={"ZipFile": _bomb()},
        )
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert caught.value.response["Error"]["Message"] == "Unzipped size must be smaller than 262144000 bytes"
    assert blobs(server) == before


def test_bad_code_update_keeps_the_old_code(lam, deploy):
    name = deploy({"app.py": "def handler(e, c):\n    return 'original'\n"})
    before = lam.get_function_configuration(FunctionName=name)
    with pytest.raises(ClientError) as caught:
        lam.update_function_code(FunctionName=name, ZipFile=b"garbage")
    assert caught.value.response["Error"]["Code"] == "InvalidParameterValueException"
    after = lam.get_function_configuration(FunctionName=name)
    assert (after["CodeSha256"], after["RevisionId"]) == (before["CodeSha256"], before["RevisionId"])
    assert lam.invoke(FunctionName=name)["Payload"].read() == b'"original"'


def test_payload_over_6_mb(lam, deploy):
    name = deploy({"app.py": "def handler(e, c):\n    return 1\n"})
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName=name, Payload=json.dumps("x" * (6 * 1024 * 1024)).encode())
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert error["Error"]["Code"] == "RequestEntityTooLargeException"
    assert "6291456 bytes" in error["Error"]["Message"]
    assert lam.invoke(FunctionName=name)["Payload"].read() == b"1"


def test_payload_that_is_not_json(lam, deploy):
    name = deploy({"app.py": "def handler(e, c):\n    return 1\n"})
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName=name, Payload=b"{not json")
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "InvalidRequestContentException"
    assert error["Error"]["Message"].startswith("Could not parse request body into json")


def test_request_body_that_is_not_json(server):
    request = urllib.request.Request(
        server.endpoint + "/2015-03-31/functions",
        data=b"{oops",
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 400
    assert caught.value.headers["x-amzn-ErrorType"] == "ValidationException"
    body = json.loads(caught.value.read())
    assert "Traceback" not in json.dumps(body)


def test_unknown_paths_and_unimplemented_operations(server):
    for path, code, status in (
        ("/nowhere", "UnknownOperationException", 404),
        ("/2025-11-30/capacity-providers", "NotImplementedException", 501),
    ):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(server.endpoint + path)
        assert (caught.value.code, caught.value.headers["x-amzn-ErrorType"]) == (status, code)
