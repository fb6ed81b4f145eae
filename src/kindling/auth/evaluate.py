"""AWS's policy evaluation logic, for one account: an explicit deny anywhere wins, then an allow from an
identity-based or a resource-based policy, else the request is implicitly denied.

A policy is the JSON document AWS takes (``Statement`` one or a list; ``Action``/``NotAction``,
``Resource``/``NotResource``, ``Principal``/``NotPrincipal``, ``Condition``). Conditions support the operators
users write (``String*``, ``Numeric*``, ``Date*``, ``Bool``, ``BinaryEquals``, ``IpAddress``/``NotIpAddress``,
``Arn*``, ``Null``), the ``…IfExists`` suffix and the ``ForAnyValue:``/``ForAllValues:`` set prefixes, with
AWS's rules for a key missing from the request (a positive operator is false, a negated one true) and policy
variables (``${aws:username}``). Keys are looked up case-blind; values are strings or lists of strings.
"""

from __future__ import annotations

import base64
import enum
import functools
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Value = str | list[str]


class Decision(enum.Enum):
    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


@dataclass
class Request:
    """What is being asked: the action, the resource, who asks, and the request context's keys."""

    action: str  # "lambda:CreateFunction"
    resource: str  # an ARN, or "*"
    principal: str = ""  # the caller's ARN ("arn:aws:iam::000000000000:user/bob"), or a service principal
    context: dict[str, Value] = field(default_factory=dict)  # condition keys, any case

    def __post_init__(self) -> None:
        self.context = {key.lower(): value for key, value in self.context.items()}


@dataclass(frozen=True)
class Outcome:
    decision: Decision
    by: str = ""  # "identity" or "resource": the kind of policy that decided it

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW


