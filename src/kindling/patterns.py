"""AWS's event pattern language, the one EventBridge rules, SNS filter policies and event source mappings'
``FilterCriteria`` share: compiled once, then matched against JSON documents.

A pattern is an object whose leaves are lists of matchers: the event's value at that path matches when it
matches any of them (and when the event's value is a list, when any element does). Matchers are literal
values (string, number, boolean, null) or one-key objects: ``prefix``, ``suffix``, ``equals-ignore-case``,
``wildcard``, ``anything-but``, ``numeric``, ``exists``, ``cidr``. Keys of one object must all match; an
object's ``$or`` lists alternative sub-patterns for the same place. A leaf: no part of Kindling is imported.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any

Matcher = Callable[[Any], bool]  # one event value (never a list, never missing) -> matched?
_MISSING = object()
_OPERATORS = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "=": lambda a, b: a == b,
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
}


class PatternError(ValueError):
    """The pattern is not valid; the message says why, as EventBridge's "Reason:" does."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _literal(expected: Any) -> Matcher:
    if _is_number(expected):
        return lambda value: _is_number(value) and value == expected
    if expected is None or isinstance(expected, bool):
        return lambda value: value is expected
    return lambda value: isinstance(value, str) and value == expected


def _string_operand(name: str, operand: Any) -> str:
    if not isinstance(operand, str):
        raise PatternError(f"{name} match pattern must be a string")
    return operand


def _affix(name: str, operand: Any, test: Callable[[str, str], bool]) -> Matcher:
    """``prefix``/``suffix``, optionally ``{"equals-ignore-case": ...}``."""
    if isinstance(operand, dict):
        if list(operand) != ["equals-ignore-case"]:
            raise PatternError(f"Unsupported {name} pattern: {json.dumps(operand)}")
        folded = _string_operand(name, operand["equals-ignore-case"]).casefold()
        return lambda value: isinstance(value, str) and test(value.casefold(), folded)
    text = _string_operand(name, operand)
    return lambda value: isinstance(value, str) and test(value, text)


def _ignore_case(operand: Any) -> Matcher:
    folded = _string_operand("equals-ignore-case", operand).casefold()
    return lambda value: isinstance(value, str) and value.casefold() == folded


def _wildcard(operand: Any) -> Matcher:
    text = _string_operand("wildcard", operand)
    if "**" in text:
        raise PatternError("Consecutive wildcard characters at pos " + str(text.index("**") + 1))
    parts = re.split(r"(?<!\\)\*", text)
    regex = re.compile(".*".join(re.escape(part.replace("\\*", "*").replace("\\\\", "\\")) for part in parts), re.S)
    return lambda value: isinstance(value, str) and regex.fullmatch(value) is not None


def _numeric(operand: Any) -> Matcher:
    if not isinstance(operand, list) or not operand or len(operand) % 2 or len(operand) > 4:
        raise PatternError("Value of numeric must be an array.")
    checks: list[tuple[Callable[[float, float], bool], float]] = []
    for index in range(0, len(operand), 2):
        operator, bound = operand[index], operand[index + 1]
        if operator not in _OPERATORS:
            raise PatternError(f"Unrecognized numeric range operator: {operator}")
        if not _is_number(bound):
            raise PatternError(f"Value of {operator} must be numeric")
        checks.append((_OPERATORS[operator], bound))
    if len(checks) == 2 and (operand[0] not in (">", ">=") or operand[2] not in ("<", "<=")):
        raise PatternError("Bad numeric range operator")
    return lambda value: _is_number(value) and all(test(value, bound) for test, bound in checks)


def _cidr(operand: Any) -> Matcher:
    try:
        network = ipaddress.ip_network(_string_operand("cidr", operand), strict=False)
    except ValueError:
        raise PatternError(f"Malformed CIDR, one '/' required: {operand}") from None

    def inside(value: Any) -> bool:
        if not isinstance(value, str):
            return False
        try:
            return ipaddress.ip_address(value) in network
        except ValueError:
            return False

    return inside


