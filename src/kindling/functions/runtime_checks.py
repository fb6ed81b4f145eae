"""What CreateFunction and UpdateFunctionConfiguration check about a function's runtime and architectures:
the parts of the answer that depend on this host, not on the request's shape."""

from __future__ import annotations

from ..config import Config
from ..errors import InvalidParameterValue
from ..runtimes import architectures, catalog
from ..runtimes.registry import CREATABLE, DEPRECATED, Runtime


def has_network(config: Config, function: str) -> bool:
    """Whether the function's environments share the host's network (not with --no-network nor --egress)."""
    return config.network and function not in config.egress


def runtime_for(name: str, runtimes: dict[str, Runtime], network: bool) -> Runtime:
    """The runtime a function may use, or AWS's refusal (retired, unknown, or missing on this host)."""
    if name in DEPRECATED:
        raise InvalidParameterValue(catalog.deprecated(name, runtimes))
    runtime = runtimes.get(name)
    if runtime is None and name not in CREATABLE:
        raise InvalidParameterValue(
            f"Value {name} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: "
            f"[{', '.join(CREATABLE)}] or be a valid ARN"
        )
    if runtime is None:
        raise InvalidParameterValue(catalog.unavailable(name, runtimes))
    if runtime.command and not network:
        raise InvalidParameterValue(
            f"The runtime {name} talks to the Runtime API over loopback, which --no-network and --egress take away."
        )
    return runtime


def check_architectures(names: list[str] | None) -> None:
    """A foreign architecture only where it can be emulated (``runtimes/architectures.py``)."""
    for name in names or ():
        refusal = architectures.refusal(name)
        if refusal:
            raise InvalidParameterValue(refusal)
