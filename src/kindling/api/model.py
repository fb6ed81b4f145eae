"""botocore's Lambda service model as the source of truth for routes, inputs and constraints.

Every operation's method and path, where each input member travels (path, query, header,
body), and its constraints (required, lengths, ranges, enums, patterns) come from the model
that boto3 and the AWS CLI themselves use, so Kindling accepts and rejects exactly what the
model says. Validation errors carry AWS's "N validation error(s) detected" wording.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from botocore.loaders import create_loader

from ..errors import ValidationError
from ..runtimes.registry import CREATABLE

_LABEL = re.compile(r"\{([A-Za-z0-9]+)\+?\}")


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    pattern: re.Pattern[str]
    literal_query: dict[str, str]
    input_shape: str | None
    response_code: int
    locations: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # member -> (where, key, type)
    payload: str | None = None


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None  # Java-only syntax such as \p{L}: the model's check is skipped


@functools.lru_cache(maxsize=4096)
def _matches(pattern: str, value: str) -> bool:
    """Pattern checks are remembered: the same function names and qualifiers come back on every invoke."""
    compiled = _compiled(pattern)
    return compiled is None or compiled.fullmatch(value) is not None


class ServiceModel:
    def __init__(self, service: str = "lambda") -> None:
        model = create_loader().load_service_model(service, "service-2")
        self.shapes: dict[str, dict[str, Any]] = model["shapes"]
        for name in _UNWRAPPED.get(service, ()):  # AWS prints these without the outer group botocore adds
            self.shapes[name] = {**self.shapes[name], "shown": self.shapes[name]["pattern"][1:-1]}
        self.operations: dict[str, Operation] = {}
        self._routes: dict[tuple[str, str], list[Operation]] = {}
        for name, spec in model["operations"].items():
            operation = self._operation(name, spec)
            self.operations[name] = operation
            key = (operation.method, spec["http"]["requestUri"].split("/")[1].split("?")[0])
            self._routes.setdefault(key, []).append(operation)
        for candidates in self._routes.values():
            candidates.sort(key=lambda op: (-len(op.literal_query), op.name != "Invoke"))

    def _operation(self, name: str, spec: dict[str, Any]) -> Operation:
        uri, _, query = spec["http"]["requestUri"].partition("?")
        literal = dict(part.split("=", 1) if "=" in part else (part, "") for part in query.split("&") if part)
        regex = (
            "^"
            + _LABEL.sub(
                lambda m: f"(?P<{m.group(1)}>[^/]+)",
                re.escape(uri).replace(r"\{", "{").replace(r"\}", "}").replace(r"\+", "+"),
            )
            + "/?$"
        )
        shape_name = spec.get("input", {}).get("shape")
        locations: dict[str, tuple[str, str, str]] = {}
        payload = None
        if shape_name:
            shape = self.shapes[shape_name]
            payload = shape.get("payload")
            for member, ref in shape.get("members", {}).items():
                where = ref.get("location")
                if where:
                    locations[member] = (
                        where,
                        ref.get("locationName", member),
                        self.shapes[ref["shape"]]["type"],
                    )
        return Operation(
            name,
            spec["http"]["method"],
            re.compile(regex),
            literal,
            shape_name,
            spec["http"].get("responseCode", 200),
            locations,
            payload,
        )

    # ------------------------------------------------------------- routing
    def match(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[Operation, dict[str, str]] | None:
        segment = path.split("/")[1] if path.count("/") >= 1 else ""
        for operation in self._routes.get((method, segment), ()):
            found = operation.pattern.match(path)
            if found and all(
                key in query and (not value or query[key][0] == value) for key, value in operation.literal_query.items()
            ):
                return operation, {k: unquote(v) for k, v in found.groupdict().items()}
        return None

    # ------------------------------------------------------------- parsing
    def parse(
        self,
        operation: Operation,
        labels: dict[str, str],
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for member, (where, key, kind) in operation.locations.items():
            if where == "uri":
                raw: Any = labels.get(key)
            elif where == "querystring":
                values = query.get(key)
                raw = None if values is None else (values if kind == "list" else values[0])
            elif where == "header":
                raw = headers.get(key.lower())
            else:
                continue
            if raw is not None:
                params[member] = _convert(raw, kind, member)
        if operation.payload:
            shape = self.shapes[operation.input_shape]["members"][operation.payload]  # type: ignore[index]
            if self.shapes[shape["shape"]]["type"] == "blob":
                params[operation.payload] = body
            elif body:
                params[operation.payload] = _json(body)
        elif body and operation.input_shape:
            document = _json(body)
            if not isinstance(document, dict):
                raise ValidationError("Start of structure or map found where not expected.")
            params.update(self._from_json(operation.input_shape, document))
        return params

    def _from_json(self, shape_name: str, value: Any) -> Any:
        """Decode blob members (base64 in JSON) and drop members the model does not know."""
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if kind == "structure" and isinstance(value, dict):
            members = shape.get("members", {})
            return {
                k: self._from_json(members[k]["shape"], v) for k, v in value.items() if k in members and v is not None
            }
        if kind == "list" and isinstance(value, list):
            return [self._from_json(shape["member"]["shape"], item) for item in value]
        if kind == "map" and isinstance(value, dict):
            return {k: self._from_json(shape["value"]["shape"], v) for k, v in value.items()}
        if kind == "blob" and isinstance(value, str):
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise ValidationError("Could not decode base64 data in the request body.") from None
        return value

    # ---------------------------------------------------------- validation
    def validate(self, operation: Operation, params: dict[str, Any]) -> None:
        if not operation.input_shape:
            return
        problems: list[str] = []
        deferred = _SERVICE_CHECKED.get(operation.name, ())
        self._check(operation.input_shape, params, "", problems, deferred)
        if problems:
            count = len(problems)
            raise ValidationError(
                f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(problems)
            )

    def _check(
        self, shape_name: str, value: Any, path: str, problems: list[str], deferred: tuple[str, ...] = ()
    ) -> None:
        shape = self.shapes[shape_name]
        kind = shape["type"]
        shown = "*" * 8 if shape.get("sensitive") else value
        if kind == "structure":
            if not isinstance(value, dict):
                problems.append(f"Value '{shown}' at '{path}' failed to satisfy constraint: Member must be a structure")
                return
            members = shape.get("members", {})
            for required in shape.get("required", []):
                if value.get(required) is None:
                    where = f"{path}.{_camel(required)}" if path else _camel(required)
                    problems.append(f"Value null at '{where}' failed to satisfy constraint: Member must not be null")
            for name, member_value in value.items():
                member = members.get(name)
                if member is None or member_value is None or name in deferred:
                    continue
                where = f"{path}.{_camel(name)}" if path else _camel(name)
                allowed = _ENUMS.get(name) if not path else None
                if allowed is not None and isinstance(member_value, list):
                    if any(item not in allowed for item in member_value):
                        problems.append(
                            f"Value '{_java(member_value)}' at '{where}' failed to satisfy constraint: "
                            f"Member must satisfy enum value set: [{', '.join(allowed)}]"
                        )
                    continue
                self._check(member["shape"], member_value, where, problems)
            return
        if kind in ("string", "blob", "integer", "long", "float", "double", "boolean"):
            problem = self._scalar(shape, value)
            if problem:
                problems.append(f"Value '{shown}' at '{path}' failed to satisfy constraint: {problem}")
        elif kind == "list":
            if not isinstance(value, list):
                problems.append(f"Value '{shown}' at '{path}' failed to satisfy constraint: Member must be a list")
                return
            self._bounds(len(value), shape, _java(shown), path, problems, "length")
            member = self.shapes[shape["member"]["shape"]]
            if member["type"] in ("structure", "list", "map"):
                for index, item in enumerate(value, 1):
                    self._check(shape["member"]["shape"], item, f"{path}.{index}.member", problems)
            elif any(self._scalar(member, item) for item in value):
                nullable = shape_name in _NULLABLE_ITEMS
                problems.append(
                    f"Value '{_java(shown)}' at '{path}' failed to satisfy constraint: Member must satisfy constraint: "
                    f"[{', '.join(_constraints(member, nullable=nullable))}]"
                )
        elif kind == "map":
            if not isinstance(value, dict):
                problems.append(f"Value '{shown}' at '{path}' failed to satisfy constraint: Member must be a map")
                return
            self._bounds(len(value), shape, _java(shown), path, problems, "length")
            key, item = self.shapes[shape["key"]["shape"]], self.shapes[shape["value"]["shape"]]
            if any(self._scalar(key, k) for k in value):
                problems.append(
                    f"Value '{_java(shown)}' at '{path}' failed to satisfy constraint: Map keys must satisfy "
                    f"constraint: [{', '.join(_constraints(key, nullable=True))}]"
                )
            if item["type"] in ("structure", "list", "map"):
                for k, v in value.items():
                    self._check(shape["value"]["shape"], v, f"{path}.{k}.value", problems)
            elif any(self._scalar(item, v) for v in value.values()):
                problems.append(
                    f"Value '{_java(shown)}' at '{path}' failed to satisfy constraint: Map value must satisfy "
                    f"constraint: [{', '.join(_constraints(item, nullable=False))}]"
                )

    @staticmethod
    def _scalar(shape: dict[str, Any], value: Any) -> str | None:
        """The first constraint a scalar breaks, in AWS's words, or None."""
        kind = shape["type"]
        measure: float
        if kind in ("string", "blob"):
            if not isinstance(value, str | bytes):
                return f"Member must be a {kind}"
            measure, what = len(value), "length"
        elif kind == "boolean":
            return None if isinstance(value, bool) else "Member must be a boolean"
        elif isinstance(value, bool) or not isinstance(value, int | float):
            return "Member must be a number"
        else:
            measure, what = value, "value"
        if "min" in shape and measure < shape["min"]:
            return f"Member must have {what} greater than or equal to {shape['min']}"
        if "max" in shape and measure > shape["max"]:
            return f"Member must have {what} less than or equal to {shape['max']}"
        if "enum" in shape and value not in shape["enum"]:
            return f"Member must satisfy enum value set: [{', '.join(shape['enum'])}]"
        pattern = shape.get("pattern")
        if pattern and isinstance(value, str) and not _matches(pattern, value):
            return f"Member must satisfy regular expression pattern: {shape.get('shown', pattern)}"
        return None

    @staticmethod
    def _bounds(measure: float, shape: dict[str, Any], shown: Any, path: str, problems: list[str], what: str) -> None:
        if "min" in shape and measure < shape["min"]:
            problems.append(
                f"Value '{shown}' at '{path}' failed to satisfy constraint: "
                f"Member must have {what} greater than or equal to {shape['min']}"
            )
        if "max" in shape and measure > shape["max"]:
            problems.append(
                f"Value '{shown}' at '{path}' failed to satisfy constraint: "
                f"Member must have {what} less than or equal to {shape['max']}"
            )


