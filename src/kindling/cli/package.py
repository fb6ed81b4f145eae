"""A directory into a deployment package: the handler guessed, dependencies built once, a stable zip.

The zip is deterministic (sorted names, fixed timestamps and modes), so unchanged code gives the
same CodeSha256 and a re-deploy can tell there is nothing to do. ``requirements.txt`` is installed
with pip into a cache folder keyed by the hash of its content and the runtime, so editing code never
re-runs pip.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import io
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .common import CliError

CONVENTIONAL_MODULES = ("lambda_function", "app", "handler")
HANDLER_FUNCTIONS = ("handler", "lambda_handler")
SKIPPED_DIRS = {".git", ".hg", ".svn", "__pycache__", ".venv", "venv", ".kindling", ".pytest_cache", ".mypy_cache"}
SKIPPED_SUFFIXES = (".pyc", ".pyo", ".swp", "~")
_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Package:
    zip_bytes: bytes
    sha256: str  # base64, as Lambda's CodeSha256
    files: int


def skipped(relative: Path) -> bool:
    """Editor droppings, caches and VCS folders: neither packaged nor worth a reload."""
    return any(part in SKIPPED_DIRS for part in relative.parts[:-1]) or relative.name.endswith(SKIPPED_SUFFIXES)


def _functions(path: Path) -> set[str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return set()
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def detect_handler(directory: Path, runtime: str) -> str:
    """``module.function``: the one top-level module defining ``handler``, else the one conventional module."""
    if not runtime.startswith("python"):
        raise CliError(f"kindling finds Python handlers only, not {runtime} ones", "pass --handler, e.g. index.handler")
    modules = sorted(path for path in directory.glob("*.py") if path.is_file())
    with_handler = [path for path in modules if "handler" in _functions(path)]
    if len(with_handler) == 1:
        return f"{with_handler[0].stem}.handler"
    conventional = [path for path in modules if path.stem in CONVENTIONAL_MODULES]
    if len(conventional) == 1:
        defined = _functions(conventional[0])
        function = next((name for name in HANDLER_FUNCTIONS if name in defined), None)
        if function:
            return f"{conventional[0].stem}.{function}"
    if not modules:
        raise CliError(f"no Python file in {directory}", "put your handler in app.py, e.g. def handler(event, context)")
    raise CliError(
        f"cannot tell which function in {directory} is the handler",
        "pass --handler module.function, e.g. --handler app.handler",
    )


def _files(root: Path) -> Iterator[tuple[str, Path]]:
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in sorted(names):
            path = Path(folder) / name
            relative = path.relative_to(root)
            if not skipped(relative) and path.is_file():
                yield relative.as_posix(), path


def build_zip(sources: list[Path]) -> Package:
    """Later sources win on a name clash: the function's own files over its dependencies."""
    chosen: dict[str, Path] = {}
    for source in sources:
        chosen.update(_files(source))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name in sorted(chosen):
            path = chosen[name]
            info = zipfile.ZipInfo(name, _EPOCH)
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.external_attr = (mode | 0o100000) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    data = buffer.getvalue()
    return Package(data, base64.b64encode(hashlib.sha256(data).digest()).decode(), len(chosen))


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kindling" / "deps"


def interpreter_for(runtime: str) -> str:
    """The runtime's own Python (found as the server finds it), so compiled wheels match it,
    when it has pip; else the one running the CLI."""
    from ..config import Config
    from ..runtimes.registry import discover

    found = discover(Config.runtime_overrides_from_env()).get(runtime)
    if found is not None:
        probe = subprocess.run([found.executable, "-m", "pip", "--version"], capture_output=True)
        if probe.returncode == 0:
            return found.executable
    return sys.executable


def dependencies(directory: Path, runtime: str) -> Path | None:
    """The folder holding ``requirements.txt``'s packages, built on the first use of this exact content."""
    requirements = directory / "requirements.txt"
    if not requirements.is_file():
        return None
    content = requirements.read_bytes()
    if not any(line.strip() and not line.strip().startswith(b"#") for line in content.splitlines()):
        return None
    key = hashlib.sha256(runtime.encode() + b"\0" + content).hexdigest()[:24]
    target = cache_root() / key
    if target.is_dir():
        return target
    building = target.with_name(f"{key}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    command = [
        interpreter_for(runtime),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "--target",
        str(building),
        "-r",
        str(requirements),
    ]
    result = subprocess.run(command, cwd=directory, capture_output=True, text=True)
    if result.returncode != 0:
        shutil.rmtree(building, ignore_errors=True)
        last = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise CliError(f"installing requirements.txt failed: {last}", "fix requirements.txt and deploy again")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        building.rename(target)
    except OSError:  # another deploy finished the same build first
        shutil.rmtree(building, ignore_errors=True)
    return target


def package(directory: Path, runtime: str) -> Package:
    deps = dependencies(directory, runtime)
    return build_zip([deps, directory] if deps else [directory])