# ----------------------------------------------------------------------------------------------- wildcards
@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def like(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """``*`` any run of characters, ``?`` one character, the rest literal; the whole value must match."""
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return _glob(pattern, ignore_case).fullmatch(value) is not None


def arn_like(pattern: str, arn: str) -> bool:
    """ARNs compare segment by segment (partition, service, region, account, resource); the resource part
    keeps its own colons and slashes, which a ``*`` there may cross."""
    if pattern == "*":
        return True
    wanted, given = pattern.split(":", 5), arn.split(":", 5)
    return len(wanted) == len(given) == 6 and all(like(w, g) for w, g in zip(wanted, given, strict=True))


# ------------------------------------------------------------------------------------------------- variables
_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


def substitute(text: str, context: Mapping[str, Value]) -> str | None:
    """``${aws:username}`` and friends replaced from the context (``${key, 'default'}`` too); None when a
    variable has no value, which makes the element it is in match nothing."""
    if "${" not in text:
        return text
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        name, _, default = match.group(1).partition(",")
        name = name.strip()
        if name in _ESCAPES:
            return _ESCAPES[name]
        found = context.get(name.lower())
        if isinstance(found, str):
            return found
        default = default.strip().strip("'")
        if default:
            return default
        missing = True
        return ""

    result = _VARIABLE.sub(value, text)
    return None if missing else result


# ------------------------------------------------------------------------------------------------- operators
def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _date(text: str) -> float | None:
    if re.fullmatch(r"-?\d+(\.\d+)?", text.strip()):
        return float(text)
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _ordered(parse: Callable[[str], float | None], test: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def compare(policy: str, given: str) -> bool:
        a, b = parse(given), parse(policy)
        return a is not None and b is not None and test(a, b)

    return compare


def _ip(policy: str, given: str) -> bool:
    try:
        return ipaddress.ip_address(given.strip()) in ipaddress.ip_network(policy.strip(), strict=False)
    except ValueError:
        return False


def _binary(policy: str, given: str) -> bool:
    try:
        return base64.b64decode(policy) == base64.b64decode(given)
    except ValueError:
        return False


_EQ, _LT, _LE = (lambda a, b: a == b), (lambda a, b: a < b), (lambda a, b: a <= b)
_GT, _GE = (lambda a, b: a > b), (lambda a, b: a >= b)
# operator -> (matches(policy_value, request_value), negated)
_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "stringequals": (lambda p, g: p == g, False),
    "stringnotequals": (lambda p, g: p == g, True),
    "stringequalsignorecase": (lambda p, g: p.lower() == g.lower(), False),
    "stringnotequalsignorecase": (lambda p, g: p.lower() == g.lower(), True),
    "stringlike": (like, False),
    "stringnotlike": (like, True),
    "numericequals": (_ordered(_number, _EQ), False),
    "numericnotequals": (_ordered(_number, _EQ), True),
    "numericlessthan": (_ordered(_number, _LT), False),
    "numericlessthanequals": (_ordered(_number, _LE), False),
    "numericgreaterthan": (_ordered(_number, _GT), False),
    "numericgreaterthanequals": (_ordered(_number, _GE), False),
    "dateequals": (_ordered(_date, _EQ), False),
    "datenotequals": (_ordered(_date, _EQ), True),
    "datelessthan": (_ordered(_date, _LT), False),
    "datelessthanequals": (_ordered(_date, _LE), False),
    "dategreaterthan": (_ordered(_date, _GT), False),
    "dategreaterthanequals": (_ordered(_date, _GE), False),
    "bool": (lambda p, g: p.lower() == g.lower(), False),
    "binaryequals": (_binary, False),
    "ipaddress": (_ip, False),
    "notipaddress": (_ip, True),
    "arnequals": (arn_like, False),
    "arnlike": (arn_like, False),
    "arnnotequals": (arn_like, True),
    "arnnotlike": (arn_like, True),
}


class PolicyError(ValueError):
    """A document the evaluator cannot read (an unknown operator, a malformed statement)."""


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [str(item).lower() if isinstance(item, bool) else str(item) for item in items]


def _condition(operator: str, key: str, wanted: list[str], context: Mapping[str, Value]) -> bool:
    name = operator.lower()
    qualifier = ""
    if ":" in name:
        qualifier, _, name = name.partition(":")
        if qualifier not in ("foranyvalue", "forallvalues"):
            raise PolicyError(f"unknown condition operator {operator}")
    present = key.lower() in context
    given = context.get(key.lower())
    values = [] if given is None else [given] if isinstance(given, str) else list(given)
    if name == "null":
        return any((v.lower() == "true") == (not present or not values) for v in wanted)
    if_exists = name.endswith("ifexists")
    name = name.removesuffix("ifexists")
    if name not in _OPERATORS:
        raise PolicyError(f"unknown condition operator {operator}")
    matches, negated = _OPERATORS[name]
    policy_values = [v for v in (substitute(w, context) for w in wanted) if v is not None]
    if not present:
        if qualifier == "forallvalues" or if_exists:
            return True
        return negated and qualifier == ""

    def hit(value: str) -> bool:
        return any(matches(p, value) for p in policy_values)

    if qualifier == "forallvalues":
        return all((not hit(v)) if negated else hit(v) for v in values)
    if qualifier == "foranyvalue":
        return any((not hit(v)) if negated else hit(v) for v in values)
    found = any(hit(v) for v in values)
    return not found if negated else found


def conditions_hold(block: Mapping[str, Mapping[str, Any]], context: Mapping[str, Value]) -> bool:
    """Every operator, every key in it: all must hold (values within one key are alternatives)."""
    return all(
        _condition(operator, key, _as_list(wanted), context)
        for operator, keys in block.items()
        for key, wanted in keys.items()
    )


# ---------------------------------------------------------------------------------------------- statements
def statements(document: Mapping[str, Any] | str) -> list[Mapping[str, Any]]:
    import json

    parsed = json.loads(document) if isinstance(document, str) else document
    found = parsed.get("Statement", [])
    return [found] if isinstance(found, dict) else list(found)


def _principal_matches(element: Any, principal: str, context: Mapping[str, Value]) -> bool:
    if element == "*":
        return True
    if not isinstance(element, Mapping):
        return False
    account = context.get("aws:principalaccount")
    owner = context.get("aws:principalarn")  # a role's sessions match a policy that names the role
    for kind, names in element.items():
        for name in _as_list(names):
            if name == "*" and kind == "AWS":
                return True
            if name in (principal, owner):
                return True
            if kind == "AWS" and account and name in (account, f"arn:aws:iam::{account}:root"):
                return True
    return False


def _action_matches(patterns: Iterable[str], action: str) -> bool:
    return any(like(p, action, ignore_case=True) for p in patterns)


def _resource_matches(patterns: Iterable[str], resource: str, context: Mapping[str, Value]) -> bool:
    for raw in patterns:
        pattern = substitute(raw, context)
        if pattern is not None and arn_like(pattern, resource):
            return True
    return False


def applies(statement: Mapping[str, Any], request: Request, resource_based: bool = False) -> bool:
    """Whether one statement speaks to this request (its effect aside)."""
    context = request.context
    if resource_based:
        if "Principal" in statement:
            if not _principal_matches(statement["Principal"], request.principal, context):
                return False
        elif "NotPrincipal" in statement:
            if _principal_matches(statement["NotPrincipal"], request.principal, context):
                return False
        else:
            return False
    if "Action" in statement:
        if not _action_matches(_as_list(statement["Action"]), request.action):
            return False
    elif "NotAction" in statement:
        if _action_matches(_as_list(statement["NotAction"]), request.action):
            return False
    else:
        raise PolicyError("a statement needs Action or NotAction")
    if "Resource" in statement:
        if not _resource_matches(_as_list(statement["Resource"]), request.resource, context):
            return False
    elif "NotResource" in statement:
        if _resource_matches(_as_list(statement["NotResource"]), request.resource, context):
            return False
    elif not resource_based:
        raise PolicyError("a statement needs Resource or NotResource")
    return conditions_hold(statement.get("Condition") or {}, context)


def _verdict(policies: Iterable[Mapping[str, Any] | str], request: Request, resource_based: bool) -> Decision:
    allowed = False
    for document in policies:
        for statement in statements(document):
            if not applies(statement, request, resource_based):
                continue
            if statement.get("Effect") == "Deny":
                return Decision.EXPLICIT_DENY
            if statement.get("Effect") == "Allow":
                allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def evaluate(
    request: Request,
    identity_policies: Sequence[Mapping[str, Any] | str] = (),
    resource_policies: Sequence[Mapping[str, Any] | str] = (),
) -> Outcome:
    """Within one account: an explicit deny in either kind of policy denies; otherwise an allow in either
    allows; otherwise the request is implicitly denied."""
    identity = _verdict(identity_policies, request, False)
    resource = _verdict(resource_policies, request, True)
    if identity is Decision.EXPLICIT_DENY:
        return Outcome(Decision.EXPLICIT_DENY, "identity")
    if resource is Decision.EXPLICIT_DENY:
        return Outcome(Decision.EXPLICIT_DENY, "resource")
    if identity is Decision.ALLOW:
        return Outcome(Decision.ALLOW, "identity")
    if resource is Decision.ALLOW:
        return Outcome(Decision.ALLOW, "resource")
    return Outcome(Decision.IMPLICIT_DENY, "resource" if resource_policies and not identity_policies else "identity")
