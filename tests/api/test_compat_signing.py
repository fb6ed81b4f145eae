"""Code signing: configurations stored and returned as AWS returns them, and enforced on every package a function
is given: unsigned or untrusted code is refused under Enforce, code changed after signing under any policy."""

from __future__ import annotations

import datetime
import json
import subprocess
import urllib.request

import pytest
from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from support import KINDLING, ROLE, make_zip

APP = {"app.py": "def handler(event, context):\n    return 'signed'\n"}
CSC_PREFIX = "arn:aws:lambda:us-east-1:000000000000:code-signing-config:"


def certificate(key: ec.EllipticCurvePrivateKey, days: int) -> bytes:
    """A self-signed certificate; ``days`` below zero makes one that has already expired."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kindling test signer")])
    now = datetime.datetime.now(datetime.UTC)
    start, end = (now - datetime.timedelta(days=2), now + datetime.timedelta(days=days))
    built = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(key, hashes.SHA384())
    )
    return built.public_bytes(serialization.Encoding.PEM)


def register(server, name: str, pem: bytes) -> str:  # type: ignore[no-untyped-def]
    request = urllib.request.Request(f"{server.endpoint}/kindling/signing-profiles/{name}", data=pem, method="PUT")
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())["ProfileVersionArn"]


@pytest.fixture(scope="module")
def signer(server, tmp_path_factory):  # type: ignore[no-untyped-def]
    """A registered profile and its key file; and a profile whose certificate has expired."""
    folder = tmp_path_factory.mktemp("signer")
    profiles = {}
    for name, days in (("compat_signer", 30), ("compat_expired", -1)):
        key = ec.generate_private_key(ec.SECP384R1())
        key_file = folder / f"{name}.pem"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        profiles[name] = (register(server, name, certificate(key, days)), key_file)
    return profiles


def signed(tmp_path, files: dict[str, str], profile: tuple[str, object]) -> bytes:  # type: ignore[no-untyped-def]
    package = tmp_path / "package.zip"
    package.write_bytes(make_zip(files))
    arn, key_file = profile
    done = subprocess.run(
        [KINDLING, "sign", str(package), "--key", str(key_file), "--profile", arn], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"signed {package} with {arn}"
    return package.read_bytes()


def refused(call, **params) -> tuple[str, str, int]:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def create(lam, name: str, package: bytes, config_arn: str):  # type: ignore[no-untyped-def]
    return lam.create_function(
        FunctionName=name, Runtime="python3.12", Role=ROLE, Handler="app.handler", Code={"ZipFile": package},
        CodeSigningConfigArn=config_arn,
    )  # fmt: skip


def test_configurations_are_stored_and_returned(lam, deploy, signer):
    arn = signer["compat_signer"][0]
    created = lam.create_code_signing_config(
        Description="Testing CodeSigning Config",
        AllowedPublishers={"SigningProfileVersionArns": [arn]},
        CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"},
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    config = created["CodeSigningConfig"]
    config_arn = config["CodeSigningConfigArn"]
    assert config_arn == CSC_PREFIX + config["CodeSigningConfigId"] and len(config["CodeSigningConfigId"]) == 21
    assert config["AllowedPublishers"] == {"SigningProfileVersionArns": [arn]}
    updated = lam.update_code_signing_config(
        CodeSigningConfigArn=config_arn, CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Warn"}
    )["CodeSigningConfig"]
    assert updated["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Warn"}
    assert lam.get_code_signing_config(CodeSigningConfigArn=config_arn)["CodeSigningConfig"] == updated
    assert updated in lam.list_code_signing_configs()["CodeSigningConfigs"]

    name = deploy(APP)
    assert "CodeSigningConfigArn" not in lam.get_function_code_signing_config(FunctionName=name)
    put = lam.put_function_code_signing_config(FunctionName=name, CodeSigningConfigArn=config_arn)
    assert (put["CodeSigningConfigArn"], put["FunctionName"]) == (config_arn, name)
    assert lam.get_function_code_signing_config(FunctionName=name)["CodeSigningConfigArn"] == config_arn
    function_arn = lam.get_function_configuration(FunctionName=name)["FunctionArn"]
    assert lam.list_functions_by_code_signing_config(CodeSigningConfigArn=config_arn)["FunctionArns"] == [function_arn]
    lam.delete_function_code_signing_config(FunctionName=name)
    lam.delete_function_code_signing_config(FunctionName=name)  # nothing to delete: still 204
    assert lam.list_functions_by_code_signing_config(CodeSigningConfigArn=config_arn)["FunctionArns"] == []
    lam.delete_code_signing_config(CodeSigningConfigArn=config_arn)

    assert refused(lam.get_code_signing_config, CodeSigningConfigArn=config_arn) == (
        "ResourceNotFoundException",
        f"The Lambda code signing configuration {config_arn} can not be found.",
        404,
    )
    missing = refused(create, lam=lam, name="compat-csc-missing", package=make_zip(APP), config_arn=config_arn)
    assert missing[0] == "CodeSigningConfigNotFoundException"
    assert refused(lam.put_function_code_signing_config, FunctionName=name, CodeSigningConfigArn=config_arn) == (
        "CodeSigningConfigNotFoundException",
        "The code signing configuration cannot be found. Check that the provided configuration is not deleted: "
        f"{config_arn}.",
        404,
    )


def test_enforce_refuses_unsigned_and_untrusted_code(lam, signer, tmp_path):
    trusted = signer["compat_signer"]
    config_arn = lam.create_code_signing_config(
        AllowedPublishers={"SigningProfileVersionArns": [trusted[0], signer["compat_expired"][0]]},
        CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"},
    )["CodeSigningConfig"]["CodeSigningConfigArn"]
    name = "compat-signed"
    function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    untrusted = (
        "CodeVerificationFailedException",
        "Lambda cannot deploy the function. The function or layer might be signed using a signature that the client "
        f"is not configured to accept. Check the provided signature for {function_arn}.",
        400,
    )
    try:
        assert refused(create, lam=lam, name=name, package=make_zip(APP), config_arn=config_arn) == untrusted
        with pytest.raises(lam.exceptions.ResourceNotFoundException):
            lam.get_function(FunctionName=name)  # nothing was created
        expired = signed(tmp_path, APP, signer["compat_expired"])
        assert refused(create, lam=lam, name=name, package=expired, config_arn=config_arn) == untrusted

        create(lam, name, signed(tmp_path, APP, trusted), config_arn)
        assert json.load(lam.invoke(FunctionName=name)["Payload"]) == "signed"
        assert lam.get_function_code_signing_config(FunctionName=name)["CodeSigningConfigArn"] == config_arn

        assert refused(lam.update_function_code, FunctionName=name, ZipFile=make_zip(APP)) == untrusted
        changed = {"app.py": "def handler(event, context):\n    return 'v2'\n"}
        lam.update_function_code(FunctionName=name, ZipFile=signed(tmp_path, changed, trusted))
        lam.get_waiter("function_updated_v2").wait(FunctionName=name)
        assert json.load(lam.invoke(FunctionName=name)["Payload"]) == "v2"
    finally:
        lam.delete_function(FunctionName=name)
        lam.delete_code_signing_config(CodeSigningConfigArn=config_arn)


def test_code_changed_after_signing_is_refused_even_under_warn(lam, deploy, signer, tmp_path):
    trusted = signer["compat_signer"]
    config_arn = lam.create_code_signing_config(
        AllowedPublishers={"SigningProfileVersionArns": [trusted[0]]},
        CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Warn"},
    )["CodeSigningConfig"]["CodeSigningConfigArn"]
    name = deploy(APP)
    try:
        lam.put_function_code_signing_config(FunctionName=name, CodeSigningConfigArn=config_arn)
        lam.update_function_code(FunctionName=name, ZipFile=make_zip(APP))  # unsigned: Warn lets it through
        package = tmp_path / "tampered.zip"
        package.write_bytes(signed(tmp_path, APP, trusted))
        with __import__("zipfile").ZipFile(package, "a") as archive:
            archive.writestr("extra.py", "print('added after signing')\n")
        code, message, status = refused(lam.update_function_code, FunctionName=name, ZipFile=package.read_bytes())
        assert (code, status) == ("InvalidCodeSignatureException", 400)
        assert "integrity check" in message
    finally:
        lam.delete_function_code_signing_config(FunctionName=name)
        lam.delete_code_signing_config(CodeSigningConfigArn=config_arn)
