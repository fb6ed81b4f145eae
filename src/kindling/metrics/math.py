"""CloudWatch metric math, the basic part: numbers, query ids, ``+ - * /``, parentheses, arrays ``[a, b]``,
``METRICS()``, ``SUM``/``AVG``/``MIN``/``MAX`` (across an array's series, or over one series' values) and
``FILL(x, value | REPEAT | LINEAR)`` on the period grid. A time series is ``{timestamp: value}``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Union

from ..errors import ServiceFault

Series = dict[int, float]
Value = Union[float, Series, list[Series]]  # noqa: UP007  (a recursive alias used at run time)
TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(\"[^\"]*\")|(.))")
AGGREGATES: dict[str, Callable[[list[float]], float]] = {
    "SUM": sum,
    "AVG": lambda values: sum(values) / len(values),
    "MIN": min,
    "MAX": max,
}


def invalid(message: str) -> ServiceFault:
    return ServiceFault("ValidationError", message)


class Evaluator:
    def __init__(self, results: dict[str, Series], grid: list[int]) -> None:
        self.results = results  # id -> series of the queries evaluated so far (MetricStat first)
        self.metric_ids = list(results)  # what METRICS() returns: the metrics, not the expressions
        self.grid = grid
        self.tokens: list[tuple[str, str]] = []
        self.at = 0

    def evaluate(self, expression: str) -> Series:
        self.tokens = [_kind(match) for match in TOKEN.finditer(expression) if match.group(0).strip()]
        self.at = 0
        value = self._sum()
        if self.at != len(self.tokens):
            raise invalid(f"Unexpected '{self.tokens[self.at][1]}' in expression {expression!r}")
        if isinstance(value, list):
            if len(value) != 1:
                raise invalid("The expression must return a single time series")
            return value[0]
        if isinstance(value, dict):
            return value
        return dict.fromkeys(self.grid, value)

    # ------------------------------------------------------------- grammar
    def _peek(self) -> str:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else ""

    def _take(self, expected: str | None = None) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise invalid("The expression ends too early")
        token = self.tokens[self.at]
        if expected is not None and token[1] != expected:
            raise invalid(f"Expected '{expected}' but found '{token[1]}'")
        self.at += 1
        return token

    def _sum(self) -> Value:
        value = self._product()
        while self._peek() in ("+", "-"):
            operator = self._take()[1]
            value = _combine(value, self._product(), operator)
        return value

    def _product(self) -> Value:
        value = self._unary()
        while self._peek() in ("*", "/"):
            operator = self._take()[1]
            value = _combine(value, self._unary(), operator)
        return value

    def _unary(self) -> Value:
        if self._peek() == "-":
            self._take()
            return _combine(-1.0, self._unary(), "*")
        return self._atom()

    def _atom(self) -> Value:
        kind, text = self._take()
        if kind == "number":
            return float(text)
        if text == "(":
            value = self._sum()
            self._take(")")
            return value
        if text == "[":
            items: list[Series] = []
            while True:
                item = self._sum()
                items.extend(item if isinstance(item, list) else [self._series(item)])
                if self._take()[1] == "]":
                    return items
        if kind == "name" and self._peek() == "(":
            return self._call(text.upper())
        if kind == "name" and text in self.results:
            return self.results[text]
        raise invalid(f"Unknown identifier or token '{text}'")

    def _call(self, function: str) -> Value:
        self._take("(")
        if function == "METRICS":
            pattern = self._take()[1].strip('"') if self._peek() != ")" else ""
            self._take(")")
            return [self.results[key] for key in self.metric_ids if pattern in key]
        argument = self._sum()
        if function == "FILL":
            self._take(",")
            kind, text = self._take()
            self._take(")")
            how = float(text) if kind == "number" else text.upper()
            if how not in ("REPEAT", "LINEAR") and not isinstance(how, float):
                raise invalid("FILL takes a number, REPEAT or LINEAR")
            if isinstance(argument, list):
                return [self._fill(series, how) for series in argument]
            return self._fill(self._series(argument), how)
        self._take(")")
        aggregate = AGGREGATES.get(function)
        if aggregate is None:
            raise invalid(f"Unsupported function {function}")
        if isinstance(argument, list):
            stamps = sorted({ts for series in argument for ts in series})
            return {ts: aggregate([s[ts] for s in argument if ts in s]) for ts in stamps}
        if isinstance(argument, dict):
            return aggregate(list(argument.values())) if argument else 0.0
        return argument

    def _series(self, value: Value) -> Series:
        if isinstance(value, dict):
            return value
        if isinstance(value, list):
            raise invalid("An array is not allowed here")
        return dict.fromkeys(self.grid, value)

    def _fill(self, series: Series, how: float | str) -> Series:
        filled: Series = {}
        known = sorted(series)
        last: float | None = None
        for ts in self.grid:
            if ts in series:
                last = filled[ts] = series[ts]
            elif isinstance(how, float):
                filled[ts] = how
            elif how == "REPEAT" and last is not None:
                filled[ts] = last
            elif how == "LINEAR":
                before = [t for t in known if t < ts]
                after = [t for t in known if t > ts]
                if before and after:
                    a, b = before[-1], after[0]
                    filled[ts] = series[a] + (series[b] - series[a]) * (ts - a) / (b - a)
        return filled


def _kind(match: re.Match[str]) -> tuple[str, str]:
    number, name, string, other = match.groups()
    if number:
        return "number", number
    if name:
        return "name", name
    if string:
        return "string", string
    return "op", other


def _combine(left: Value, right: Value, operator: str) -> Value:
    if isinstance(left, list):
        return [_combine(series, right, operator) for series in left]  # type: ignore[misc]
    if isinstance(right, list):
        return [_combine(left, series, operator) for series in right]  # type: ignore[misc]
    if isinstance(left, dict) and isinstance(right, dict):
        pairs: list[tuple[int, float, Any]] = [(ts, left[ts], right[ts]) for ts in left if ts in right]
    elif isinstance(left, dict):
        pairs = [(ts, value, right) for ts, value in left.items()]
    elif isinstance(right, dict):
        pairs = [(ts, left, value) for ts, value in right.items()]
    else:
        return _apply(left, right, operator) if not (operator == "/" and right == 0) else 0.0
    return {ts: _apply(a, b, operator) for ts, a, b in pairs if not (operator == "/" and b == 0)}


def _apply(a: float, b: float, operator: str) -> float:
    if operator == "+":
        return a + b
    if operator == "-":
        return a - b
    if operator == "*":
        return a * b
    return a / b
