"""The policy evaluator against AWS's documented examples: each row is a policy from the IAM User Guide
(its page named in the comment), a request, and the decision AWS documents for it.

Pages (docs.aws.amazon.com/IAM/latest/UserGuide/…): reference_policies_evaluation-logic.html (deny beats
allow, implicit deny), reference_policies_elements_condition_operators.html (operators, missing keys,
…IfExists, Null), reference_policies_condition-single-vs-multi-valued-context-keys.html (ForAnyValue,
ForAllValues), reference_policies_examples_aws-dates.html, reference_policies_examples_aws_deny-ip.html,
reference_policies_variables.html, reference_policies_elements_notaction.html and _notresource.html.
"""

from __future__ import annotations

import pytest

from kindling.auth.evaluate import Decision, PolicyError, Request, evaluate

BOB = "arn:aws:iam::000000000000:user/bob"
FN = "arn:aws:lambda:us-east-1:000000000000:function:"
ALLOW, EXPLICIT, IMPLICIT = Decision.ALLOW, Decision.EXPLICIT_DENY, Decision.IMPLICIT_DENY


def doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: object = "*", resource: object = "*", **more: object) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


def deny(action: object = "*", resource: object = "*", **more: object) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **more}


def when(operator: str, key: str, value: object) -> dict:
    return {"Condition": {operator: {key: value}}}


