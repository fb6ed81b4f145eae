"""Runtime hooks for SnapStart, importable by handlers as on Lambda (``snapshot-restore-py``'s interface).

``register_before_snapshot(fn, *args, **kwargs)`` and ``register_after_restore(fn, *args, **kwargs)``
record a call and return ``fn``, so both also work as decorators. The runtime runs the before-snapshot
hooks once, after init, last registered first; and the after-restore hooks in every environment
restored from the snapshot, in registration order. Standard library only: it runs in the sandbox.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Hook = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]
_before_snapshot: list[Hook] = []
_after_restore: list[Hook] = []


def register_before_snapshot(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
    _before_snapshot.append((func, args, kwargs))
    return func


def register_after_restore(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Callable[..., Any]:
    _after_restore.append((func, args, kwargs))
    return func


def get_before_snapshot() -> list[Hook]:
    return _before_snapshot


def get_after_restore() -> list[Hook]:
    return _after_restore
