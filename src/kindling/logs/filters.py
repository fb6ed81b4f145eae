"""CloudWatch Logs filter patterns, compiled once into a predicate over a message.

Supported: terms (all must match, case-sensitive), quoted phrases, ``?a ?b`` alternatives, ``-term``
exclusions, ``%regex%``, space-delimited patterns (``[ip, user, ..., status = 5*, size > 100]``) and JSON
patterns such as ``{ $.x > 5 && ($.y = "a*" || $.z IS NULL) }`` with ``=``, ``!=``, ``<``, ``<=``, ``>``,
``>=``, ``IS NULL|TRUE|FALSE`` and ``NOT EXISTS``. A message that is not JSON never matches a JSON pattern;
JSON after a prefix (Lambda's ``[INFO]\\t<time>\\t<id>\\t{...}``) is found too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

Predicate = Callable[[str], bool]
_MISSING = object()


class FilterPatternError(ValueError):
    """The pattern does not parse; the API answers InvalidParameterException."""


def compile_pattern(pattern: str | None) -> Predicate:
    text = (pattern or "").strip()
    if text in ("", '""'):
        return lambda _message: True
    if text.startswith("{"):
        if not text.endswith("}"):
            raise FilterPatternError("Invalid filter pattern: a JSON pattern must end with '}'")
        test = _JsonParser(text[1:-1]).parse()
        return lambda message: (document := _json_of(message)) is not _MISSING and test(document)
    if text.startswith("["):
        if not text.endswith("]"):
            raise FilterPatternError("Invalid filter pattern: a space-delimited pattern must end with ']'")
        return _delimited(text[1:-1])
    if len(text) > 1 and text.startswith("%") and text.endswith("%"):
        try:
            regex = re.compile(text[1:-1])
        except re.error as error:
            raise FilterPatternError(f"Invalid regular expression in filter pattern: {error}") from None
        return lambda message: regex.search(message) is not None
    return _terms(text)


_TERM = re.compile(r'([?-]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))')


def _terms(text: str) -> Predicate:
    required: list[str] = []
    any_of: list[str] = []
    excluded: list[str] = []
    position = 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        found = _TERM.match(text, position)
        if found is None:
            raise FilterPatternError(f"Invalid filter pattern near {text[position:]!r}")
        prefix, quoted, bare = found.groups()
        term = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        {"": required, "?": any_of, "-": excluded}[prefix].append(term)
        position = found.end()

    def test(message: str) -> bool:
        return (
            all(term in message for term in required)
            and (not any_of or any(term in message for term in any_of))
            and not any(term in message for term in excluded)
        )

    return test


_FIELD = re.compile(r"^(\w+)(?:\s*(!=|<=|>=|=|<|>)\s*(.+))?$")
_WORD = re.compile(r'"([^"]*)"|\[([^\]]*)\]|(\S+)')
_ANY_FIELDS = "..."
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
FieldTest = Callable[[str], bool]


def _delimited(text: str) -> Predicate:
    """``[ip, user, ..., status = 4*, bytes > 1000]``: the message split on spaces ("quoted" and [bracketed]
    fields whole), field by field; ``...`` stands for any number of fields, and the counts must agree."""
    specs: list[FieldTest | str] = []
    for part in (piece.strip() for piece in text.split(",")):
        if part == _ANY_FIELDS:
            specs.append(_ANY_FIELDS)
            continue
        found = _FIELD.match(part)
        if found is None:
            raise FilterPatternError(f"Invalid filter pattern: field {part!r}")
        _, operator, raw = found.groups()
        if operator is None:
            specs.append(lambda _word: True)
            continue
        value = raw.strip()
        quoted = len(value) > 1 and value[0] == value[-1] == '"'
        wanted: str | float = value[1:-1] if quoted else _float_or_text(value)
        specs.append(_value_test(operator, wanted))

    def fits(position: int, words: list[str]) -> bool:
        if position == len(specs):
            return not words
        spec = specs[position]
        if isinstance(spec, str):
            return any(fits(position + 1, words[skip:]) for skip in range(len(words) + 1))
        return bool(words) and spec(words[0]) and fits(position + 1, words[1:])

    def test(message: str) -> bool:
        words = [next(group for group in found.groups() if group is not None) for found in _WORD.finditer(message)]
        return fits(0, words)

    return test


def _float_or_text(raw: str) -> str | float:
    return float(raw) if _NUMBER.fullmatch(raw) else raw


def _json_of(message: str) -> Any:
    start = message.find("{")
    if start < 0:
        return _MISSING
    try:
        return json.loads(message[start:])
    except ValueError:
        return _MISSING


_TOKEN = re.compile(
    r"\s*(?:(?P<op>&&|\|\||!=|<=|>=|=|<|>|\(|\))"
    r'|(?P<str>"(?:[^"\\]|\\.)*")'
    r"|(?P<sel>\$(?:\.[\w\-]+|\[\d+\])*)"
    r"|(?P<word>[^\s()&|=!<>\"]+))"
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
JsonTest = Callable[[Any], bool]


class _JsonParser:
    """Recursive descent over ``or := and (|| and)*``, ``and := term (&& term)*``, ``term := (or) | test``."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while text[position:].strip():
            found = _TOKEN.match(text, position)
            if found is None or found.end() == position:
                raise FilterPatternError(f"Invalid filter pattern near {text[position:].strip()!r}")
            kind = found.lastgroup or ""
            self.tokens.append((kind, found.group(kind)))
            position = found.end()
        self.index = 0

    def parse(self) -> JsonTest:
        test = self._or()
        if self.index != len(self.tokens):
            raise FilterPatternError(f"Invalid filter pattern: unexpected {self.tokens[self.index][1]!r}")
        return test

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.index] if self.index < len(self.tokens) else ("end", "")

    def _take(self, kind: str | None = None) -> str:
        found_kind, value = self._peek()
        if found_kind == "end" or (kind is not None and found_kind != kind):
            raise FilterPatternError(f"Invalid filter pattern: expected {kind or 'more'} at {value or 'the end'!r}")
        self.index += 1
        return value

    def _or(self) -> JsonTest:
        tests = [self._and()]
        while self._peek() == ("op", "||"):
            self._take()
            tests.append(self._and())
        return tests[0] if len(tests) == 1 else (lambda doc: any(test(doc) for test in tests))

    def _and(self) -> JsonTest:
        tests = [self._term()]
        while self._peek() == ("op", "&&"):
            self._take()
            tests.append(self._term())
        return tests[0] if len(tests) == 1 else (lambda doc: all(test(doc) for test in tests))

    def _term(self) -> JsonTest:
        if self._peek() == ("op", "("):
            self._take()
            test = self._or()
            if self._take("op") != ")":
                raise FilterPatternError("Invalid filter pattern: missing ')'")
            return test
        path = _selector(self._take("sel"))
        kind, word = self._peek()
        if kind == "word" and word.upper() in ("IS", "NOT"):
            return self._keyword_test(path)
        operator = self._take("op")
        if operator not in ("=", "!=", *_COMPARE):
            raise FilterPatternError(f"Invalid filter pattern: unexpected {operator!r}")
        return _comparison(path, operator, self._value())

    def _keyword_test(self, path: list[str | int]) -> JsonTest:
        first = self._take("word").upper()
        second = self._take("word").upper()
        if first == "NOT" and second == "EXISTS":
            return lambda doc: _select(doc, path) is _MISSING
        if first == "IS" and second in ("NULL", "TRUE", "FALSE"):
            wanted = {"NULL": None, "TRUE": True, "FALSE": False}[second]
            return lambda doc: _select(doc, path) is wanted
        raise FilterPatternError(f"Invalid filter pattern: {first} {second}")

    def _value(self) -> str | float:
        kind, value = self._peek()
        if kind == "str":
            self._take()
            return re.sub(r"\\(.)", r"\1", value[1:-1])
        return _float_or_text(self._take("word"))


