"""Finds the host interpreter behind each Lambda runtime name, once, at server start."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PYTHON_RUNTIMES = {"python3.11": "3.11", "python3.12": "3.12", "python3.13": "3.13"}
DEPRECATED = (
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "nodejs",
    "nodejs4.3",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "ruby2.5",
    "ruby2.7",
    "java8",
    "go1.x",
)
BOOTSTRAP = Path(__file__).with_name("python") / "bootstrap.py"


@dataclass(frozen=True)
class Runtime:
    name: str
    executable: str  # the real interpreter binary (never a shim)
    prefix: str  # its installation prefix, bound read-only at /var/lang in the sandbox
    version: str
    entry: Path

    @property
    def sandbox_executable(self) -> str:
        binary = os.path.basename(self.executable)
        return f"/var/lang/bin/{binary}" if self.prefix != "/usr" else self.executable


def _probe(candidate: str, version: str) -> Runtime | None:
    """Ask the interpreter where it really lives: PATH entries are often pyenv shims."""
    script = "import json,sys;print(json.dumps([sys.executable,sys.base_prefix,'%d.%d'%sys.version_info[:2]]))"
    try:
        out = subprocess.run([candidate, "-I", "-S", "-c", script], capture_output=True, text=True, timeout=20)
        executable, prefix, found = json.loads(out.stdout)
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    if found != version:
        return None
    real = os.path.realpath(executable)
    return Runtime(f"python{version}", real, os.path.realpath(prefix), version, BOOTSTRAP)


def _candidates(version: str) -> list[str]:
    names = [f"python{version}"]
    found = [p for p in (shutil.which(n) for n in names) if p]
    found += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python{version}")), reverse=True)
    found += [f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    return found


def discover(overrides: dict[str, str]) -> dict[str, Runtime]:
    runtimes: dict[str, Runtime] = {}
    for name, version in PYTHON_RUNTIMES.items():
        for candidate in [overrides[name]] if name in overrides else _candidates(version):
            runtime = _probe(candidate, version)
            if runtime:
                runtimes[name] = runtime
                break
    return runtimes
