"""CreateFunction/UpdateFunctionConfiguration refuse bad values with AWS's codes and words, as AWS recorded them."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from support import ROLE, make_zip

HELLO = make_zip({"app.py": "def handler(event, context):\n    return 'hi'\n"})
CREATABLE = (
    "[nodejs20.x, python3.14, provided.al2023, python3.12, python3.13, nodejs24.x, nodejs22.x, java25, python3.10, "
    "python3.11, java21, ruby3.3, ruby3.4, ruby3.2, python3.8, python3.9, java17, nodejs16.x, dotnet10, dotnet8, "
    "java11, dotnet6, nodejs18.x, provided.al2, java8.al2]"
)
ARCHITECTURES = (
    "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not be null]"
)


def refused(call, **params) -> tuple[str, str, int]:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def create(raw_lam, **overrides) -> tuple[str, str, int]:  # type: ignore[no-untyped-def]
    params = {"FunctionName": "compat-invalid", "Runtime": "python3.12", "Role": ROLE, "Handler": "app.handler"}
    return refused(raw_lam.create_function, **{**params, "Code": {"ZipFile": HELLO}, **overrides})


@pytest.mark.parametrize("runtime", ["non-existent-runtime", "PYTHON3.9"])
def test_an_unknown_runtime_is_an_invalid_parameter(raw_lam, deploy, runtime):
    expected = (
        "InvalidParameterValueException",
        f"Value {runtime} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: "
        f"{CREATABLE} or be a valid ARN",
        400,
    )
    assert create(raw_lam, Runtime=runtime) == expected
    name = deploy({"app.py": "def handler(e, c):\n    return 1\n"})
    assert refused(raw_lam.update_function_configuration, FunctionName=name, Runtime=runtime) == expected


def test_the_model_is_checked_before_the_runtime(raw_lam):
    code, message, _ = create(raw_lam, Runtime="cobol", Role="r1")
    assert code == "ValidationException"
    assert message == (
        "1 validation error detected: Value 'r1' at 'role' failed to satisfy constraint: Member must satisfy regular "
        r"expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"
    )


def test_a_retired_runtime_says_so(raw_lam):
    assert create(raw_lam, Runtime="provided") == (
        "InvalidParameterValueException",
        "The runtime parameter of provided is no longer supported for creating or updating AWS Lambda functions. "
        "We recommend you use the new runtime (provided.al2023) while creating or updating functions.",
        400,
    )


@pytest.mark.parametrize(
    ("architectures", "message"),
    [
        (["X86_64"], f"Value '[X86_64]' at 'architectures' failed to satisfy constraint: {ARCHITECTURES}"),
        (
            ["x86_64", "arm64"],
            "Value '[x86_64, arm64]' at 'architectures' failed to satisfy constraint: "
            "Member must have length less than or equal to 1",
        ),
    ],
)
def test_architectures_nest_their_constraint(raw_lam, architectures, message):
    assert create(raw_lam, Architectures=architectures) == (
        "ValidationException",
        f"1 validation error detected: {message}",
        400,
    )


def test_enums_of_nested_members(raw_lam):
    code, message, status = create(raw_lam, SnapStart={"ApplyOn": "invalidOption"})
    assert (code, status) == ("ValidationException", 400)
    assert message == (
        "1 validation error detected: Value 'invalidOption' at 'snapStart.applyOn' failed to satisfy constraint: "
        "Member must satisfy enum value set: [PublishedVersions, None]"
    )


def test_a_layer_arn_without_version(raw_lam):
    arn = "arn:aws:lambda:us-east-1:000000000000:layer:nolayer"
    code, message, _ = create(raw_lam, Layers=[arn])
    assert code == "ValidationException"
    assert message == (
        f"1 validation error detected: Value '[{arn}]' at 'layers' failed to satisfy constraint: Member must "
        "satisfy constraint: [Member must have length less than or equal to 2048, Member must have length greater "
        "than or equal to 1, Member must satisfy regular expression pattern: "
        r"(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:layer:"
        r"[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+), Member must not be null]"
    )


def test_alias_weights_are_a_map_constraint(raw_lam, deploy):
    name = deploy({"app.py": "def handler(e, c):\n    return 1\n"})
    code, message, _ = refused(
        raw_lam.create_alias,
        FunctionName=name,
        Name="live",
        FunctionVersion="$LATEST",
        RoutingConfig={"AdditionalVersionWeights": {"2": 2.0}},
    )
    assert code == "ValidationException"
    assert message == (
        "1 validation error detected: Value '{2=2.0}' at 'routingConfig.additionalVersionWeights' failed to satisfy "
        "constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member "
        "must have value greater than or equal to 0.0, Member must not be null]"
    )


def test_vpc_ids_list_their_constraints_without_not_null(raw_lam):
    code, message, _ = create(raw_lam, VpcConfig={"SubnetIds": ["bad-format-1"], "SecurityGroupIds": []})
    assert code == "ValidationException"
    assert message == (
        "1 validation error detected: Value '[bad-format-1]' at 'vpcConfig.subnetIds' failed to satisfy constraint: "
        "Member must satisfy constraint: [Member must have length less than or equal to 1024, Member must have "
        "length greater than or equal to 0, Member must satisfy regular expression pattern: subnet-[0-9a-z]*]"
    )


def test_layer_runtimes_and_architectures_as_aws_words_them(raw_lam):
    code, message, _ = refused(
        raw_lam.publish_layer_version,
        LayerName="compat-invalid-layer",
        Content={"ZipFile": HELLO},
        CompatibleRuntimes=["invalidruntime", "invalidruntime2", "nodejs20.x"],
        CompatibleArchitectures=["invalidarch", "x86_64"],
    )
    assert code == "ValidationException"
    assert message == (
        "2 validation errors detected: Value '[invalidruntime, invalidruntime2, nodejs20.x]' at 'compatibleRuntimes' "
        f"failed to satisfy constraint: Member must satisfy enum value set: {CREATABLE}; Value '[invalidarch, x86_64]' "
        f"at 'compatibleArchitectures' failed to satisfy constraint: {ARCHITECTURES}"
    )


def test_an_image_for_a_zip_function(raw_lam, deploy):
    name = deploy({"app.py": "def handler(e, c):\n    return 1\n"})
    image = "000000000000.dkr.ecr.us-east-1.amazonaws.com/app:latest"
    assert refused(raw_lam.update_function_code, FunctionName=name, ImageUri=image) == (
        "InvalidParameterValueException",
        "Please don't provide ImageUri when updating a function with packageType Zip.",
        400,
    )


def test_log_levels_with_the_text_format(raw_lam):
    assert create(raw_lam, LoggingConfig={"LogFormat": "Text", "ApplicationLogLevel": "DEBUG"}) == (
        "InvalidParameterValueException",
        'LogLevel is not supported when LogFormat is set to "Text". Remove LogLevel from your request or change the '
        'LogFormat to "Json" and try again.',
        400,
    )
