"""Helpers shared by the tests of the HTTP-speaking runtimes: packaging, deploying, invoking."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from support import ROLE, make_zip

CLIENT_CONTEXT = base64.b64encode(json.dumps({"custom": {"k": "v"}}).encode()).decode()


def zip_tree(root: Path, extra: dict[str, str] | None = None, executable: tuple[str, ...] = ()) -> bytes:
    """A package of every file under ``root`` plus ``extra``; ``executable`` names get mode 0755."""
    files: dict[str, str | bytes] = {}
    modes: dict[str, int] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            name = path.relative_to(root).as_posix()
            files[name] = path.read_bytes()
            modes[name] = 0o755 if os.access(path, os.X_OK) else 0o644
    files.update(extra or {})
    modes.update({name: 0o755 for name in executable})
    return make_zip(files, modes)


def pip_target(target: Path, *packages: str, python_version: str = "3.12") -> Path:
    """Install wheels for another Python into ``target`` (pip's cache makes reruns fast)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--target", str(target),
         "--python-version", python_version, "--only-binary=:all:", "--implementation", "cp",
         "--platform", "manylinux2014_x86_64", *packages],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return target


def create(lam, name: str, runtime: str, code: bytes, handler: str = "app.handler", **settings: object) -> str:  # type: ignore[no-untyped-def]
    lam.create_function(
        FunctionName=name, Runtime=runtime, Role=ROLE, Handler=handler, Code={"ZipFile": code}, **settings
    )
    return name


def invoke(lam, name: str, event: object = None, **extra: object) -> tuple[object, str | None, str]:  # type: ignore[no-untyped-def]
    """(decoded payload, FunctionError, log tail) of one synchronous invocation."""
    reply = lam.invoke(FunctionName=name, Payload=json.dumps(event or {}), LogType="Tail", **extra)
    payload = reply["Payload"].read()
    log = base64.b64decode(reply.get("LogResult", "")).decode()
    return json.loads(payload) if payload else None, reply.get("FunctionError"), log
