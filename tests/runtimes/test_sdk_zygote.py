"""Which zygote a Python function forks from: the one that preloaded boto3 only when its code or layers use it,
and either way the function sees the same /var/lang and /var/runtime, imports the SDK and the standard library,
and never a host path."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from support import Server, create_function, make_zip

# the SDK's names are spelled so that this source does not mention them: the check reads the code's text
SDK = "'bo' + 'to3'"
CORE = "'bo' + 'tocore'"

PLAIN = f"""
import importlib, sys
preloaded = {CORE} in sys.modules
def handler(event, context):
    sdk = importlib.import_module({SDK})  # a name no check can read: imported here, from the runtime's copy
    return {{"preloaded": preloaded, "sdk": sdk.__file__, "region": sdk.Session().region_name}}
"""

USES_SDK = """
import sys
preloaded = "botocore.session" in sys.modules
import boto3
lam = boto3.client("lambda")
def handler(event, context):
    return {"preloaded": preloaded, "functions": [f["FunctionName"] for f in lam.list_functions()["Functions"]]}
"""

VIA_LAYER = f"""
import sys
preloaded = {CORE} in sys.modules
import helper
def handler(event, context):
    return {{"preloaded": preloaded, "client": helper.client_name()}}
"""

HELPER = """
import boto3
def client_name():
    return type(boto3.client("sqs")).__name__
"""

PATHS = """
import json, sys
import encodings.idna, logging.handlers, xml.dom.minidom  # submodules of packages the zygote imported, or not
def handler(event, context):
    return {"path": sys.path, "json": json.__file__, "prefix": sys.prefix, "idna": encodings.idna.__file__}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    instance = Server(tmp_path_factory.mktemp("sdk-zygote") / "data").start()
    yield instance
    instance.stop()


@pytest.fixture(scope="module")
def lam(server: Server):  # type: ignore[no-untyped-def]
    return server.client()


def call(lam, name: str) -> dict:  # type: ignore[no-untyped-def]
    reply = lam.invoke(FunctionName=name, Payload=b"{}")
    body = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, body
    return body


def test_a_function_that_never_names_the_sdk_starts_without_it_and_can_still_import_it(lam) -> None:  # type: ignore[no-untyped-def]
    body = call(lam, create_function(lam, "plain", {"app.py": PLAIN}))
    assert body["preloaded"] is False
    assert body["sdk"] == "/var/runtime/boto3/__init__.py"
    assert body["region"] == "us-east-1"


def test_a_function_that_imports_boto3_finds_it_loaded_and_working(lam) -> None:  # type: ignore[no-untyped-def]
    body = call(lam, create_function(lam, "uses-sdk", {"app.py": USES_SDK}))
    assert body["preloaded"] is True
    assert "uses-sdk" in body["functions"]


def test_a_layer_that_imports_boto3_counts_as_the_function_using_it(lam) -> None:  # type: ignore[no-untyped-def]
    layer = lam.publish_layer_version(LayerName="helper", Content={"ZipFile": make_zip({"python/helper.py": HELPER})})
    name = create_function(lam, "via-layer", {"app.py": VIA_LAYER}, Layers=[layer["LayerVersionArn"]])
    assert call(lam, name) == {"preloaded": True, "client": "SQS"}


@pytest.mark.parametrize("sdk", [False, True])
def test_the_standard_library_is_at_var_lang_and_no_host_path_shows(lam, sdk: bool) -> None:  # type: ignore[no-untyped-def]
    code = ("import boto3\n" if sdk else "") + PATHS
    body = call(lam, create_function(lam, f"paths-{sdk}", {"app.py": code}))
    assert all(path.startswith(("/var/task", "/opt/", "/var/lang", "/var/runtime")) for path in body["path"]), body
    assert body["json"].startswith("/var/lang/lib/") and body["idna"].startswith("/var/lang/lib/")
    assert body["prefix"] == "/var/lang"


MODEL = {
    "version": "2.0",
    "metadata": {"apiVersion": "2020-01-01", "endpointPrefix": "mine", "protocol": "json", "jsonVersion": "1.1",
                 "serviceId": "Mine", "signatureVersion": "v4", "targetPrefix": "Mine"},
    "operations": {}, "shapes": {},
}  # fmt: skip


def test_aws_data_path_still_adds_models_to_the_preloaded_sdk(lam) -> None:  # type: ignore[no-untyped-def]
    files = {
        "models/mine/2020-01-01/service-2.json": json.dumps(MODEL),
        "app.py": "import boto3\ndef handler(e, c):\n    return boto3.client('mine').meta.service_model.service_name\n",
    }
    name = create_function(lam, "own-model", files, Environment={"Variables": {"AWS_DATA_PATH": "/var/task/models"}})
    assert call(lam, name) == "mine"


FILE_KEYS = """
import os
for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
    os.environ.pop(name, None)
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/var/task/credentials"
import boto3
def handler(event, context):
    names = [p.METHOD for p in boto3.Session()._session.get_component("credential_provider").providers]
    return {"key": boto3.Session().get_credentials().access_key, "env_first": names[0] == "env"}
"""


def test_without_keys_in_the_environment_the_whole_credential_chain_answers(lam) -> None:  # type: ignore[no-untyped-def]
    files = {
        "credentials": "[default]\naws_access_key_id = AKIAFROMFILE\naws_secret_access_key = s\n",
        "app.py": FILE_KEYS,
    }
    assert call(lam, create_function(lam, "file-keys", files)) == {"key": "AKIAFROMFILE", "env_first": True}


CLASSES = """
import boto3
s3, other = boto3.client("s3"), boto3.Session().client("s3")
def handler(event, context):
    return {"transfer": hasattr(s3, "upload_file"), "presign": hasattr(s3, "generate_presigned_post"),
            "own_events": s3.meta.events is not other.meta.events, "sqs": hasattr(boto3.client("sqs"), "send_message")}
"""


def test_clients_have_what_boto3_and_botocore_add_to_their_class(lam) -> None:  # type: ignore[no-untyped-def]
    body = call(lam, create_function(lam, "classes", {"app.py": CLASSES}))
    assert body == {"transfer": True, "presign": True, "own_events": True, "sqs": True}
