"""The only place that parses and formats function ARNs, names and qualifiers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidParameterValue, ResourceNotFound

_FUNCTION = re.compile(
    r"^(?:arn:(?P<partition>aws[a-zA-Z-]*):lambda:)?(?:(?P<region>[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d):)?"
    r"(?:(?P<account>\d{12}):)?(?:function:)?(?P<name>[a-zA-Z0-9_-]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?$"
)


@dataclass(frozen=True)
class FunctionRef:
    name: str
    qualifier: str | None


def function_arn(region: str, account: str, name: str, qualifier: str | None = None) -> str:
    base = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return f"{base}:{qualifier}" if qualifier else base


def parse_function(value: str, region: str, qualifier: str | None = None) -> FunctionRef:
    """Accept a name, partial or full ARN, with or without a qualifier, as every API path does."""
    match = _FUNCTION.match(value)
    if not match:
        raise ResourceNotFound(f"Function not found: {value}")
    if match["region"] and match["region"] != region:
        raise ResourceNotFound(f"Functions from '{match['region']}' are not reachable in this region ('{region}')")
    derived = match["qualifier"]
    if derived and qualifier and derived != qualifier:
        raise InvalidParameterValue(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    return FunctionRef(match["name"], derived or qualifier)
