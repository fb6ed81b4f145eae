"""Deploying one folder as one function: create or update what differs, and say what changed.

Shared by ``kindling deploy`` (``deploy.py``), ``kindling dev`` and SAM templates (``sam.py``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from .common import ROLE, Clients, CliError, err, upload_progress
from .package import Package, detect_handler, package

DEFAULT_RUNTIME = "python3.12"
DEFAULT_MEMORY = 128
DEFAULT_TIMEOUT = 3


@dataclass(frozen=True)
class Settings:
    """What the user asked for; ``None`` means "as it is" on an update and the default on a create."""

    name: str | None = None
    runtime: str | None = None
    handler: str | None = None
    memory: int | None = None
    timeout: int | None = None
    env: dict[str, str] | None = None
    layers: list[str] | None = None  # layer version ARNs
    logging: dict[str, str] | None = None  # LoggingConfig
    snap_start: str | None = None  # SnapStart.ApplyOn: PublishedVersions or None
    vpc: dict[str, Any] | None = None  # VpcConfig: SubnetIds, SecurityGroupIds (recorded by the server)


@dataclass
class Deployment:
    name: str
    created: bool = False
    changes: list[str] = field(default_factory=list)
    package: Package | None = None

    def summary(self) -> str:
        if self.created:
            return f"created {self.name} ({', '.join(self.changes)})"
        if not self.changes:
            return f"{self.name} is up to date: nothing changed"
        return f"updated {self.name}: {', '.join(self.changes)}"


def function_name(directory: Path, name: str | None) -> str:
    chosen = name or re.sub(r"[^A-Za-z0-9_-]+", "-", directory.resolve().name).strip("-")[:64]
    if not chosen or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", chosen):
        raise CliError(f"{chosen!r} is not a valid function name", "pass --name with letters, digits, - and _ only")
    return chosen


def _size(data: bytes) -> str:
    size = len(data)
    return f"{size / 1024:.1f} KB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MB"


def _files(built: Package) -> str:
    return f"{built.files} file{'s' if built.files != 1 else ''}, {_size(built.zip_bytes)}"


def _current(clients: Clients, name: str) -> dict[str, Any] | None:
    try:
        return clients.lam.get_function_configuration(FunctionName=name)
    except clients.lam.exceptions.ResourceNotFoundException:
        return None


def deploy_directory(clients: Clients, directory: Path, settings: Settings) -> Deployment:
    """Create the function, or update exactly what differs from what is deployed."""
    lam = clients.lam
    name = function_name(directory, settings.name)
    current = _current(clients, name)
    runtime = settings.runtime or (current["Runtime"] if current else DEFAULT_RUNTIME)
    with err.status(f"packaging {directory} (pip runs once per requirements.txt)"):
        built = package(directory, runtime)
    deployment = Deployment(name, created=current is None, package=built)
    if current is None:
        handler = settings.handler or detect_handler(directory, runtime)
        memory = settings.memory or DEFAULT_MEMORY
        timeout = settings.timeout or DEFAULT_TIMEOUT
        with upload_progress(lam, "CreateFunction", f"uploading {_size(built.zip_bytes)}"):
            lam.create_function(
                FunctionName=name,
                Runtime=runtime,
                Role=ROLE,
                Handler=handler,
                MemorySize=memory,
                Timeout=timeout,
                Environment={"Variables": settings.env or {}},
                Layers=settings.layers or [],
                **({"LoggingConfig": settings.logging} if settings.logging else {}),
                **({"SnapStart": {"ApplyOn": settings.snap_start}} if settings.snap_start else {}),
                **({"VpcConfig": settings.vpc} if settings.vpc else {}),
                Code={"ZipFile": built.zip_bytes},
            )
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
        deployment.changes = [runtime, handler, f"{memory} MB", f"{timeout} s", _files(built)]
        deployment.changes += [f"layer {_layer_name(arn)}" for arn in settings.layers or []]
        deployment.changes += ["SnapStart"] if settings.snap_start == "PublishedVersions" else []
        return deployment
    changes = _configuration_changes(current, settings, runtime, directory)
    if changes:
        lam.update_function_configuration(FunctionName=name, **{change.member: change.value for change in changes})
        lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
        deployment.changes += [str(change) for change in changes]
    if built.sha256 != current["CodeSha256"]:
        update_code(clients, name, built)
        deployment.changes.append(f"code ({_files(built)})")
    return deployment


def update_code(clients: Clients, name: str, built: Package) -> None:
    lam = clients.lam
    with upload_progress(lam, "UpdateFunctionCode", f"uploading {_size(built.zip_bytes)}"):
        reply = lam.update_function_code(FunctionName=name, ZipFile=built.zip_bytes)
    if reply.get("LastUpdateStatus") not in (None, "Successful"):
        lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})


@dataclass(frozen=True)
class Change:
    member: str  # UpdateFunctionConfiguration's
    value: Any  # what it is sent
    label: str
    old: str
    new: str

    def __str__(self) -> str:
        return f"{self.label} {self.old} → {self.new}"


def _configuration_changes(current: dict[str, Any], settings: Settings, runtime: str, directory: Path) -> list[Change]:
    handler = settings.handler
    if handler is None:
        try:
            handler = detect_handler(directory, runtime)
        except CliError:
            handler = current["Handler"]  # ambiguous now, but it was deployed before: keep it
    changes = [
        Change("Runtime", runtime, "runtime", current["Runtime"], runtime),
        Change("Handler", handler, "handler", current["Handler"], handler),
    ]
    if settings.memory:
        memory = settings.memory
        changes.append(Change("MemorySize", memory, "memory", f"{current['MemorySize']} MB", f"{memory} MB"))
    if settings.timeout:
        timeout = settings.timeout
        changes.append(Change("Timeout", timeout, "timeout", f"{current['Timeout']} s", f"{timeout} s"))
    if settings.env is not None:
        variables = (current.get("Environment") or {}).get("Variables") or {}
        if variables != settings.env:
            shown = ", ".join(f"{k}={v}" for k, v in sorted(settings.env.items())) or "none"
            old = ", ".join(f"{k}={v}" for k, v in sorted(variables.items())) or "none"
            changes.append(Change("Environment", {"Variables": settings.env}, "environment", old, shown))
    if settings.layers is not None:
        layers = [layer["Arn"] for layer in current.get("Layers") or []]
        old, new = (", ".join(map(_layer_name, arns)) or "none" for arns in (layers, settings.layers))
        changes.append(Change("Layers", settings.layers, "layers", old, new))
    if settings.logging:
        log_config = current.get("LoggingConfig") or {}
        old, new = (
            ", ".join(f"{k} {config.get(k)}" for k in sorted(settings.logging))
            for config in (log_config, settings.logging)
        )
        changes.append(Change("LoggingConfig", settings.logging, "logging", old, new))
    if settings.snap_start:
        deployed_apply = (current.get("SnapStart") or {}).get("ApplyOn", "None")
        wanted = {"ApplyOn": settings.snap_start}
        changes.append(Change("SnapStart", wanted, "SnapStart", deployed_apply, settings.snap_start))
    if settings.vpc is not None:
        old, new = (
            ", ".join([*config.get("SubnetIds", []), *config.get("SecurityGroupIds", [])]) or "none"
            for config in (current.get("VpcConfig") or {}, settings.vpc)
        )
        changes.append(Change("VpcConfig", settings.vpc, "VpcConfig", old, new))
    return [change for change in changes if change.old != change.new]


def _layer_name(arn: str) -> str:
    """``name:version`` of a layer version ARN."""
    return ":".join(arn.split(":")[-2:])


def parse_env(pairs: tuple[str, ...]) -> dict[str, str] | None:
    if not pairs:
        return None
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--env {pair!r} is not KEY=VALUE", "write it as --env NAME=value")
        env[key] = value
    return env


def path_argument(function: Any) -> Any:
    """PATH, or ``-t/--template-file`` as ``sam deploy`` users type it; neither means the current folder."""
    function = click.option(
        "-t",
        "--template-file",
        "template_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="a SAM template (as for sam deploy); the same as giving it as PATH",
    )(function)
    return click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))(function)


def chosen_path(path: Path | None, template_file: Path | None) -> Path:
    if path is not None and template_file is not None:
        raise CliError("give PATH or --template-file, not both", "the template's folder is where CodeUri starts")
    return template_file or path or Path(".")


def settings_options(function: Any) -> Any:
    """The options ``deploy`` and ``dev`` share."""
    for option in reversed(
        [
            click.option("--name", help="function name (default: the directory's name)"),
            click.option("--runtime", help=f"e.g. python3.13 (new functions: {DEFAULT_RUNTIME})"),
            click.option("--handler", help="module.function (default: detected)"),
            click.option("--memory", type=click.IntRange(128, 10240), help="MB (new functions: 128)"),
            click.option("--timeout", type=click.IntRange(1, 900), help="seconds (new functions: 3)"),
            click.option("--env", "env", multiple=True, metavar="KEY=VALUE", help="environment variable (repeatable)"),
        ]
    ):
        function = option(function)
    return function


def settings_from(name: str | None, runtime: str | None, handler: str | None, memory: int | None,
                  timeout: int | None, env: tuple[str, ...]) -> Settings:  # fmt: skip
    return Settings(name, runtime, handler, memory, timeout, parse_env(env))