def _anything_but(operand: Any) -> Matcher:
    if isinstance(operand, dict):
        if len(operand) != 1:
            raise PatternError("Unsupported anything-but pattern: " + json.dumps(operand))
        (name, inner), = operand.items()  # fmt: skip
        if name in ("prefix", "suffix"):
            excluded = _operator(name, inner)
        elif name in ("equals-ignore-case", "wildcard"):
            inner_list = inner if isinstance(inner, list) else [inner]
            builder = _ignore_case if name == "equals-ignore-case" else _wildcard
            alternatives = [builder(item) for item in inner_list]
            excluded = lambda value: any(test(value) for test in alternatives)  # noqa: E731
        else:
            raise PatternError(f"Unsupported anything-but pattern: {name}")
        return lambda value: not excluded(value)
    values = operand if isinstance(operand, list) else [operand]
    if not values or any(not (isinstance(v, str) or _is_number(v)) for v in values):
        raise PatternError("Inside anything but list, start|null|boolean is not supported.")
    literals = [_literal(v) for v in values]
    return lambda value: not any(test(value) for test in literals)


def _operator(name: str, operand: Any) -> Matcher:
    if name in ("prefix", "suffix"):
        return _affix(name, operand, str.startswith if name == "prefix" else str.endswith)
    if name == "equals-ignore-case":
        return _ignore_case(operand)
    if name == "wildcard":
        return _wildcard(operand)
    if name == "anything-but":
        return _anything_but(operand)
    if name == "numeric":
        return _numeric(operand)
    if name == "cidr":
        return _cidr(operand)
    raise PatternError(f"Unrecognized match type {name}")


class _Leaf:
    """The list of matchers at one key; ``exists`` is kept apart, as it is the one that sees absence."""

    def __init__(self, matchers: list[Any], where: str) -> None:
        self.tests: list[Matcher] = []
        self.exists: bool | None = None
        if not matchers:
            raise PatternError(f"Empty arrays are not allowed at {where}")
        for matcher in matchers:
            if isinstance(matcher, dict):
                if len(matcher) != 1:
                    raise PatternError(f"Only one key allowed in match expression at {where}")
                (name, operand), = matcher.items()  # fmt: skip
                if name == "exists":
                    if not isinstance(operand, bool):
                        raise PatternError("exists match pattern must be either true or false.")
                    self.exists = operand
                else:
                    self.tests.append(_operator(name, operand))
            elif isinstance(matcher, list):
                raise PatternError(f"Match value must be String, number, true, false, or null at {where}")
            else:
                self.tests.append(_literal(matcher))

    def matches(self, value: Any) -> bool:
        if value is _MISSING:
            return self.exists is False
        values = value if isinstance(value, list) else [value]
        if self.exists is True and any(not isinstance(item, dict) for item in values):
            return True
        return any(test(item) for item in values for test in self.tests)


class _Node:
    """An object of the pattern: every key must match, then one of the ``$or`` alternatives if any."""

    def __init__(self, pattern: Any, where: str = "") -> None:
        if not isinstance(pattern, dict):
            raise PatternError("Filter is not an object" if not where else f"Value of {where} must be an object")
        self.children: list[tuple[str, _Node | _Leaf]] = []
        self.alternatives: list[_Node] = []
        for key, value in pattern.items():
            path = f"{where}.{key}" if where else key
            if key == "$or":
                if not isinstance(value, list) or len(value) < 2:
                    raise PatternError("Value of $or must be an array of at least two objects")
                self.alternatives = [_Node(item, path) for item in value]
            elif isinstance(value, dict):
                self.children.append((key, _Node(value, path)))
            elif isinstance(value, list):
                self.children.append((key, _Leaf(value, path)))
            else:
                raise PatternError(f"Match value must be String, number, true, false, or null at {path}")
        if not self.children and not self.alternatives and where:
            raise PatternError(f"Empty objects are not allowed at {where}")

    def matches(self, event: Any) -> bool:
        if not isinstance(event, dict):
            return False
        for key, child in self.children:
            value = event.get(key, _MISSING)
            if isinstance(child, _Leaf):
                if not child.matches(value):
                    return False
            elif isinstance(value, list):
                if not any(child.matches(item) for item in value):
                    return False
            elif not child.matches({} if value is _MISSING else value):  # absent below is absent here too
                return False
        return not self.alternatives or any(alternative.matches(event) for alternative in self.alternatives)


class Pattern:
    """A compiled pattern: ``Pattern(text_or_object).matches(event)``."""

    def __init__(self, pattern: str | dict[str, Any]) -> None:
        if isinstance(pattern, str):
            try:
                pattern = json.loads(pattern)
            except ValueError as error:
                raise PatternError(f"Filter is not valid JSON: {error}") from None
        self.source = pattern
        self._root = _Node(pattern)

    def matches(self, event: Any) -> bool:
        return self._root.matches(event)


@functools.lru_cache(maxsize=256)
def compiled(text: str) -> Pattern:
    """Patterns stored as text (rules, mappings) are compiled once however often they are read."""
    return Pattern(text)
