"""The sandbox contract: everything the invoker may know about where a runtime runs.

A ``SandboxBackend`` makes ``Sandbox``es from a ``SandboxSpec``; a sandbox starts its runtime (or a
SnapStart template, or an environment forked from one) and hands back a ``RuntimeProcess``: pid,
control socket, log pipe, exit future. Which backend made it (``namespaces.py``, ``process.py``,
``fake.py``, a gVisor or container-image backend later) is chosen once, in ``server.py``, and the
invoker never learns it. A backend's failures are its own (``SandboxFull``, ``SpawnError``): the
invoker turns them into Lambda's errors.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

from ..runtimes.registry import Runtime

MAX_EXTENSIONS = 10
# where a sandbox finds the certificate the server's HTTPS port presents (``--tls-cert``), read-only
CA_PATH = "/etc/kindling/ca.pem"


class SandboxFull(Exception):
    """No room for another sandbox (every uid of the pool is taken): the caller may retry later."""


class SpawnError(RuntimeError):
    """The runtime process could not be started (its zygote or template is gone or refused)."""


@dataclass(frozen=True)
class SandboxSpec:
    env_id: str
    runtime: Runtime
    code_dir: Path
    memory_mb: int
    ephemeral_mb: int
    environment: dict[str, str]
    network: bool = True
    egress: tuple[tuple[str, int], ...] = ()  # without network: the (CIDR, port) pairs it may still reach
    opt_dir: Path | None = None  # the function's layers, merged, bound read-only at /opt
    snapshot: bool = False  # a template or an environment forked from one: no external extensions
    image: bool = False  # code_dir is a container image's root file system, the sandbox's / (read-only)
    cwd: str = "/var/task"  # where the runtime starts (an image's WorkingDirectory)
    ca_bundle: str = ""  # under --tls-cert: the certificates (PEM, never a key) made visible at CA_PATH

    @cached_property
    def extensions(self) -> tuple[str, ...]:
        """The external extensions (``/opt/extensions/*`` executables, at most 10) started before the runtime."""
        folder = self.opt_dir / "extensions" if self.opt_dir is not None else None
        if self.snapshot or folder is None or not folder.is_dir():
            return ()
        found = sorted(p.name for p in folder.iterdir() if p.is_file() and os.access(p, os.X_OK))
        return tuple(f"/opt/extensions/{name}" for name in found[:MAX_EXTENSIONS])


@dataclass
class RuntimeProcess:
    """A running runtime, as the invoker holds it."""

    pid: int
    control: socket.socket  # the private channel (frames), or unused by runtimes that speak the Runtime API
    log_fd: int  # the runtime's stdout and stderr
    exited: asyncio.Future[int]  # its exit status (negative: the signal that killed it)
    extension_exits: int = -1  # with extensions: lines ``name status`` as each one exits
    extension_log: int = -1  # with extensions: their stdout and stderr


class Template(Protocol):
    """A SnapStart template: an initialised runtime that environments are forked from. Opaque to the
    invoker, which only passes it back to ``Sandbox.restore``."""

    pid: int


class Sandbox(Protocol):
    """One execution environment's confinement: its uid, its limits, its ``/tmp``."""

    @property
    def spec(self) -> SandboxSpec: ...

    @property
    def uid(self) -> int:
        """The uid its processes run as (the Runtime API serves connections from this uid only)."""
        ...

    async def start(self, extra_env: dict[str, str] | None = None) -> RuntimeProcess:
        """Start the runtime (``extra_env`` on top of the spec's environment)."""
        ...

    async def start_template(self) -> tuple[RuntimeProcess, Template]:
        """Start the runtime as a template: it runs init once, then forks environments on request."""
        ...

    async def restore(self, template: Template, env: dict[str, str]) -> RuntimeProcess:
        """Fork this sandbox's runtime from ``template`` instead of starting one (``env``: what differs).
        ``SpawnError`` if the template is gone."""
        ...

    def kill(self, process: RuntimeProcess) -> None:
        """Kill the runtime at once (its exit future then resolves)."""
        ...

    def limit_cpu(self) -> None:
        """Apply the CPU share proportional to memory, once init has finished at full speed."""
        ...

    def max_memory_mb(self) -> int | None:
        """The peak memory of everything in the sandbox, when the backend can measure it."""
        ...

    def was_oom_killed(self) -> bool:
        """True once per out-of-memory kill of the runtime."""
        ...

    async def destroy(self) -> None: ...


class SandboxBackend(Protocol):
    """Makes sandboxes; one per server, chosen at start-up."""

    name: str  # what ``/health`` and the start-up line call it

    def exhausted(self) -> bool:
        """No room for another sandbox until one is destroyed (``create`` would raise ``SandboxFull``)."""
        ...

    async def create(self, spec: SandboxSpec, *, host_tmp: bool = True) -> Sandbox:
        """``host_tmp=False``: the runtime will mount its own ``/tmp`` (an environment forked from a template)."""
        ...

    async def prewarm(self, runtime: Runtime) -> None:
        """Get ready to start ``runtime`` fast (its zygote, spares)."""
        ...

    async def close(self) -> None: ...