def _selector(text: str) -> list[str | int]:
    return [int(part[1:-1]) if part.startswith("[") else part[1:] for part in re.findall(r"\.[\w\-]+|\[\d+\]", text)]


def _select(document: Any, path: list[str | int]) -> Any:
    for step in path:
        found = (isinstance(step, int) and isinstance(document, list) and step < len(document)) or (
            isinstance(step, str) and isinstance(document, dict) and step in document
        )
        if not found:
            return _MISSING
        document = document[step]
    return document


def _comparison(path: list[str | int], operator: str, wanted: str | float) -> JsonTest:
    check = _value_test(operator, wanted)

    def test(document: Any) -> bool:
        field = _select(document, path)
        return field is not _MISSING and not isinstance(field, dict | list) and check(field)

    return test


def _value_test(operator: str, wanted: str | float) -> Callable[[Any], bool]:
    """One field against one value: numbers numerically, text with ``*`` as the wildcard."""
    glob = None if isinstance(wanted, float) else re.compile(".*".join(map(re.escape, wanted.split("*"))), re.S)

    def matches(field: Any) -> bool:
        if glob is None:
            return _number(field) == wanted
        return isinstance(field, str | int | float) and glob.fullmatch(_text(field)) is not None

    def test(field: Any) -> bool:
        if operator == "=":
            return matches(field)
        if operator == "!=":
            return not matches(field)
        number = _number(field)
        return isinstance(wanted, float) and number is not None and _COMPARE[operator](number, wanted)

    return test


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
