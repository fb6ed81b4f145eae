"""How an image function's environment starts: its entrypoint and command exec'ed in the sandbox (from a
Python zygote, as custom runtimes are) and spoken to over the Runtime API, in the image's working directory,
with the image's environment variables under the function's and Lambda's own."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..errors import ServiceError
from ..models import FunctionVersion
from ..runtimes.registry import Runtime

LAUNCHER = "provided.al2023"  # its zygote starts images too: it only isolates, then execs
DEFAULT_ENTRYPOINT = "/lambda-entrypoint.sh"  # what AWS's base images name, when nothing else does
# what Lambda sets by default and an image's ENV may change; every other variable Lambda sets is its own
_DEFAULTS = ("LANG", "TZ", "PATH", "LD_LIBRARY_PATH", "PYTHONPATH", "LAMBDA_RUNTIME_DIR", "AWS_XRAY_CONTEXT_MISSING")


def image_runtime(version: FunctionVersion, runtimes: dict[str, Runtime]) -> tuple[Runtime, str]:
    """The runtime that execs the image's ``ENTRYPOINT`` + ``CMD`` (``ImageConfig`` overrides), and its cwd."""
    launcher = runtimes.get(LAUNCHER)
    if launcher is None:
        raise ServiceError("Container images need a Python on the server to launch them.")
    image = version.image
    override = image.get("ImageConfig") or {}
    entrypoint = override.get("EntryPoint") or image.get("EntryPoint") or []
    command = override["Command"] if "Command" in override else image.get("Cmd") or []
    argv = tuple(entrypoint) + tuple(command) or (DEFAULT_ENTRYPOINT,)
    cwd = override.get("WorkingDirectory") or image.get("WorkingDir") or "/"
    return dataclasses.replace(launcher, name="image", command=argv, runtime_dir=""), cwd


def image_environment(version: FunctionVersion, lambda_env: dict[str, str]) -> dict[str, str]:
    """Lambda's variables with the image's ``ENV`` where Lambda only has a default and the function sets none."""
    env = dict(lambda_env)
    for entry in version.image.get("Env") or []:
        name, _, value = entry.partition("=")
        if name not in version.environment and (name not in env or name in _DEFAULTS):
            env[name] = value
    env.pop("AWS_EXECUTION_ENV", None)  # set by AWS's base images themselves, not by Lambda
    override = version.image.get("ImageConfig") or {}
    command = override["Command"] if "Command" in override else version.image.get("Cmd") or []
    env["_HANDLER"] = command[0] if command else ""
    return env


def image_opt_dir(root: Path) -> Path | None:
    """The image's own ``/opt``, for the extensions it carries in ``/opt/extensions``: only when both are real
    directories of the image (a link would be followed on the host, where the extensions are listed)."""
    opt = root / "opt"
    extensions = opt / "extensions"
    if opt.is_symlink() or extensions.is_symlink() or not extensions.is_dir():
        return None
    return opt