# Members whose constraint the service checks itself, after the model's checks, with its own error
# (an unknown Runtime is an InvalidParameterValueException naming the runtimes that can be created)
_SERVICE_CHECKED: dict[str, tuple[str, ...]] = {
    "CreateFunction": ("Runtime",),
    "UpdateFunctionConfiguration": ("Runtime",),
}


# Top-level lists AWS checks against its own, narrower, value set (the runtimes a layer can name are the ones
# a function can be created with), in one flat constraint
_ENUMS: dict[str, tuple[str, ...]] = {"CompatibleRuntimes": CREATABLE}

_UNWRAPPED = {"lambda": ("LayerVersionArn",)}

# Lists whose items AWS's own model does not declare non-null (botocore's cannot tell): their messages, as
# AWS recorded them, end without "Member must not be null"
_NULLABLE_ITEMS = frozenset({"SubnetIds", "SecurityGroupIds"})


def _constraints(shape: dict[str, Any], nullable: bool) -> list[str]:
    """Every constraint of a collection's member shape, listed as AWS lists them when one item breaks any."""
    what = "length" if shape["type"] in ("string", "blob") else "value"
    found = []
    if "max" in shape:
        found.append(f"Member must have {what} less than or equal to {_number(shape['max'])}")
    if "min" in shape:
        found.append(f"Member must have {what} greater than or equal to {_number(shape['min'])}")
    if "enum" in shape:
        found.append(f"Member must satisfy enum value set: [{', '.join(shape['enum'])}]")
    if "pattern" in shape:
        found.append(f"Member must satisfy regular expression pattern: {shape.get('shown', shape['pattern'])}")
    if not nullable:
        found.append("Member must not be null")
    return found


def _number(value: float) -> str:
    return f"{float(value)}" if isinstance(value, float) else str(value)


def _java(value: Any) -> str:
    """A value as AWS's (Java) services print it: ``[a, b]`` for a list, ``{k=v}`` for a map."""
    if isinstance(value, list):
        return "[" + ", ".join(_java(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java(v)}" for k, v in value.items()) + "}"
    return str(value)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise ValidationError("Could not parse request body into json.") from None


def _convert(raw: Any, kind: str, member: str) -> Any:
    try:
        if kind in ("integer", "long"):
            return int(raw)
        if kind == "boolean":
            return str(raw).lower() == "true"
    except ValueError:
        raise ValidationError(
            f"1 validation error detected: Value '{raw}' at '{_camel(member)}' failed to satisfy constraint: "
            "Member must be a number"
        ) from None
    return raw