# (id, identity policies, resource policies, action, resource, context, expected)
CASES = [
    # evaluation logic
    ("nothing-is-implicit-deny", [], [], "lambda:ListFunctions", "*", {}, IMPLICIT),
    ("allow", [doc(allow("lambda:*"))], [], "lambda:ListFunctions", "*", {}, ALLOW),
    (
        "deny-beats-allow",
        [doc(allow("lambda:*"), deny("lambda:DeleteFunction"))],
        [],
        "lambda:DeleteFunction",
        FN + "x",
        {},
        EXPLICIT,
    ),
    (
        "deny-elsewhere-leaves-allow",
        [doc(allow("lambda:*"), deny("lambda:DeleteFunction"))],
        [],
        "lambda:GetFunction",
        FN + "x",
        {},
        ALLOW,
    ),
    (
        "deny-in-second-policy",
        [doc(allow()), doc(deny("lambda:Create*"))],
        [],
        "lambda:CreateFunction",
        FN + "x",
        {},
        EXPLICIT,
    ),
    ("action-case-blind", [doc(allow("LAMBDA:getfunction"))], [], "lambda:GetFunction", FN + "x", {}, ALLOW),
    (
        "action-wildcards",
        [doc(allow(["lambda:Get*", "lambda:List*"]))],
        [],
        "lambda:CreateFunction",
        FN + "x",
        {},
        IMPLICIT,
    ),
    ("action-question-mark", [doc(allow("lambda:?etFunction"))], [], "lambda:GetFunction", FN + "x", {}, ALLOW),
    ("other-service", [doc(allow("s3:*"))], [], "lambda:GetFunction", FN + "x", {}, IMPLICIT),
    ("resource-exact", [doc(allow("lambda:*", FN + "x"))], [], "lambda:GetFunction", FN + "y", {}, IMPLICIT),
    ("resource-wildcard", [doc(allow("lambda:*", FN + "app-*"))], [], "lambda:GetFunction", FN + "app-web", {}, ALLOW),
    (
        "unqualified-does-not-match-version",
        [doc(allow("lambda:InvokeFunction", FN + "x"))],
        [],
        "lambda:InvokeFunction",
        FN + "x:1",
        {},
        IMPLICIT,
    ),
    (
        "qualified-wildcard",
        [doc(allow("lambda:InvokeFunction", FN + "x:*"))],
        [],
        "lambda:InvokeFunction",
        FN + "x:prod",
        {},
        ALLOW,
    ),
    ("resource-case-sensitive", [doc(allow("lambda:*", FN + "X"))], [], "lambda:GetFunction", FN + "x", {}, IMPLICIT),
    ("list-needs-star", [doc(allow("lambda:ListFunctions", FN + "*"))], [], "lambda:ListFunctions", "*", {}, IMPLICIT),
    # NotAction / NotResource (the "deny everything outside IAM unless MFA" and "allow all but" examples)
    (
        "notaction-allows-the-rest",
        [doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})],
        [],
        "lambda:CreateFunction",
        FN + "x",
        {},
        ALLOW,
    ),
    (
        "notaction-excludes",
        [doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})],
        [],
        "iam:CreateUser",
        "*",
        {},
        IMPLICIT,
    ),
    (
        "notresource-deny",
        [doc(allow(), {"Effect": "Deny", "Action": "lambda:*", "NotResource": FN + "sandbox-*"})],
        [],
        "lambda:DeleteFunction",
        FN + "prod",
        {},
        EXPLICIT,
    ),
    (
        "notresource-spares",
        [doc(allow(), {"Effect": "Deny", "Action": "lambda:*", "NotResource": FN + "sandbox-*"})],
        [],
        "lambda:DeleteFunction",
        FN + "sandbox-1",
        {},
        ALLOW,
    ),
    # resource-based policies (Lambda's own AddPermission statements)
    (
        "resource-policy-allows-principal",
        [],
        [doc({"Effect": "Allow", "Principal": {"AWS": BOB}, "Action": "lambda:InvokeFunction", "Resource": FN + "x"})],
        "lambda:InvokeFunction",
        FN + "x",
        {},
        ALLOW,
    ),
    (
        "resource-policy-other-principal",
        [],
        [
            doc(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::000000000000:user/alice"},
                    "Action": "lambda:InvokeFunction",
                    "Resource": FN + "x",
                }
            )
        ],
        "lambda:InvokeFunction",
        FN + "x",
        {},
        IMPLICIT,
    ),
    (
        "resource-policy-account-root",
        [],
        [
            doc(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
                    "Action": "lambda:InvokeFunction",
                    "Resource": FN + "x",
                }
            )
        ],
        "lambda:InvokeFunction",
        FN + "x",
        {"aws:PrincipalAccount": "000000000000"},
        ALLOW,
    ),
    (
        "resource-deny-beats-identity-allow",
        [doc(allow())],
        [doc({"Effect": "Deny", "Principal": "*", "Action": "lambda:InvokeFunction", "Resource": FN + "x"})],
        "lambda:InvokeFunction",
        FN + "x",
        {},
        EXPLICIT,
    ),
    (
        "service-principal-with-source-arn",
        [],
        [
            doc(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "lambda:InvokeFunction",
                    "Resource": FN + "x",
                    "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::uploads"}},
                }
            )
        ],
        "lambda:InvokeFunction",
        FN + "x",
        {"principal": "s3.amazonaws.com", "aws:SourceArn": "arn:aws:s3:::uploads"},
        ALLOW,
    ),
    (
        "service-principal-wrong-source",
        [],
        [
            doc(
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "lambda:InvokeFunction",
                    "Resource": FN + "x",
                    "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::uploads"}},
                }
            )
        ],
        "lambda:InvokeFunction",
        FN + "x",
        {"principal": "s3.amazonaws.com", "aws:SourceArn": "arn:aws:s3:::other"},
        IMPLICIT,
    ),
    (
        "public-url-auth-type",
        [],
        [
            doc(
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "lambda:InvokeFunctionUrl",
                    "Resource": FN + "x",
                    "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}},
                }
            )
        ],
        "lambda:InvokeFunctionUrl",
        FN + "x",
        {"lambda:FunctionUrlAuthType": "AWS_IAM"},
        IMPLICIT,
    ),
    # strings
    (
        "string-equals",
        [doc(allow(**when("StringEquals", "aws:username", "bob")))],
        [],
        "lambda:GetFunction",
        FN + "x",
        {"aws:username": "bob"},
        ALLOW,
    ),
    (
        "string-equals-case",
        [doc(allow(**when("StringEquals", "aws:username", "Bob")))],
        [],
        "lambda:GetFunction",
        FN + "x",
        {"aws:username": "bob"},
        IMPLICIT,
    ),
    (
        "string-equals-ignore-case",
        [doc(allow(**when("StringEqualsIgnoreCase", "aws:username", "Bob")))],
        [],
        "lambda:GetFunction",
        FN + "x",
        {"aws:username": "bob"},
        ALLOW,
    ),
    (
        "string-like",
        [doc(allow(**when("StringLike", "s3:prefix", ["home/*", "public/*"])))],
        [],
        "s3:ListBucket",
        "arn:aws:s3:::b",
        {"s3:prefix": "public/a"},
        ALLOW,
    ),
    (
        "string-not-equals-missing-key-is-true",
        [doc(allow(), deny(**when("StringNotEquals", "aws:RequestedRegion", "us-east-1")))],
        [],
        "lambda:GetFunction",
        FN + "x",
        {},
        EXPLICIT,
    ),
    (
        "string-equals-missing-key-is-false",
        [doc(allow(**when("StringEquals", "aws:RequestedRegion", "us-east-1")))],
        [],
        "lambda:GetFunction",
        FN + "x",
        {},
        IMPLICIT,
    ),
    (
        "condition-key-case-blind",
        [doc(allow(**when("StringEquals", "AWS:UserName", "bob")))],
        [],
        "lambda:GetFunction",
        FN + "x",
        {"aws:username": "bob"},
        ALLOW,
    ),
    (
        "keys-in-one-block-are-and",
        [doc(allow(Condition={"StringEquals": {"aws:username": "bob", "aws:RequestedRegion": "eu-west-1"}}))],
        [],
        "lambda:GetFunction",
        FN + "x",
        {"aws:username": "bob", "aws:RequestedRegion": "us-east-1"},
        IMPLICIT,
    ),
    # policy variables
    (
        "variable-in-resource",
        [doc(allow("lambda:*", FN + "${aws:username}-*"))],
        [],
        "lambda:GetFunction",
        FN + "bob-api",
        {"aws:username": "bob"},
        ALLOW,
    ),
    (
        "variable-for-someone-else",
        [doc(allow("lambda:*", FN + "${aws:username}-*"))],
        [],
        "lambda:GetFunction",
        FN + "alice-api",
        {"aws:username": "bob"},
        IMPLICIT,
    ),
    (
        "variable-missing-matches-nothing",
        [doc(allow("lambda:*", FN + "${aws:username}-*"))],
        [],
        "lambda:GetFunction",
        FN + "bob-api",
        {},
        IMPLICIT,
    ),
    # numbers, dates, booleans, binary
    (
        "numeric-less-than",
        [doc(allow(**when("NumericLessThanEquals", "s3:max-keys", "10")))],
        [],
        "s3:ListBucket",
        "arn:aws:s3:::b",
        {"s3:max-keys": "10"},
        ALLOW,
    ),
    (
        "numeric-over",
        [doc(allow(**when("NumericLessThanEquals", "s3:max-keys", "10")))],
        [],
        "s3:ListBucket",
        "arn:aws:s3:::b",
        {"s3:max-keys": "11"},
        IMPLICIT,
    ),
    (
        "numeric-not-a-number",
        [doc(allow(**when("NumericEquals", "s3:max-keys", "10")))],
        [],
        "s3:ListBucket",
        "arn:aws:s3:::b",
        {"s3:max-keys": "ten"},
        IMPLICIT,
    ),
    (
        "date-window",
        [
            doc(
                allow(
                    Condition={
                        "DateGreaterThan": {"aws:CurrentTime": "2020-04-01T00:00:00Z"},
                        "DateLessThan": {"aws:CurrentTime": "2020-06-30T23:59:59Z"},
                    }
                )
            )
        ],
        [],
        "lambda:GetFunction",
        FN + "x",
        {"aws:CurrentTime": "2020-05-01T12:00:00Z"},
        ALLOW,
    ),
    (
        "date-after-window",
        [
            doc(
                allow(
                    Condition={
                        "DateGreaterThan": {"aws:CurrentTime": "2020-04-01T00:00:00Z"},
                        "DateLessThan": {"aws:CurrentTime": "2020-06-30T23:59:59Z"},
                    }
                )
            )
        ],
        [],
        "lambda:GetFunction",
        FN + "x",
        {"aws:CurrentTime": "2021-01-01T00:00:00Z"},
        IMPLICIT,
    ),
    (
        "date-epoch",
        [doc(allow(**when("DateLessThan", "aws:EpochTime", "1700000000")))],
        [],
        "lambda:GetFunction",
        FN + "x",
        {"aws:EpochTime": "1600000000"},
        ALLOW,
    ),
    (
        "bool-secure-transport-deny",
        [doc(allow(), deny(**when("Bool", "aws:SecureTransport", "false")))],
        [],
        "lambda:GetFunction",
        FN + "x",
        {"aws:SecureTransport": "false"},
        EXPLICIT,
    ),
    (
        "bool-secure-transport-ok",
        [doc(allow(), deny(**when("Bool", "aws:SecureTransport", False)))],
        [],
        "lambda:GetFunction",
        FN + "x",
        {"aws:SecureTransport": "true"},
        ALLOW,
    ),
    (
        "binary-equals",
        [doc(allow(**when("BinaryEquals", "key", "QmluYXJ5VmFsdWU=")))],
        [],
        "lambda:GetFunction",
        FN + "x",
        {"key": "QmluYXJ5VmFsdWU="},
        ALLOW,
    ),
    # IP addresses (the "deny outside these ranges" example)
    (
        "ip-inside",
        [doc(allow(), deny(**when("NotIpAddress", "aws:SourceIp", ["192.0.2.0/24", "203.0.113.0/24"])))],
        [],
        "lambda:GetFunction",
        FN + "x",
        {"aws:SourceIp": "203.0.113.7"},
        ALLOW,
    ),
    (
        "ip-outside",
        [doc(allow(), deny(**when("NotIpAddress", "aws:SourceIp", ["192.0.2.0/24", "203.0.113.0/24"])))],
        [],
        "lambda:GetFunction",
        FN + "x",
        {"aws:SourceIp": "198.51.100.1"},
        EXPLICIT,
    ),
    (
        "ip-v6",
        [doc(allow(**when("IpAddress", "aws:SourceIp", "2001:DB8:1234:5678::/64")))],
        [],
        "lambda:GetFunction",
        FN + "x",
        {"aws:SourceIp": "2001:db8:1234:5678::1"},
        ALLOW,
    ),
    # ARNs
    (
        "arn-like-segments",
        [doc(allow(**when("ArnLike", "aws:SourceArn", "arn:aws:sns:*:000000000000:topic-*")))],
        [],
        "lambda:InvokeFunction",
        FN + "x",
        {"aws:SourceArn": "arn:aws:sns:eu-west-1:000000000000:topic-a"},
        ALLOW,
    ),
    (
        "arn-like-account",
        [doc(allow(**when("ArnLike", "aws:SourceArn", "arn:aws:sns:*:000000000000:*")))],
        [],
        "lambda:InvokeFunction",
        FN + "x",
        {"aws:SourceArn": "arn:aws:sns:eu-west-1:111111111111:t"},
        IMPLICIT,
    ),
    (
        "arn-not-like-missing",
        [doc(allow(**when("ArnNotLike", "aws:PrincipalArn", "arn:aws:iam::*:role/admin")))],
        [],
        "lambda:GetFunction",
        FN + "x",
        {},
        ALLOW,
    ),
    (
        "arn-equals-principal",
        [doc(allow(**when("ArnEquals", "aws:PrincipalArn", BOB)))],
        [],
        "lambda:GetFunction",
        FN + "x",
        {"aws:PrincipalArn": BOB},
        ALLOW,
    ),
    # ...IfExists and Null
    (
        "if-exists-absent",
        [doc(allow(**when("StringEqualsIfExists", "ec2:InstanceType", "t2.micro")))],
        [],
        "ec2:RunInstances",
        "*",
        {},
        ALLOW,
    ),
    (
        "if-exists-present-wrong",
        [doc(allow(**when("StringEqualsIfExists", "ec2:InstanceType", "t2.micro")))],
        [],
        "ec2:RunInstances",
        "*",
        {"ec2:InstanceType": "m5.large"},
        IMPLICIT,
    ),
    (
        "null-true-means-absent",
        [doc(allow(), deny(**when("Null", "aws:TokenIssueTime", "true")))],
        [],
        "lambda:GetFunction",
        FN + "x",
        {},
        EXPLICIT,
    ),
    (
        "null-true-present",
        [doc(allow(), deny(**when("Null", "aws:TokenIssueTime", "true")))],
        [],
        "lambda:GetFunction",
        FN + "x",
        {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"},
        ALLOW,
    ),
    (
        "null-false-requires-present",
        [doc(allow(**when("Null", "aws:RequestTag/team", "false")))],
        [],
        "lambda:TagResource",
        FN + "x",
        {},
        IMPLICIT,
    ),
    # multivalued keys: ForAllValues / ForAnyValue (the aws:TagKeys examples)
    (
        "for-all-values-subset",
        [doc(allow(**when("ForAllValues:StringEquals", "aws:TagKeys", ["team", "env"])))],
        [],
        "lambda:TagResource",
        FN + "x",
        {"aws:TagKeys": ["team"]},
        ALLOW,
    ),
    (
        "for-all-values-extra",
        [doc(allow(**when("ForAllValues:StringEquals", "aws:TagKeys", ["team", "env"])))],
        [],
        "lambda:TagResource",
        FN + "x",
        {"aws:TagKeys": ["team", "owner"]},
        IMPLICIT,
    ),
    (
        "for-all-values-absent-is-true",
        [doc(allow(**when("ForAllValues:StringEquals", "aws:TagKeys", ["team"])))],
        [],
        "lambda:TagResource",
        FN + "x",
        {},
        ALLOW,
    ),
    (
        "for-any-value-one",
        [doc(allow(**when("ForAnyValue:StringEquals", "aws:TagKeys", ["team", "env"])))],
        [],
        "lambda:TagResource",
        FN + "x",
        {"aws:TagKeys": ["owner", "env"]},
        ALLOW,
    ),
    (
        "for-any-value-none",
        [doc(allow(**when("ForAnyValue:StringEquals", "aws:TagKeys", ["team", "env"])))],
        [],
        "lambda:TagResource",
        FN + "x",
        {"aws:TagKeys": ["owner"]},
        IMPLICIT,
    ),
    (
        "for-any-value-absent-is-false",
        [doc(allow(**when("ForAnyValue:StringEquals", "aws:TagKeys", ["team"])))],
        [],
        "lambda:TagResource",
        FN + "x",
        {},
        IMPLICIT,
    ),
    (
        "for-any-value-negated",
        [doc(allow(), deny(**when("ForAnyValue:StringNotLike", "aws:TagKeys", ["team", "env"])))],
        [],
        "lambda:TagResource",
        FN + "x",
        {"aws:TagKeys": ["team", "secret"]},
        EXPLICIT,
    ),
]


@pytest.mark.parametrize(("identity", "resource_policies", "action", "resource", "context", "expected"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])  # fmt: skip
def test_documented_decisions(identity, resource_policies, action, resource, context, expected) -> None:  # type: ignore[no-untyped-def]
    context = dict(context)
    request = Request(action, resource, context.pop("principal", BOB), context)
    assert evaluate(request, identity, resource_policies).decision is expected


def test_unknown_operator_is_an_error_not_an_allow() -> None:
    with pytest.raises(PolicyError):
        evaluate(Request("lambda:GetFunction", FN + "x", BOB), [doc(allow(**when("StringSortOf", "k", "v")))])
