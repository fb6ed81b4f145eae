"""What ``CreateFunction`` tells a user whose ``Runtime`` cannot run here: AWS's words for a deprecated
runtime, and for a runtime AWS offers but this host cannot serve, what is missing and how to supply it."""

from __future__ import annotations

from .registry import CREATABLE, NODE_RUNTIMES, Runtime
from .registry import unavailable as registry_unavailable

# AWS's newest runtime of each family, recommended when the host has none of that family
_NEWEST = {"python": "python3.14", "nodejs": "nodejs24.x", "java": "java25", "dotnet": "dotnet10", "ruby": "ruby3.4"}


def family(name: str) -> str:
    for prefix in ("python", "nodejs", "java", "dotnetcore", "dotnet", "ruby"):
        if name.startswith(prefix):
            return "dotnet" if prefix == "dotnetcore" else prefix
    return "provided"


def _version_key(name: str) -> tuple[int, ...]:
    digits = "".join(c if c.isdigit() else " " for c in name)
    return tuple(int(part) for part in digits.split())


def deprecated(name: str, available: dict[str, Runtime]) -> str:
    """AWS's message, recommending the newest runtime of the same language this server runs (else AWS's)."""
    kind = family(name)
    here = sorted((r for r in available if family(r) == kind and r in CREATABLE), key=_version_key)
    newest = here[-1] if here else _NEWEST.get(kind, "provided.al2023")
    return (
        f"The runtime parameter of {name} is no longer supported for creating or updating AWS Lambda functions. "
        f"We recommend you use the new runtime ({newest}) while creating or updating functions."
    )


def unavailable(name: str, available: dict[str, Runtime]) -> str:
    """A runtime AWS offers that this host cannot serve: what it needs, and what the host has instead."""
    kind = family(name)
    if kind == "ruby":  # the Ruby runtimes say it themselves (runtimes/ruby.py)
        return registry_unavailable(name, available)
    have = ", ".join(sorted(available)) or "none"
    major = name.removeprefix(kind).removesuffix(".x")
    if kind == "dotnet":
        need = ".NET cannot be installed on this host (there is no .NET SDK in its package sources)"
    elif kind == "nodejs":
        hint = f", or --runtime {name}=/path/to/node" if name in NODE_RUNTIMES else ""
        need = f"it needs Node.js {major} (`node`{hint}), not installed"
    elif kind == "java":
        need = f"it needs a JDK {major} (`java` and `javac`, Debian's openjdk-{major}-jdk-headless), not installed"
    elif kind == "python":
        need = f"it needs a Python {major} interpreter (python{major}, or --runtime {name}=/path), not installed"
    else:
        need = "no interpreter for it is installed"
    return f"The runtime {name} is not available on this Kindling server: {need}. Available runtimes: {have}."
