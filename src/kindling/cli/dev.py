"""``kindling dev PATH``: deploy, then push every saved change to ``$LATEST`` as it happens.

PATH is a function's folder, or a SAM template (or a folder holding one), whose every function's
CodeUri is watched. The server is never restarted: UpdateFunctionCode retires the old environments,
so the next invocation cold-starts (in milliseconds) on the new code. Nothing is uploaded when a save
leaves a package unchanged (an editor touching a file, a cache written beside the code).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import watchfiles

from .common import Clients, CliError, client_command, err, explain
from .functions_deploy import (
    Deployment,
    chosen_path,
    deploy_directory,
    path_argument,
    settings_from,
    settings_options,
    update_code,
)
from .package import package, skipped

DEBOUNCE_MS = 200  # the longest a burst of writes (an editor's atomic save) is gathered
STEP_MS = 10  # quiet time that ends a burst
WAKE_MS = 100  # the watcher wakes this often even when nothing changed


@dataclass
class Target:
    """One watched function: its code folder and the package last sent."""

    root: Path
    name: str
    runtime: str
    sha256: str

    def owns(self, path: Path) -> bool:
        return path.is_relative_to(self.root) and not skipped(path.relative_to(self.root))


def _target(clients: Clients, directory: Path, deployment: Deployment) -> Target:
    assert deployment.package is not None
    runtime = clients.lam.get_function_configuration(FunctionName=deployment.name)["Runtime"]
    return Target(directory.resolve(), deployment.name, runtime, deployment.package.sha256)


def deploy_all(clients: Clients, path: Path, options: dict[str, Any]) -> list[Target]:
    from .sam import deploy_template, template_in

    template = template_in(path)
    if template is None:
        deployment = deploy_directory(clients, path, settings_from(**options))
        err.print(deployment.summary(), markup=False)
        return [_target(clients, path, deployment)]
    if any(options.values()):
        raise CliError("the function options do not apply to a template", "set them in the template")
    return [_target(clients, code, deployment) for code, deployment in deploy_template(clients, template)]


def reload(clients: Clients, target: Target, changed: list[Path]) -> None:
    """Sends ``target``'s package when it differs from the last one sent, and says so."""
    started = time.perf_counter()
    built = package(target.root, target.runtime)
    if built.sha256 == target.sha256:
        return
    update_code(clients, target.name, built)
    target.sha256 = built.sha256
    elapsed = (time.perf_counter() - started) * 1000
    names = ", ".join(sorted(path.relative_to(target.root).as_posix() for path in changed))
    err.print(f"updated {target.name} in {elapsed:.0f} ms ({names})", markup=False)
    for path in changed:
        warn_if_broken(path)


def warn_if_broken(path: Path) -> None:
    """Deployed anyway (the invocation will say Runtime.UserCodeSyntaxError), but said here first."""
    if path.suffix != ".py" or not path.is_file():
        return
    try:
        compile(path.read_bytes(), str(path), "exec")
    except SyntaxError as error:
        err.print(f"warning: {path.name}:{error.lineno}: {error.msg}", style="yellow", markup=False)


@click.command()
@path_argument
@settings_options
@client_command
def dev(clients: Clients, path: Path | None, template_file: Path | None, **options: Any) -> None:
    """Deploy PATH (a function's folder or a SAM template, also given as -t/--template-file; the current
    folder without either), then apply every saved change until Ctrl-C."""
    path = chosen_path(path, template_file)
    targets = deploy_all(clients, path, options)
    roots = sorted({target.root for target in targets})

    def relevant(_change: watchfiles.Change, changed: str) -> bool:
        return any(target.owns(Path(changed)) for target in targets)

    # yield_on_timeout: the first (empty) batch says the watch is in place, so "watching" is true when printed
    batches = watchfiles.watch(
        *roots, watch_filter=relevant, debounce=DEBOUNCE_MS, step=STEP_MS, rust_timeout=WAKE_MS, yield_on_timeout=True
    )
    watching = False
    for changes in batches:
        if not watching:
            watching = True
            names = ", ".join(target.name for target in targets)
            err.print(f"watching {path}: save a file to update {names}, Ctrl-C to stop", style="dim")
        paths = sorted({Path(changed) for _, changed in changes})
        for target in targets:
            mine = [changed for changed in paths if target.owns(changed)]
            if not mine:
                continue
            try:
                reload(clients, target, mine)
            except CliError as error:
                error.show()
            except Exception as error:
                readable = explain(error, clients.endpoint)
                if readable is None:
                    raise
                readable.show()
