"""Lambda's ``Marker`` / ``MaxItems`` / ``NextMarker`` pagination, for every list operation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..errors import InvalidParameterValue

T = TypeVar("T")


def page(
    items: Sequence[T], key: Callable[[T], str], marker: str | None, max_items: int | None, limit: int = 50
) -> tuple[Sequence[T], str | None]:
    """One page of ``items`` (already in order) and the marker of the next, if any."""
    start = 0
    if marker:
        keys = [key(item) for item in items]
        if marker not in keys:
            raise InvalidParameterValue(f"Invalid marker: {marker}")
        start = keys.index(marker)
    size = min(max_items or limit, limit)
    chosen = items[start : start + size]
    following = items[start + size] if start + size < len(items) else None
    return chosen, None if following is None else key(following)


def listing(
    field: str,
    items: Sequence[T],
    key: Callable[[T], str],
    params: dict[str, Any],
    shape: Callable[[T], Any] = lambda item: item,
) -> dict[str, Any]:
    """A list operation's whole body: one page of shaped items under ``field``, and ``NextMarker``."""
    chosen, following = page(items, key, params.get("Marker"), params.get("MaxItems"))
    body: dict[str, Any] = {field: [shape(item) for item in chosen]}
    if following:
        body["NextMarker"] = following
    return body
